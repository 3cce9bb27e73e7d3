import Foundation
import Logging
import Simul
import SimulBrokers
import SimulQueue
import SimulRedis
import SimulTasks
import SimulRESP

/// The `revokes` suite: a revoke storm must not slow workers down.
///
/// For SQLite and for Redis, a worker (`--pool async -c 4`, as in the probe that found the slowdown) drains 2,000
/// `simul.noop` tasks with no revocations stored, then with 30,000 (random task ids, none of them the drained ones),
/// each on a fresh file or database; the time runs from the worker's start, so it includes its first read of the
/// whole set. Then the worker idles for a second, and its process CPU time over that second is the idle CPU.
///
/// - `revokes-<broker>-drain-0`, `-drain-30000`: wall seconds, the best of three.
/// - `revokes-<broker>-ratio`: the second over the first; 1 means the stored revocations cost nothing.
/// - `revokes-<broker>-idle-cpu-30000`: percent of one core while idle with 30,000 revocations stored.
public struct RevokeBenchmark: BenchSuite {
    /// The stable case names.
    public static let cases = ["sqlite", "redis"].flatMap { broker in
        ["drain-0", "drain-30000", "ratio", "idle-cpu-30000"].map { "revokes-\(broker)-\($0)" }
    }

    /// How much the suite measures, and which Redis it uses.
    public let settings: BenchSettings

    /// Creates the suite; it uses database 4 of the settings' Redis, and runs each drain three times (once when
    /// quick), whatever the settings' `repetitions`.
    public init(_ settings: BenchSettings = BenchSettings()) {
        self.settings = settings
    }

    private var tasks: Int { quick ? 500 : 2_000 }
    private var stored: Int { quick ? 5_000 : 30_000 }
    private var runs: Int { quick ? 1 : 3 }

    /// Runs the SQLite cases, then the Redis ones.
    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> [BenchResult] {
        var results = try await cases("sqlite", progress: progress) { run in
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("simul-bench-revokes-\(UUID())")
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("queue.sqlite").path
            return try await Self.using(try QueueConnection(broker: "sqlite://" + path), run)
        }
        let server = redisURL == nil ? try await LocalRedisServer.start() : nil
        defer { server?.stop() }
        let url = LocalRedisServer.url(redisURL ?? server!.url, database: 4)
        results += try await cases("redis", progress: progress) { run in
            let connection = try await RedisConnection.connect(to: try RedisConfiguration(url: url))
            _ = try await connection.send("DEL", "simul.revocations")
            await connection.close()
            let queue = try QueueConnection(broker: url)
            _ = try await queue.broker.require(.queueAdministration).purge(queue: "revokes")
            return try await Self.using(queue, run)
        }
        return results
    }

    /// Runs `body` on `queue`, then closes it.
    private static func using<T>(_ queue: QueueConnection, _ body: (QueueConnection) async throws -> T)
        async throws -> T
    {
        do {
            let value = try await body(queue)
            await queue.close()
            return value
        } catch {
            await queue.close()
            throw error
        }
    }

    /// Measures one broker: `fresh` hands a new, empty broker to the measurement and closes it after.
    private func cases(
        _ name: String, progress: @Sendable (String) -> Void,
        fresh: (_ run: (QueueConnection) async throws -> (drain: Double, idleCPU: Double)) async throws
            -> (drain: Double, idleCPU: Double)
    ) async throws -> [BenchResult] {
        var best: [Int: Double] = [:]
        var idleCPU = 0.0
        for _ in 0..<runs {
            for revocations in [0, stored] {
                progress("revokes-\(name): drain \(tasks) with \(revocations) revocations stored")
                let measured = try await fresh { queue in try await measure(queue, revocations: revocations) }
                best[revocations] = min(best[revocations] ?? .infinity, measured.drain)
                if revocations > 0 { idleCPU = measured.idleCPU }
            }
        }
        let row = { (suffix: String, metric: String, value: Double, unit: String) in
            BenchResult(
                suite: "revokes", case: "revokes-\(name)-\(suffix)", impl: "simul", metric: metric,
                value: value, unit: unit)
        }
        let none = best[0] ?? 0
        let many = best[stored] ?? 0
        let suffix = quick ? "\(stored)" : "30000"
        return [
            row("drain-0", "wall", none, "s"),
            row("drain-\(suffix)", "wall", many, "s"),
            row("ratio", "ratio", none > 0 ? many / none : 0, "x"),
            row("idle-cpu-\(suffix)", "cpu", idleCPU, "%"),
        ]
    }

    /// Stores `revocations` random revocations and `tasks` no-ops, then times a worker draining them; then measures
    /// the worker's CPU over one idle second.
    private func measure(_ queue: QueueConnection, revocations: Int) async throws
        -> (drain: Double, idleCPU: Double)
    {
        let broker = queue.broker
        let store = try broker.require(.revocations)
        for start in stride(from: 0, to: revocations, by: 1_000) {
            let ids = (start..<min(revocations, start + 1_000)).map { _ in TaskID.make() }
            try await store.revoke(ids, terminate: start % 2_000 == 0)
        }
        for start in stride(from: 0, to: tasks, by: 500) {
            let batch = (start..<min(tasks, start + 500)).map { _ in
                TaskMessage(task: "simul.noop", queue: "revokes")
            }
            try await broker.send(batch)
        }
        let worker = Self.worker(queue)
        let running = Task { try await worker.run() }
        let drain = try await Measure.wall {
            while worker.stats.processed < tasks { try await Task.sleep(for: .milliseconds(1)) }
        }
        let before = Self.processCPU()
        let idleStart = ContinuousClock.now
        try await Task.sleep(for: .seconds(quick ? 0.3 : 1))
        let idleCPU = (Self.processCPU() - before) / (ContinuousClock.now - idleStart).seconds * 100
        worker.shutdown()
        try await running.value
        return (drain, idleCPU)
    }

    /// `simul worker --pool async -c 4 -Q revokes`, quiet.
    private static func worker(_ queue: QueueConnection) -> Worker {
        var configuration = WorkerConfiguration()
        configuration.name = "revokes@localhost"
        configuration.queues = ["revokes"]
        configuration.pool = .async
        configuration.concurrency = 4
        var logger = Logger(label: "simul.bench")
        logger.logLevel = .warning
        return Worker(
            catalog: BuiltinTasks.catalog, broker: queue.broker, backend: queue.backend, configuration: configuration,
            logger: logger)
    }

    /// User and system CPU seconds of this process so far.
    private static func processCPU() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let seconds = { (time: timeval) in Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
