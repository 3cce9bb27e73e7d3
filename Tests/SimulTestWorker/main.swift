import Foundation
import Simul
import SimulTestSupport

TestTasks.registry.runWorkerIfRequested()

// `SimulTestWorker orphan-parent`: starts a pool with two busy workers, says "ready", then waits to be killed, so a
// test can check that SIGKILL on the parent leaves no worker behind.
if CommandLine.arguments.dropFirst().first == "orphan-parent" {
    var configuration = TestTasks.configuration()
    configuration.workerExecutable = CommandLine.arguments[0]
    let pool = ProcessPool(configuration)
    let hang = pool.submit(Hang.self, 0)
    _ = try pool.submit(WorkerPID.self, 0).result(timeout: .seconds(30))
    FileHandle.standardOutput.write(Data("ready \(hang.state)\n".utf8))
    FileHandle.standardOutput.synchronizeFile()
    while true { pause() }
}
