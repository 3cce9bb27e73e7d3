import ArgumentParser
import Simul
import SimulBench
import SimulDemos
import SimulQueue
import SimulTasks

/// The `simul` entry point. Its first act decides whether this process is a process-pool worker.
@main
enum SimulMain {
    /// The queue tasks this binary runs: the built-in `simul.*` tasks.
    static let catalog = BuiltinTasks.catalog

    static let registry: TaskRegistry = {
        var registry = TaskRegistry()
        BenchTasks.register(in: &registry)
        DemoTasks.register(in: &registry)
        QueueProcessTask.install(catalog, into: &registry)
        return registry
    }()

    static func main() async {
        registry.runWorkerIfRequested()
        await SimulCommand.main()
    }
}

struct SimulCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simul",
        abstract: "Run work concurrently and in parallel: threads, processes, async and task queues.",
        discussion: """
            Start with `simul demo`: it shows, on this machine, what each concurrency model does for waiting and \
            for computing. `simul bench` measures the primitives beside Python's. `simul worker` and `simul send` \
            run a Celery-compatible task queue on an SQLite file (no server to start).
            """,
        version: SimulCommand.version,
        subcommands: [
            DemoCommand.self, BenchCommand.self, WorkerCommand.self, SendCommand.self, ChainCommand.self,
            GroupCommand.self,
            ResultCommand.self,
            InspectCommand.self, ControlCommand.self, RevokeCommand.self, PurgeCommand.self, BeatCommand.self,
            DeadLettersCommand.self, DashboardCommand.self,
        ]
    )

    /// The release this binary is, as `simul --version` prints it.
    static let version = "0.1.0"
}
