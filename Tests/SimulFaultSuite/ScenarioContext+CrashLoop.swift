import Foundation
import SimulProcessSupport

extension ScenarioContext {
    /// 16. A task that kills its worker, each time: two `threads` workers (where a task's `exit` ends the whole
    /// process), each started again by the suite whenever it dies, as a supervisor would. The task's lease lapses
    /// each time; after 5 lapses a worker dead-letters it (`redelivered 5 times`, FAILURE `WorkerLostError`) instead
    /// of running it, and the cluster keeps serving: every good task, sent before and after it, succeeds.
    func crashLoop() throws {
        // One slot and no prefetch beyond it: a worker holds one message at a time, so the crash has no companion
        // whose lease lapses with it (a message it held too would count the same lapses).
        let options = ["--pool", "threads", "-c", "1", "--prefetch-multiplier", "1", "--lease", "1"]
        let limit = 5
        let output = path("crash-id.out")
        try simul(["send", "simul.crash", "--args", #"["exit"]"#], to: output)
        let id = Self.lines(of: output).first ?? ""
        let bad = [
            BadMessage(
                kind: "crash-loop", id: id, deadLetter: "redelivered \(limit) times",
                failure: ("WorkerLostError", "redelivered \(limit) times"))
        ]
        try Data((id + "\n").utf8).write(to: URL(fileURLWithPath: path("bad-ids")))
        try sendRecords(#"["\#(records)"]"#, count: 200)
        var workers = try (0..<2).map { try startWorker(log: "workers.log", options + ["-n", "loop\($0)@faults"]) }
        var deaths = 0
        try Waiting.until(180, "the crashing task dead-lettered") {
            for index in workers.indices where !workers[index].isRunning {
                deaths += 1
                workers[index] = try startWorker(
                    log: "workers.log", options + ["-n", "loop\(workers.count + deaths)@faults"])
            }
            return try settled(bad)
        }
        try sendRecords(#"["\#(records)"]"#, count: 200)
        try waitDone(120)
        let alive = Check("no worker died after the dead letter", workers.allSatisfy(\.isRunning))
        for worker in workers { try stopWorker(worker) }
        try collect()
        // A worker that finished a task and fetched the crash before that task's acknowledgement was written can die
        // with it unacknowledged: at most one duplicate per death.
        try tally(
            Tally(
                bad: bad, maxDuplicates: deaths,
                checks: [alive, Check("\(deaths) deaths, at most \(limit)", deaths <= limit)],
                notes: ["\(deaths) worker deaths before the dead letter; 400 good tasks"], showFailures: true))
    }
}
