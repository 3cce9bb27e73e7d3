import Foundation
import SimulProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

extension ScenarioContext {
    /// The tasks each network scenario runs.
    static let networkTasks = 10_000
    /// The worker of the network scenarios (but `net-latency`'s): 4 threads, prefetch 4 × 4, a 5 s lease.
    static let networkWorker = ["--pool", "threads", "-c", "4", "--lease", "5"]
    /// What that worker holds at most, running and prefetched: what one lapse of its leases may run twice.
    static let networkHeld = 4 * 4 + 4

    /// A partition of the worker from Redis (nothing gets through, no RST) for 5 s, 30 s (as long as a command's
    /// timeout) and 15 s (three leases), one after another while it runs 10,000 tasks; each heals.
    func networkPartition() throws {
        let count = Self.networkTasks
        let network = try ProxiedRedis(url: url, port: server.port)
        defer { network.stop() }
        let worker = try startWorker(
            log: "worker.log", Self.networkWorker + ["-n", "worker@faults"], broker: network.workerURL)
        let sender = try startSender(count: count, broker: network.clientURL)
        var notes: [String] = []
        var healed = Stopwatch()
        for (index, seconds) in [5.0, 30, 15].enumerated() {
            let mark = (index + 1) * count / 4
            try Waiting.until(120, "\(mark) tasks run") { Self.distinct(records) >= mark }
            network.worker.fault = .partition
            say("partitioned the worker from redis for \(Waiting.format(seconds)) s at \(mark) run")
            try Waiting.sleep(seconds)
            let stored = try resultsStored(on: server)
            network.worker.fault = nil
            healed = Stopwatch()
            let recovery = try secondsUntilResults(above: stored, on: server)
            notes.append(
                "\(Waiting.format(seconds)) s partition at \(mark) run: next SUCCESS \(recovery) s after healing")
        }
        var checks = [try senderFinished(sender, count: count)]
        try waitDone(300)
        notes.append("all done \(healed.text) s after the last healing")
        checks.append(Check("worker \(worker.pid) was never restarted", worker.isRunning))
        try stopWorker(worker)
        try collect()
        // Each partition may outlast the lease of what the worker holds: those messages are restored and run again.
        try tally(Tally(maxDuplicates: 3 * Self.networkHeld, checks: checks, notes: notes))
    }

    /// 200 ms of latency, give or take 50 ms, on every chunk each way of the worker's and the client's connections,
    /// for the whole run. A round trip takes 300 to 500 ms, so the worker holds many messages at once (64 threads,
    /// prefetch 4 × 64), and four clients send 2,500 tasks each: one `simul send --count` waits for each batch of
    /// 64 before the next, two round trips, and alone it took 137 s.
    func networkLatency() throws {
        let count = Self.networkTasks
        let clients = 4
        let network = try ProxiedRedis(url: url, port: server.port)
        defer { network.stop() }
        let latency = FaultProxy.Fault.latency(.milliseconds(200), jitter: .milliseconds(50))
        network.worker.fault = latency
        network.client.fault = latency
        let worker = try startWorker(
            log: "worker.log", ["--pool", "threads", "-c", "64", "-n", "worker@faults"], broker: network.workerURL)
        let senders = try (1...clients).map { client in
            try startSender(
                count: count / clients, broker: network.clientURL, ids: path("ids-\(client)"),
                log: "sender-\(client).log")
        }
        var checks: [Check] = []
        for (index, sender) in senders.enumerated() {
            let code = try exitCode(of: sender, limit: 300)
            let printed = Self.lines(path("ids-\(index + 1)"))
            checks.append(
                Check(
                    "sender \(index + 1) finished by itself (exit \(code), \(printed) ids)",
                    code == 0 && printed == count / clients))
        }
        let sending = stopwatch.text
        let all = (1...clients).compactMap { FileManager.default.contents(atPath: path("ids-\($0)")) }
        try all.reduce(Data(), +).write(to: URL(fileURLWithPath: ids))
        try waitDone(300)
        checks.append(Check("worker \(worker.pid) was never restarted", worker.isRunning))
        try stopWorker(worker)
        try collect()
        // Nothing breaks, only slows: no lease (30 s) lapses, so nothing runs twice.
        try tally(
            Tally(
                maxDuplicates: 0, checks: checks,
                notes: ["the senders took \(sending) s; all done after \(stopwatch.text) s; recovery n/a (no healing)"])
        )
    }

