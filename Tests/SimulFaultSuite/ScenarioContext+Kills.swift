import SimulProcessSupport

extension ScenarioContext {
    /// 1. `kill -9` a worker a quarter of the way through 10,000 tasks; a second worker finishes the rest.
    func kill9(pool: String) throws {
        let count = 10_000
        let concurrency = 4
        try sendRecords(#"["\#(records)", 0.001]"#, count: count)
        let options = ["--pool", pool, "-c", "\(concurrency)", "--lease", killLease]
        let first = try startWorker(log: "first.log", options + ["-n", "first@faults"])
        try Waiting.until(120, "a quarter of the tasks recorded") { Self.lines(records) >= count / 4 }
        try killNow(first)
        let killedAt = Self.lines(records)
        let second = try startWorker(log: "second.log", options + ["-n", "second@faults"])
        try waitDone(300)
        try stopWorker(second)
        try collect()
        // At most prefetch (4 x concurrency) + concurrency messages were held by the killed worker.
        try tally(
            Tally(
                maxDuplicates: concurrency * 4 + concurrency, notes: ["killed at \(killedAt) of \(count) executions"]))
    }

    /// 2. Three workers; every second for 10 s, `kill -9` one of them and start another in its place.
    func repeatedKills() throws {
        let count = 20_000
        let concurrency = 4
        let kills = 10
        try sendRecords(#"["\#(records)", 0.01]"#, count: count)
        let options = ["-c", "\(concurrency)", "--lease", killLease]
        var workers = try (0..<3).map { try startWorker(log: "workers.log", options + ["-n", "w\($0)@faults"]) }
        for kill in 1...kills {
            try Waiting.sleep(1)
            try killNow(workers[kill % 3])
            workers[kill % 3] = try startWorker(log: "workers.log", options + ["-n", "w\(kill + 2)@faults"])
        }
        let lastKillAt = Self.distinct(records)
        try waitDone(300)
        for worker in workers { try stopWorker(worker) }
        try collect()
        try tally(
            Tally(
                maxDuplicates: kills * (concurrency * 4 + concurrency),
                checks: [Check("still running at the last kill (\(lastKillAt) of \(count) done)", lastKillAt < count)],
                notes: ["\(kills) kills"]))
    }
}
