import ArgumentParser
import Foundation
import SimulBrokers
import SimulJSON
import SimulQueue

struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group",
        abstract: "Send a group of tasks, run in parallel, or read a saved group's results.",
        discussion: """
            Each member is TASK or TASK:ARGS, ARGS a JSON array of its arguments. Prints the group id, then with \
            --wait the list of results. --save stores the group as Celery's GroupResult.save() does, so Python's \
            GroupResult.restore(id) reads it; --restore ID reads a group saved by either language instead.
            Examples:
              simul group 'simul.add:[1, 1]' 'simul.add:[2, 2]' --save --wait      # [2, 4]
              simul group --restore 5d6f0c1e-8a7b-4c5d-9e0f-1a2b3c4d5e6f --wait
            """
    )

    @OptionGroup var queue: QueueOptions

    @OptionGroup var route: RouteOptions

    @Argument(help: "The members, as TASK or TASK:ARGS.")
    var members: [String] = []

    @Flag(help: "Save the group in the result backend, for GroupResult.restore.")
    var save = false

    @Option(help: ArgumentHelp("Read the group saved under this id instead of sending one.", valueName: "id"))
    var restore: String?

    @OptionGroup var waiting: WaitOptions

    func run() async throws {
        let timeout = try waiting.checkedTimeout()
        let group: GroupResult
        if let restore {
            guard members.isEmpty, !save else { throw CLIError("--restore takes no members and no --save") }
            guard TaskID.isValid(restore) else { throw CLIError("'\(restore)' is not a group id (expected a UUID)") }
            let backend = try queue.open().backend
            guard let saved = try await GroupResult.restore(restore, backend: backend) else {
                throw CLIError("no group is saved as \(restore)")
            }
            group = saved
        } else {
            guard !members.isEmpty else {
                throw CLIError("a group needs at least one member, such as 'simul.add:[1, 2]'")
            }
            let signatures = try members.map(ChainCommand.signature)
            let connection = try queue.open()
            let client = QueueClient(broker: connection.broker, backend: connection.backend, routes: try route.routes())
            group = try await client.group(signatures)
            if save { try await group.save() }
        }
        print(group.id)
        fflush(nil)
        guard waiting.wait else { return }
        print(JSONValue.array(try await group.join(timeout: timeout.map { .seconds($0) })).jsonText)
    }
}
