import ArgumentParser
import Foundation
import Simul
import SimulQueue

struct ResultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "result",
        abstract: "Print a task's state and result.",
        discussion: """
            Prints one line: the state, then the result (JSON) or the error. A failed task prints its traceback \
            with --traceback.
            Examples:
              simul result 5d6f0c1e-8a7b-4c5d-9e0f-1a2b3c4d5e6f
              simul result 5d6f0c1e-8a7b-4c5d-9e0f-1a2b3c4d5e6f --wait --timeout 30
            """
    )

    @OptionGroup var queue: QueueOptions

    @Argument(help: "The task id printed by simul send.")
    var id: String

    @Flag(help: "Wait until the task is done.")
    var wait = false

    @Option(help: "With --wait, give up after this many seconds.", transform: { try parseDouble($0, "--timeout") })
    var timeout: Double?

    @Flag(help: "Print the whole stored result as JSON.")
    var json = false

    @Flag(help: "Also print a failure's traceback.")
    var traceback = false

    func run() async throws {
        guard TaskID.isValid(id) else { throw CLIError("'\(id)' is not a task id (expected a UUID)") }
        let timeout = try checkedSeconds(timeout, option: "--timeout")
        let (_, backend) = try queue.open()
        let stored: TaskResult?
        if wait {
            stored = try await backend.waitForResult(id, timeout: timeout.map { .seconds($0) })
        } else {
            stored = try await backend.results(for: [id])[id]
        }
        guard let stored else {
            print(json ? #"{"status": "PENDING", "task_id": "\#(id)"}"# : "PENDING")
            if wait { throw QueueError.timeout("task \(id) is still PENDING") }
            return
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(stored), as: UTF8.self))
        } else if let error = stored.error {
            print("\(stored.status.rawValue) \(error)")
            if traceback, let text = stored.traceback { print(text, terminator: text.hasSuffix("\n") ? "" : "\n") }
        } else {
            print("\(stored.status.rawValue) \(stored.result.jsonText)")
        }
        if wait && !stored.status.isReady { throw QueueError.timeout("task \(id) is still \(stored.status.rawValue)") }
    }
}