    /// Resets (RST) of every worker connection every 2 s for the whole run, with TLS everywhere: a Redis of the
    /// scenario's own that speaks only TLS and wants a client certificate, so every reconnection is a TLS
    /// handshake.
    func networkResetsOverTLS() throws {
        let count = Self.networkTasks
        let redis = try blocking { try await RedisServer.start(durable: true, tls: true) }
        defer { redis.stop() }
        url = redis.url(database: scenario.redisDatabase)
        let network = try ProxiedRedis(url: url, port: redis.port)
        defer { network.stop() }
        let worker = try startWorker(
            log: "worker.log", Self.networkWorker + ["-n", "worker@faults"], broker: network.workerURL)
        let sender = try startSender(count: count, broker: network.clientURL)
        var recoveries: [Double] = []
        var connections = 0
        var late = 0
        while try resultsStored(on: redis) < count {
            let period = Stopwatch()
            guard stopwatch.seconds < 300 else { throw DriverError("timed out after 300 s waiting for every result") }
            connections += network.worker.resetConnections()
            // The time to the next result, if it comes before the next reset; counted from what Redis holds 0.1 s
            // after the reset, once what was on its way when it came has landed.
            try Waiting.sleep(Self.landing)
            let stored = try resultsStored(on: redis)
            while period.seconds < 2 {
                if try resultsStored(on: redis) > stored {
                    recoveries.append(period.seconds)
                    break
                }
                try Waiting.sleep(0.05)
            }
            if period.seconds >= 2 { late += 1 }
            try Waiting.sleep(max(0, 2 - period.seconds))
        }
        var checks = [try senderFinished(sender, count: count)]
        try waitDone(300)
        checks.append(Check("worker \(worker.pid) was never restarted", worker.isRunning))
        try stopWorker(worker)
        try collect()
        let resets = recoveries.count + late
        let sorted = recoveries.sorted()
        var notes = ["\(resets) resets, \(connections) connections reset"]
        if let slowest = sorted.last {
            notes.append(
                "next SUCCESS after a reset: median \(Self.format(sorted[sorted.count / 2])) s, "
                    + "slowest \(Self.format(slowest)) s; \(late) resets with none before the next")
        }
        // A commit whose reply a reset lost is written again (idempotent); what a reset can make run twice is a
        // lapse of what the worker holds, if its renewals fail for a lease.
        try tally(Tally(maxDuplicates: Self.networkHeld, checks: checks, notes: notes))
    }

    /// Every connection of the worker made half-open (Redis's side closed, the worker's kept open and silent), the
    /// way a vanished host or a dead NAT leaves it; new connections pass. The worker can notice only by a
    /// command's timeout: the row measures when the next result is stored.
    func networkHalfOpen() throws {
        let count = Self.networkTasks
        let limit = 60.0
        let network = try ProxiedRedis(url: url, port: server.port)
        defer { network.stop() }
        let worker = try startWorker(
            log: "worker.log", Self.networkWorker + ["-n", "worker@faults"], broker: network.workerURL)
        let sender = try startSender(count: count, broker: network.clientURL)
        try Waiting.until(120, "a quarter of the tasks run") { Self.distinct(records) >= count / 4 }
        network.worker.fault = .halfOpen
        network.worker.fault = nil
        let since = Stopwatch()
        let cut = network.worker.connections
        say("made \(cut) connections of the worker half-open")
        // Commits already on their way when the connections went half-open land first; they are not the worker's
        // noticing.
        try Waiting.sleep(1)
        let stored = try resultsStored(on: server)
        var checks: [Check] = []
        var notes: [String] = []
        var second: ChildProcess?
        do {
            let noticed = try secondsUntilResults(above: stored, on: server, since: since, limit: limit)
            checks.append(
                Check(
                    "the worker noticed: its next SUCCESS \(noticed) s after its \(cut) connections "
                        + "went half-open", true))
        } catch is DriverError {
            // So that every task is still counted, a second worker replaces the one that did not notice.
            checks.append(
                Check(
                    "the worker noticed its \(cut) half-open connections (no SUCCESS within \(Waiting.format(limit)) s; "
                        + "see worker.log)", false))
            try killNow(worker)
            second = try startWorker(
                log: "second.log", Self.networkWorker + ["-n", "second@faults"], broker: network.workerURL)
            notes.append("worker \(worker.pid) killed and replaced by a second one")
        }
        let resumed = Stopwatch()
        checks.insert(try senderFinished(sender, count: count), at: 0)
        try waitDone(300)
        notes.append("all done \(resumed.text) s after that")
        if let second {
            try stopWorker(second)
        } else {
            checks.append(Check("worker \(worker.pid) was never restarted", worker.isRunning))
            try stopWorker(worker)
        }
        try collect()
        // Waiting for a timeout may outlast the lease of what the worker holds: those run again.
        try tally(Tally(maxDuplicates: Self.networkHeld, checks: checks, notes: notes))
    }

