import Foundation
import Simul
import SimulJSON
import SimulProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

extension ScenarioContext {
    /// 6. SIGTERM with 50 two-second tasks running and 500 prefetched; then SIGTERM twice (cold) on the next worker.
    func graceful() throws {
        let count = 550
        let timeout = 10.0
        let options = ["-c", "50", "--prefetch-multiplier", "11", "--lease", "60", "--shutdown-timeout", "10"]
        try sendRecords(#"["\#(records)", 2]"#, count: count)

        let warm = try startWorker(log: "warm.log", options + ["-n", "warm@faults"])
        try Waiting.until(60, "50 tasks running and 500 prefetched") {
            try loaded(inFlight: path("in-flight"), held: count, recorded: 0)
        }
        var signalled = Stopwatch()
        try warm.send(SIGTERM)
        var code = try exitCode(of: warm)
        let warmExit = signalled.text
        if broker == .redis {
            try Data(contentsOf: URL(fileURLWithPath: records)).write(to: URL(fileURLWithPath: path("in-flight")))
        }
        let warmDone = try successCount(ids)
        let warmWaiting = try waiting()
        let inFlight = Self.lines(path("in-flight"))
        var checks = [
            Check(
                "warm: exit 0 in \(warmExit) s (timeout 10 s)", code == 0 && Double(warmExit) ?? .infinity <= timeout),
            try Check("warm: the \(inFlight) in flight finished") { try allSucceeded(path("in-flight")) },
            Check("warm: \(warmWaiting) back in the queue, \(warmDone) done", warmWaiting + warmDone == count),
        ]

        let cold = try startWorker(log: "cold.log", options + ["-n", "cold@faults"])
        try Waiting.until(60, "50 tasks running again") {
            try loaded(inFlight: path("cold-in-flight"), held: warmWaiting, recorded: Self.lines(records))
        }
        signalled = Stopwatch()
        try cold.send(SIGTERM)
        try Waiting.sleep(0.5)
        try cold.send(SIGTERM)
        code = try exitCode(of: cold)
        let coldExit = signalled.text
        let coldDone = try successCount(ids)
        let coldWaiting = try waiting()
        checks += [
            Check("cold: exit 0 in \(coldExit) s", code == 0 && Double(coldExit) ?? .infinity <= timeout),
            Check("cold: \(coldWaiting) back in the queue, \(coldDone) done", coldWaiting + coldDone == count),
        ]

        let drain = try startWorker(
            log: "drain.log", ["-c", "250", "--prefetch-multiplier", "1", "--lease", "60", "-n", "drain@faults"])
        try waitDone(120)
        try stopWorker(drain)
        try collect()
        // Only the cold shutdown may leave work to run twice: the 50 tasks it stopped waiting for.
        try tally(Tally(maxDuplicates: 50, checks: checks))
    }

    /// Whether 50 tasks run and none waits (the graceful scenario's worker holds them all); `inFlight` gets the ids
    /// running. On Redis, `inspect active` learns from 2.5 s of events, by which time the first two-second tasks
    /// are done, so there it asks Redis itself: the queue is empty, `held` messages are in `unacked`, and the records
    /// file still has `recorded` lines (no task finished since), so the worker runs 50 and holds the rest; the ids
    /// in flight are the ones recorded after the signal.
    private func loaded(inFlight: String, held: Int, recorded: Int) throws -> Bool {
        if broker == .redis {
            try Data().write(to: URL(fileURLWithPath: inFlight))
            let database = scenario.redisDatabase
            return try server.integer(["llen", "celery"], database: database) == 0
                && server.integer(["hlen", "unacked"], database: database) == held && Self.lines(records) == recorded
        }
        let output = path("active.json")
        try simul(["inspect", "active", "--json"], to: output)
        let active = try JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: output))).arrayValue ?? []
        let running = active.compactMap { $0.objectValue?["id"]?.stringValue }
        try Data(running.map { $0 + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: inFlight))
        return try running.count == 50 && waiting() == 0
    }

    /// The exit code of a process told to stop, or that must end by itself. The shell waited for it without a
    /// limit; here one still running after `limit` seconds is killed, with its group, and its code says so (137).
    func exitCode(of process: ChildProcess, limit: Double = 120) throws -> Int32 {
        if let code = try process.wait(limit: limit) { return code }
        kill(-process.pid, SIGKILL)
        return try process.wait() ?? 137
    }
}
