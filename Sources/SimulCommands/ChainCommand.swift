import ArgumentParser
import Foundation
import SimulBrokers
import SimulQueue

struct ChainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chain",
        abstract: "Send a chain of tasks: each step's result becomes the next step's first argument.",
        discussion: """
            Each step is TASK or TASK:ARGS, ARGS a JSON array of the step's own arguments.
            Examples:
              simul chain 'simul.add:[1, 2]' 'simul.mul:[10]' --wait          # (1 + 2) * 10
              simul chain 'pytasks.add:[1, 2]' 'simul.mul:[10]' --route 'pytasks.*=celery' --route 'simul.*=simul'
            """
    )

    @OptionGroup var queue: QueueOptions

    @OptionGroup var route: RouteOptions

    @Argument(help: "The steps, in order, as TASK or TASK:ARGS.")
    var steps: [String]

    @OptionGroup var waiting: WaitOptions

    func run() async throws {
        guard !steps.isEmpty else { throw CLIError("a chain needs at least one step, such as 'simul.add:[1, 2]'") }
        let signatures = try steps.map(Self.signature)
        let timeout = try waiting.checkedTimeout()
        let routes = try route.routes()
        let connection = try queue.open()
        let (broker, backend) = (connection.broker, connection.backend)
        let client = QueueClient(broker: broker, backend: backend, routes: routes)
        try await waiting.report(client.chain(signatures), timeout: timeout)
    }

    /// A step: `TASK` or `TASK:ARGS`.
    static func signature(_ step: String) throws -> Signature {
        guard let colon = step.firstIndex(of: ":") else {
            guard !step.isEmpty else { throw CLIError("a chain step needs a task name") }
            return Signature(step)
        }
        let name = String(step[..<colon])
        guard !name.isEmpty else { throw CLIError("a chain step needs a task name, got '\(step)'") }
        let args = try JSONArgument.array(String(step[step.index(after: colon)...]), option: "the step '\(name)'")
        return Signature(name, args: args)
    }
}
