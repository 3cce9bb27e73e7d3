import Foundation
import Simul
import SimulBrokers
import SimulJSON
import SimulQueue
import SimulRedis
import SimulTasks

/// The `queue` suite's Redis cases, Simul and Python Celery on the same Redis in the same run.
///
/// - `queue-redis-enqueue`: 32 producers send `simul.noop`; Celery's producer calls `noop.delay()` in a loop.
/// - `queue-redis-drain`: one worker runs the queued tasks and stores every result: `simul worker --pool async
///   -c 64 --prefetch-multiplier 8` against `celery worker -P prefork -c 2`.
/// - `queue-redis-latency-p50`, `-p99`: from the send to the task's start, one task at a time on an idle worker.
/// - `queue-redis-tls-enqueue`, `queue-redis-tls-drain`: the first two again in the same run, on a Redis that speaks
///   only TLS (`rediss://`, the server's certificate checked), for what TLS costs.
/// - `queue-redis-wait1-enqueue`, `queue-redis-wait1-drain`: the first two again, on a master with one replica and
///   `wait_replicas=1` (every commit waits for the replica's `WAIT`), for what that guarantee costs.
public struct RedisQueueBenchmark: BenchSuite {
    /// The stable case names.
    public static let cases = [
        "queue-redis-enqueue", "queue-redis-drain", "queue-redis-latency-p50", "queue-redis-latency-p99",
        "queue-redis-tls-enqueue", "queue-redis-tls-drain", "queue-redis-wait1-enqueue", "queue-redis-wait1-drain",
    ]

    /// How much the suite measures, and which Redis it uses.
    public let settings: BenchSettings

    /// Creates the suite.
    public init(_ settings: BenchSettings = BenchSettings()) {
        self.settings = settings
    }

    private var count: Int { quick ? 2_000 : 20_000 }
    private var samples: Int { quick ? 100 : 1_000 }

    /// Runs the Simul cases and, with `comparePython`, the Celery ones on the same Redis.
    public func run(comparePython: Bool, progress: @Sendable (String) -> Void = { _ in }) async throws -> [BenchResult]
    {
        let server = redisURL == nil ? try await LocalRedisServer.start() : nil
        defer { server?.stop() }
        let base = redisURL ?? server!.url
        var results = try await runSimul(url: LocalRedisServer.url(base, database: 2), progress: progress)
        if redisURL == nil {
            let secure = try await LocalRedisServer.start(tls: true)
            defer { secure.stop() }
            results += try await runSimul(url: secure.url, prefix: "queue-redis-tls", progress: progress)
            let master = try await LocalRedisServer.start()
            defer { master.stop() }
            let replica = try await LocalRedisServer.start(replicaOf: master)
            defer { replica.stop() }
            results += try await runSimul(
                url: master.url + "/0?wait_replicas=1", prefix: "queue-redis-wait1", progress: progress)
        }
        if comparePython {
            progress("python-celery: Celery 5.7, prefork -c 2, on the same Redis")
            let python = try PythonEnvironment().interpreter(
                with: ["celery[redis]==5.7.0"], imports: ["celery", "redis"])
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "simul-bench-celery-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try PythonCeleryScript.app.write(
                to: directory.appendingPathComponent("benchapp.py"), atomically: true, encoding: .utf8)
            results += try PythonPeer(implementation: "python-celery", python: python).run(
                PythonCeleryScript.bench, suite: "queue",
                arguments: [directory.path, LocalRedisServer.url(base, database: 3), String(count), String(samples)])
        }
        return results
    }

    /// The Simul cases on `url`, named `prefix-…`; for another prefix than `queue-redis` (TLS, a replica), only the
    /// enqueue and the drain.
    private func runSimul(
        url: String, prefix: String = "queue-redis", progress: @Sendable (String) -> Void
    ) async throws -> [BenchResult] {
        let queue = try QueueConnection(broker: url)
        defer { Task { await queue.close() } }
        let broker = queue.broker
        _ = try await broker.require(.queueAdministration).purge(queue: "celery")
        let client = QueueClient(broker: broker, backend: queue.backend)
        progress("\(prefix)-enqueue")
        let enqueueRate = try await Measure.rate(count: count) {
            try await QueueBenchmark.sendNoops(count, with: client)
        }
        progress("\(prefix)-drain")
        var catalog = BuiltinTasks.catalog
        catalog.register("bench.stamp") { Date().timeIntervalSince1970 }
        let worker = QueueBenchmark.drainingWorker(catalog: catalog, queue: queue)
        let running = Task { try await worker.run() }
        let drainRate = try await Measure.rate(count: count) {
            while worker.stats.processed < count { try await Task.sleep(for: .milliseconds(1)) }
        }
        let row = { (name: String, metric: String, value: Double, unit: String) in
            BenchResult(suite: "queue", case: name, impl: "simul", metric: metric, value: value, unit: unit)
        }
        let rates = [
            row("\(prefix)-enqueue", "throughput", enqueueRate, "tasks/s"),
            row("\(prefix)-drain", "throughput", drainRate, "tasks/s"),
        ]
        if prefix != "queue-redis" {
            worker.shutdown()
            try await running.value
            return rates
        }
        progress("queue-redis-latency")
        var latencies: [Double] = []
        for _ in 0..<samples {
            let sent = Date().timeIntervalSince1970
            let started = try await client.send("bench.stamp").get(timeout: .seconds(30))
            latencies.append(((started.doubleValue ?? sent) - sent) * 1000)
        }
        worker.shutdown()
        try await running.value
        latencies.sort()
        return rates + [
            row("queue-redis-latency-p50", "latency", latencies[latencies.count / 2], "ms"),
            row(
                "queue-redis-latency-p99", "latency", latencies[min(latencies.count - 1, latencies.count * 99 / 100)],
                "ms"),
        ]
    }
}