    /// A partition of the client (`simul send --count`) from Redis for 32 s, longer than its commands' 30 s
    /// timeout, once a fifth of the ids are printed. The client either fails with an error or finishes; each id it
    /// printed is one task, and every task that ran is one whose id it printed.
    func networkClientPartition() throws {
        let count = Self.networkTasks
        let network = try ProxiedRedis(url: url, port: server.port)
        defer { network.stop() }
        let worker = try startWorker(
            log: "worker.log", Self.networkWorker + ["-n", "worker@faults"], broker: network.workerURL)
        let sender = try startSender(count: count, broker: network.clientURL)
        try Waiting.until(120, "a fifth of the ids printed") { Self.lines(ids) >= count / 5 }
        network.client.fault = .partition
        let cutAt = Self.lines(ids)
        say("partitioned the client from redis for 32 s at \(cutAt) ids printed")
        try Waiting.sleep(32)
        let printed = Self.lines(ids)
        network.client.fault = nil
        let healed = Stopwatch()
        try Waiting.until(120, "the sender printing again") { Self.lines(ids) > printed || !sender.isRunning }
        let recovery = healed.text
        let code = try exitCode(of: sender, limit: 300)
        let sent = Self.lines(of: ids)
        // Either outcome is allowed: an error the client is told, or every task sent.
        let error = Self.lines(of: path("sender.log")).last
        var checks = [
            code == 0
                ? Check("the sender finished by itself (exit 0, \(sent.count) ids)", sent.count == count)
                : Check("the sender failed (exit \(code), \(sent.count) ids): \(error ?? "no error")", error != nil),
            Check("the ids printed are distinct", Set(sent).count == sent.count),
        ]
        try waitDone(300)
        checks.append(Check("worker \(worker.pid) was never restarted", worker.isRunning))
        try stopWorker(worker)
        try collect()
        let twice = Dictionary(grouping: Self.lines(of: records), by: { $0 }).values.count(where: { $0.count > 1 })
        try tally(
            Tally(
                maxDuplicates: 64, checks: checks,
                notes: [
                    "partitioned at \(cutAt) ids printed; next id \(recovery) s after healing; \(twice) ids ran twice"
                ]))
    }

    /// Starts `simul send simul.record --count count` on `broker`, its ids line by line into `ids` (``ids`` by
    /// default) as it sends them, its errors into `log`.
    func startSender(count: Int, broker: String, ids: String? = nil, log: String = "sender.log") throws -> ChildProcess
    {
        let send = [binary, "send", "simul.record", "--args", #"["\#(records)", 0.001]"#, "--count", "\(count)"]
        return try ChildProcess.start(
            ["stdbuf", "-oL"] + send + ["--broker", broker], output: .file(ids ?? self.ids), error: .file(path(log)))
    }

    /// Waits for the sender to end by itself: it must exit 0 having printed `count` ids.
    func senderFinished(_ sender: ChildProcess, count: Int) throws -> Check {
        let code = try exitCode(of: sender, limit: 300)
        let printed = Self.lines(ids)
        return Check(
            "the sender finished by itself (exit \(code), \(printed) ids)", code == 0 && printed == count)
    }

    /// The results `redis` holds in the scenario's database now (its `celery-task-meta-*` keys, counted by Redis):
    /// only to time a recovery; the table counts with `simul result`.
    func resultsStored(on redis: RedisServer) throws -> Int {
        try redis.integer(
            ["eval", "return #redis.call('keys', ARGV[1])", "0", "celery-task-meta-*"],
            database: scenario.redisDatabase)
    }

    /// Waits until `redis` holds more than `stored` results; returns the seconds `since` then, as the table shows
    /// them: `0.4`.
    /// - Throws: ``DriverError`` after `limit` seconds.
    func secondsUntilResults(
        above stored: Int, on redis: RedisServer, since: Stopwatch = Stopwatch(), limit: Double = 120
    ) throws -> String {
        try Waiting.until(limit, "a result stored", pause: 0.05) { try resultsStored(on: redis) > stored }
        return since.text
    }

    /// How long what was on its way to Redis when a fault came takes to land (loopback: well under this).
    static let landing = 0.1

    /// Seconds with one decimal: `0.4`.
    static func format(_ seconds: Double) -> String { String(format: "%.1f", seconds) }
}
