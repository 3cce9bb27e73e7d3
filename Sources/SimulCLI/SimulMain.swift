import ArgumentParser
import Simul
import SimulBench
import SimulDemos

/// The `simul` entry point. Its first act decides whether this process is a process-pool worker.
@main
enum SimulMain {
    static let registry: TaskRegistry = {
        var registry = TaskRegistry()
        BenchTasks.register(in: &registry)
        DemoTasks.register(in: &registry)
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
            for computing. `simul bench` measures the primitives beside Python's.
            """,
        subcommands: [DemoCommand.self, BenchCommand.self]
    )
}
