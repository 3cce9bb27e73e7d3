import Foundation
import SimulProcessSupport

extension ScenarioContext {
    /// 4. 1,000 good tasks interleaved with 100 bad messages of ten kinds, to one worker that must never restart.
    func poison() throws {
        let rounds = 10
        let written = try BadMessages.write(rounds: rounds, to: path("bad"))
        let bad = written.map(\.message)
        try writeBadIDs(bad)
        let worker = try startWorker(log: "worker.log", ["-c", "4", "--lease", "10", "-n", "poison@faults"])
        let perRound = BadMessages.kinds.count
        for round in 0..<rounds {
            try sendRecords(#"["\#(records)"]"#, count: 100)
            try sendRaw(written[round * perRound..<(round + 1) * perRound].map(\.file))
        }
        try waitDone(120)
        try Waiting.tolerating {
            try Waiting.until(120, "every bad message failed or dead-lettered") { try settled(bad) }
        }
        let alive = Check("worker \(worker.pid) never restarted", worker.isRunning)
        try stopWorker(worker)
        try collect()
        try tally(Tally(bad: bad, maxDuplicates: 0, checks: [alive]))
    }

    /// 5. Tasks that crash their process in the processes pool, each followed by good tasks.
    func crash() throws {
        let worker = try startWorker(
            log: "worker.log", ["--pool", "processes", "-c", "2", "--lease", "30", "-n", "crash@faults"])
        let expected: [(kind: String, type: String, text: String)] = [
            ("trap", "WorkerLostError", "was killed by signal"),
            ("segfault", "WorkerLostError", "(SIGSEGV, a segmentation fault) while running 'simul.crash'"),
            ("exit", "WorkerLostError", "exited with code 3 while running 'simul.crash'"),
            ("alloc", "WorkerLostError", "was killed by signal"),
            ("loop", "TimeLimitExceeded", ""),
        ]
        var bad: [BadMessage] = []
        for crash in expected {
            let output = path("crash-id.out")
            try simul(["send", "simul.crash", "--args", #"["\#(crash.kind)"]"#, "--time-limit", "2"], to: output)
            let id = Self.lines(of: output).first ?? ""
            bad.append(BadMessage(kind: crash.kind, id: id, failure: (crash.type, crash.text)))
            try writeBadIDs(bad)
            try sendRecords(#"["\#(records)"]"#, count: 10)
        }
        try waitDone(120)
        try Waiting.tolerating {
            try Waiting.until(60, "every crash stored as a failure") { try settled(bad) }
        }
        let alive = Check("worker \(worker.pid) kept serving", worker.isRunning)
        try stopWorker(worker)
        try collect()
        try tally(Tally(bad: bad, maxDuplicates: 0, checks: [alive], showFailures: true))
    }

    /// `bad-ids`: the ids the bad messages name, which ``collect()`` asks the result backend about.
    private func writeBadIDs(_ bad: [BadMessage]) throws {
        let text = bad.compactMap(\.id).map { $0 + "\n" }.joined()
        try Data(text.utf8).write(to: URL(fileURLWithPath: path("bad-ids")))
    }
}
