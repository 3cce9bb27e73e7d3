public import ArgumentParser
public import Simul
public import SimulQueue
import Synchronization

/// The `simul` queue commands, for an executable of your own whose worker runs your tasks: the same `worker`,
/// `beat`, `send`, `chain`, `group`, `result`, `inspect`, `control`, `revoke`, `purge`, `dead-letters` and
/// `dashboard` that `simul` has, Celery's `celery -A proj worker` in Swift.
///
/// ```swift
/// import SimulCommands
/// import SimulQueue
///
/// struct Double: BlockingQueueTask {
///     static let name = "shop.double"
///     struct Arguments: Codable, Sendable { var n: Int }
///     func run(_ arguments: Arguments) -> Int { arguments.n * 2 }
/// }
///
/// @main enum Shop {
///     static func main() async {
///         var tasks = TaskCatalog()
///         tasks.register(Double())
///         await QueueCommands.main(name: "shop", tasks: tasks)
///     }
/// }
/// ```
///
/// Then `shop worker` runs `shop.double` from the default SQLite queue, `shop send shop.double --args '[21]' --wait`
/// prints `42`, and every subcommand takes the same options as `simul`'s (`shop worker --help`). The `simul`
/// executable is this, with the built-in `simul.*` tasks and its demo and bench commands.
public enum QueueCommands {
    /// The queue subcommands, in the order `--help` lists them.
    public static let subcommands: [any ParsableCommand.Type] = [
        WorkerCommand.self, SendCommand.self, ChainCommand.self, GroupCommand.self, ResultCommand.self,
        InspectCommand.self, ControlCommand.self, RevokeCommand.self, PurgeCommand.self, BeatCommand.self,
        DeadLettersCommand.self, DashboardCommand.self,
    ]

    /// Runs the command line as the executable `name`, whose workers run `tasks`, and exits.
    ///
    /// Call it first in `main`: when the processes pool (`worker --pool processes`) starts this executable as one
    /// of its child processes, it serves tasks to the pool and never returns.
    /// - Parameters:
    ///   - name: the executable's name, as `--help` shows it.
    ///   - abstract: one line for `--help`.
    ///   - version: what `--version` prints; without one there is no `--version`.
    ///   - tasks: the tasks `worker` runs and `inspect registered` lists.
    ///   - processTasks: process-pool tasks of your own, beside the catalog's, for a `ProcessPool` you use directly.
    ///   - commands: subcommands of your own, listed before the queue's.
    ///   - arguments: the arguments to parse; `nil` reads the process's own.
    public static func main(
        name: String, abstract: String = "Runs tasks from a Celery-compatible queue, and sends them.",
        discussion: String = "", version: String = "", tasks: TaskCatalog, processTasks: TaskRegistry = TaskRegistry(),
        commands: [any ParsableCommand.Type] = [], arguments: [String]? = nil
    ) async {
        var registry = processTasks
        QueueProcessTask.install(tasks, into: &registry)
        registry.runWorkerIfRequested()
        let configuration = CommandConfiguration(
            commandName: name, abstract: abstract, discussion: discussion, version: version,
            subcommands: commands + subcommands)
        current.withLock { $0 = Setup(configuration: configuration, tasks: tasks) }
        await RootCommand.main(arguments)
    }

    /// What ``main(name:abstract:discussion:version:tasks:processTasks:commands:arguments:)`` was given.
    struct Setup: Sendable {
        var configuration = CommandConfiguration()
        var tasks = TaskCatalog()
    }

    static let current = Mutex(Setup())

    /// The tasks this executable's workers run.
    static var tasks: TaskCatalog { current.withLock { $0.tasks } }
}

/// The executable's root command, configured by ``QueueCommands/main(name:abstract:discussion:version:tasks:processTasks:commands:arguments:)``.
struct RootCommand: AsyncParsableCommand {
    static var configuration: CommandConfiguration { QueueCommands.current.withLock { $0.configuration } }
}
