import ArgumentParser
import Foundation
import Simul
import SimulBrokers
import SimulJSON
import SimulQueue

struct ResultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "result",
        abstract: "Print tasks' states and results.",
        discussion: """
            Prints one line per task: the state, then the result (JSON) or the error; with several ids, each line \
            starts with the id. A failed task prints its traceback with --traceback.
            Examples:
              simul result 5d6f0c1e-8a7b-4c5d-9e0f-1a2b3c4d5e6f
              simul result 5d6f0c1e-8a7b-4c5d-9e0f-1a2b3c4d5e6f --wait --timeout 30
              simul result --ids-from ids.txt --json
            """
    )

    @OptionGroup var queue: QueueOptions

    @Argument(help: "Task ids printed by simul send.")
    var ids: [String] = []

    @Option(help: ArgumentHelp("Also read task ids from this file, one per line.", valueName: "file"))
    var idsFrom: String?

    @Flag(help: "Wait until each task is done.")
    var wait = false

    @Option(
        parsing: .unconditional, help: "With --wait, give up after this many seconds.",
        transform: { try parseDouble($0, "--timeout") })
    var timeout: Double?

    @Flag(help: "Print each whole stored result as JSON, one per line.")
    var json = false

    @Flag(help: "Also print a failure's traceback.")
    var traceback = false

    func run() async throws {
        var ids = self.ids
        if let idsFrom {
            guard let data = FileManager.default.contents(atPath: idsFrom) else {
                throw CLIError("cannot read the id file '\(idsFrom)'")
            }
            ids += String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        }
        guard !ids.isEmpty else { throw CLIError("give a task id (printed by simul send)") }
        for id in ids where !TaskID.isValid(id) { throw CLIError("'\(id)' is not a task id (expected a UUID)") }
        let timeout = try checkedSeconds(timeout, option: "--timeout")
        let deadline = timeout.map { ContinuousClock.now + .seconds($0) }
        let connection = try queue.open()
        let backend = connection.backend
        let stored: [String: TaskResult]
        if wait {
            var waited: [String: TaskResult] = [:]
            for id in ids {
                let left = deadline.map { max(.zero, $0 - .now) }
                waited[id] = try await backend.waitForResult(id, timeout: left)
            }
            stored = waited
        } else {
            stored = try await backend.results(for: ids)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let prefix = { (id: String) in ids.count > 1 && !json ? id + " " : "" }
        var unfinished: [String] = []
        for id in ids {
            guard let result = stored[id] else {
                print(json ? #"{"status": "PENDING", "task_id": "\#(id)"}"# : prefix(id) + "PENDING")
                unfinished.append("\(id) is still PENDING")
                continue
            }
            if json {
                print(String(decoding: try encoder.encode(result), as: UTF8.self))
            } else if let error = result.error {
                print(prefix(id) + "\(result.status.rawValue) \(error)")
                if traceback, let text = result.traceback { print(text, terminator: text.hasSuffix("\n") ? "" : "\n") }
            } else {
                print(prefix(id) + "\(result.status.rawValue) \(result.result.jsonText)")
            }
            if !result.status.isReady { unfinished.append("\(id) is still \(result.status.rawValue)") }
        }
        if wait, let first = unfinished.first {
            let more = unfinished.count > 1 ? " (and \(unfinished.count - 1) more)" : ""
            throw QueueError.timeout("task \(first)\(more)")
        }
    }
}
