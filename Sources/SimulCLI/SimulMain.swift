import Simul
import SimulBench
import SimulCommands
import SimulDemos
import SimulTasks

/// The `simul` executable: the queue commands of ``QueueCommands`` with the built-in `simul.*` tasks, and the demo
/// and bench commands.
@main
enum SimulMain {
    /// The release this binary is, as `simul --version` prints it.
    static let version = "0.1.0"

    static func main() async {
        var processTasks = TaskRegistry()
        BenchTasks.register(in: &processTasks)
        DemoTasks.register(in: &processTasks)
        await QueueCommands.main(
            name: "simul",
            abstract: "Run work concurrently and in parallel: threads, processes, async and task queues.",
            discussion: """
                Start with `simul demo`: it shows, on this machine, what each concurrency model does for waiting and \
                for computing. `simul bench` measures the primitives beside Python's. `simul worker` and `simul send` \
                run a Celery-compatible task queue on an SQLite file (no server to start).
                """,
            version: version, tasks: BuiltinTasks.catalog, processTasks: processTasks,
            commands: [DemoCommand.self, BenchCommand.self])
    }
}
