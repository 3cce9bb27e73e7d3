import Simul
import SimulDemos

// The process-pool worker for the demo tests: the demos' tasks, without the whole `simul` command line.
let registry: TaskRegistry = {
    var registry = TaskRegistry()
    DemoTasks.register(in: &registry)
    return registry
}()
registry.runWorkerIfRequested()
print("SimulDemosTestWorker runs only as a process-pool worker for SimulDemosTests.")
