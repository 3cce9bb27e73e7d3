import ArgumentParser
import Foundation
import Simul
import SimulQueue

struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send a task to the queue and print its id (and, with --wait, its result).",
        discussion: """
            Any task name may be sent: a worker that does not know it stores a NotRegistered failure.
            Examples:
              simul send simul.add --args '[2, 3]' --wait
              simul send simul.add --kwargs '{"x": 2, "y": 3}' --countdown 10
              simul send simul.sleep --args '[5]' -Q slow --priority 0
            """
    )

    @OptionGroup var queue: QueueOptions

    @OptionGroup var route: RouteOptions

    @Argument(help: "The task name, such as simul.add.")
    var task: String

    @Option(help: "Positional arguments as a JSON array.")
    var args = "[]"

    @Option(help: "Keyword arguments as a JSON object.")
    var kwargs = "{}"

    @Option(name: [.customShort("Q"), .customLong("queue")], help: "The queue (default: celery).")
    var queueName: String?

    @Option(help: "Run no sooner than this many seconds from now.", transform: { try parseDouble($0, "--countdown") })
    var countdown: Double?

    @Option(help: "Run no sooner than this time (ISO-8601, such as 2026-11-22T10:00:00Z).")
    var eta: String?

    @Option(help: "Revoke the task if it has not started within this many seconds.", transform: { try parseDouble($0, "--expires") })
    var expires: Double?

    @Option(help: "0 to 9; lower runs first.", transform: { try parseInt($0, "--priority") })
    var priority: Int?

    @Flag(help: "Wait for the result and print it.")
    var wait = false

    @Option(help: "With --wait, give up after this many seconds.", transform: { try parseDouble($0, "--timeout") })
    var timeout: Double?

    func run() async throws {
        let args = try JSONArgument.parse(self.args, as: [JSONValue].self, option: "--args")
        let kwargs = try JSONArgument.parse(self.kwargs, as: [String: JSONValue].self, option: "--kwargs")
        var options = SendOptions(queue: queueName)
        options.countdown = try checkedSeconds(countdown, option: "--countdown")
        if let eta {
            guard let date = ISODate.parse(eta) else {
                throw CLIError("--eta must be an ISO-8601 time such as 2026-11-22T10:00:00Z, got '\(eta)'")
            }
            options.eta = date
        }
        if let expires = try checkedSeconds(expires, option: "--expires") {
            options.expires = Date().addingTimeInterval(expires)
        }
        if let priority {
            guard (0...9).contains(priority) else { throw CLIError("--priority must be 0 to 9, got \(priority)") }
            options.priority = priority
        }
        let timeout = try checkedSeconds(timeout, option: "--timeout")
        let routes = try route.routes()
        let (broker, backend) = try queue.open()
        let client = QueueClient(broker: broker, backend: backend, routes: routes)
        let result = try await client.send(task, args: args, kwargs: kwargs, options: options)
        print(result.id)
        guard wait else { return }
        print(try await result.get(timeout: timeout.map { .seconds($0) }).jsonText)
    }
}

func parseDouble(_ text: String, _ option: String) throws -> Double {
    guard let value = Double(text) else { throw CLIError("\(option) must be a number, got '\(text)'") }
    return value
}

func parseInt(_ text: String, _ option: String) throws -> Int {
    guard let value = Int(text) else { throw CLIError("\(option) must be a whole number, got '\(text)'") }
    return value
}
