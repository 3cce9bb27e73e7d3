import Foundation
import SimulProcessSupport

extension ScenarioContext {
    /// 7. Soak (`--full`): 1,000,000 tasks (`FAULTS_SOAK_TASKS`) from one client while one worker runs them,
    /// results expiring after 60 s; memory and throughput sampled every 5 s.
    func soak() throws {
        let count = ProcessInfo.processInfo.environment["FAULTS_SOAK_TASKS"].flatMap { Int($0) } ?? 1_000_000
        let worker = try startWorker(
            log: "worker.log", ["-c", "4", "--lease", "30", "--result-expires", "60", "-n", "soak@faults"])
        let client = try ChildProcess.start(
            [binary, "send", "simul.record", "--args", #"["\#(records)"]"#, "--count", "\(count)", "--broker", url],
            output: .file(ids))
        // Sample every 5 s until every task has run; give up if the worker dies, the client stops short, or nothing
        // runs for two minutes.
        var samples: [SoakSample] = []
        var lastDone = -1
        var lastProgress = Stopwatch()
        while case let done = Self.lines(records), done < count {
            let sample = SoakSample(
                seconds: stopwatch.seconds, done: Double(done), workerKiB: SoakSample.residentKiB(of: worker),
                clientKiB: SoakSample.residentKiB(of: client))
            samples.append(sample)
            try Data(samples.map { $0.line + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: path("samples")))
            if done > lastDone {
                lastDone = done
                lastProgress = Stopwatch()
            }
            if !worker.isRunning {
                printError("the worker died")
                break
            }
            if !client.isRunning && Self.lines(ids) < count {
                printError("the client stopped after sending \(Self.lines(ids)) of \(count)")
                break
            }
            if lastProgress.seconds > 120 {
                printError("no task ran for 120 s")
                break
            }
            try Waiting.sleep(5)
        }
        let clientCode = try exitCode(of: client, limit: 600)
        guard clientCode == 0 else { throw DriverError("the soak's client exited with code \(clientCode)") }
        let sent = Self.lines(ids)
        let executions = Self.lines(records)
        let finished = Self.distinct(records)
        var checks = SoakSample.checks(samples, total: count)
        try stopWorker(worker, limit: 60)
        // Results expire during the soak, so the task's own records count what completed; the SUCCESS results are
        // checked for the last 1,000 tasks, sent less than a minute before the end.
        let lastIDs = Self.lines(of: ids).suffix(1000).map { $0 + "\n" }.joined()
        try Data(lastIDs.utf8).write(to: URL(fileURLWithPath: path("last-ids")))
        checks.append(try Check("the last 1000 tasks have SUCCESS stored") { try allSucceeded(path("last-ids")) })
        checks.append(try Check("the queue is empty") { try waiting() == 0 })
        try tally(Tally(checks: checks, notes: ["\(executions) executions"], sent: sent, completed: finished))
    }
}
