import Foundation
import SimulJSON
import SimulProcessSupport

extension ScenarioContext {
    /// The most revocations a broker stores and a worker holds: Celery's `REVOKES_MAX` (`RevokedSet.Limits.celery`).
    static let revokesMax = 50_000

    /// 7. Soak (`--full`): 1,000,000 tasks (`FAULTS_SOAK_TASKS`) from one client while one worker runs them,
    /// results expiring after 60 s; memory and throughput sampled every 5 s. `simul revoke` stores revocations of
    /// ids no task has, 2,000 at a time: 50,000 before the client starts (so the revoked sets are full before memory
    /// is first judged), then a batch a sample, and after the tasks as many as make 60,000 in all, the worker still
    /// running. The stored set must stay at Celery's bound of 50,000, and on Redis the worker must hold the newest
    /// 50,000 and have dropped the oldest, as Celery's `LimitedSet` does.
    func soak() throws {
        let count = ProcessInfo.processInfo.environment["FAULTS_SOAK_TASKS"].flatMap { Int($0) } ?? 1_000_000
        let worker = try startWorker(
            log: "worker.log", ["-c", "4", "--lease", "30", "--result-expires", "60", "-n", "soak@faults"])
        var revoker = Revoker(batch: 2_000)
        while revoker.sent.count < Self.revokesMax { try revoker.revokeBatch(in: self) }
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
            try revoker.revokeBatch(in: self)
            try Waiting.sleep(5)
        }
        let clientCode = try exitCode(of: client, limit: 600)
        guard clientCode == 0 else { throw DriverError("the soak's client exited with code \(clientCode)") }
        let sent = Self.lines(ids)
        let executions = Self.lines(records)
        let finished = Self.distinct(records)
        var checks = SoakSample.checks(samples, total: count)
        // Results expire during the soak, so the task's own records count what completed; the SUCCESS results are
        // checked for the last 1,000 tasks, sent less than a minute before the end (before the revocations left).
        let lastIDs = Self.lines(of: ids).suffix(1000).map { $0 + "\n" }.joined()
        try Data(lastIDs.utf8).write(to: URL(fileURLWithPath: path("last-ids")))
        checks.append(try Check("the last 1000 tasks have SUCCESS stored") { try allSucceeded(path("last-ids")) })
        while revoker.sent.count < Self.revokesMax + 10_000 { try revoker.revokeBatch(in: self) }
        checks += try revoker.checks(in: self)
        try stopWorker(worker, limit: 60)
        checks.append(try Check("the queue is empty") { try waiting() == 0 })
        try tally(Tally(checks: checks, notes: ["\(executions) executions"], sent: sent, completed: finished))
    }
}

/// The soak's revocations: ids no task has, stored with `simul revoke` a batch at a time, and the checks that the
/// revoked set stays bounded.
struct Revoker {
    let batch: Int
    /// The ids revoked, oldest first.
    private(set) var sent: [String] = []

    init(batch: Int) {
        self.batch = batch
    }

    /// Revokes `batch` new ids.
    mutating func revokeBatch(in context: ScenarioContext) throws {
        let ids = (0..<batch).map { _ in UUID().uuidString.lowercased() }
        try context.simul(["revoke"] + ids, to: "/dev/null")
        sent += ids
    }

    /// The stored set holds at most the bound (SQLite's `revoked` table, read with the `sqlite3` shell; Redis's
    /// stream); on Redis the running worker, asked with `simul control revoked`, holds exactly the newest ones.
    func checks(in context: ScenarioContext) throws -> [Check] {
        let bound = ScenarioContext.revokesMax
        var checks = [
            try Check("\(sent.count) revocations stored, at most \(bound) kept") {
                try (1...bound).contains(storedCount(in: context))
            }
        ]
        guard context.broker == .redis, let newest = sent.last, let oldest = sent.first else { return checks }
        let answers = context.path("revoked.json")
        checks.append(
            try Check("the worker holds the newest \(bound) revocations, not the oldest") {
                // The worker reads new revocations every 250 ms: wait until it has the last one.
                var held: [String] = []
                try Waiting.until(60, "the worker read the last revocation") {
                    try context.simul(["control", "revoked", "-d", "soak@faults", "--json"], to: answers)
                    let reply = try JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: answers)))
                    held = reply["soak@faults"]?.arrayValue?.compactMap(\.stringValue) ?? []
                    return held.last == newest
                }
                return held.count == bound && !held.contains(oldest)
            })
        return checks
    }

    private func storedCount(in context: ScenarioContext) throws -> Int {
        if context.broker == .redis {
            return try context.server.integer(["XLEN", "simul.revocations"], database: context.scenario.redisDatabase)
        }
        let output = context.path("revoked-count")
        let code = try ChildProcess.run(
            ["sqlite3", context.path("queue.sqlite"), "SELECT count(*) FROM revoked"], output: .file(output))
        guard code == 0 else {
            throw DriverError("sqlite3 (the SQLite shell, which this check reads with): exit \(code)")
        }
        let text = try String(contentsOfFile: output, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let count = Int(text) else { throw DriverError("sqlite3 printed '\(text)', not a count") }
        return count
    }
}
