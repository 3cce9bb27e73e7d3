import Foundation
import Logging
import Simul
import SimulBrokers
import SimulQueue
import SimulTasks

/// The `queue` suite: the task queue on its embedded SQLite broker.
///
/// The file is in WAL mode with `synchronous=FULL`: every send is on disk, and survives a power cut, when it returns.
public struct QueueBenchmark: BenchSuite {
    /// The stable case names.
    public static let cases = ["queue-sqlite-enqueue", "queue-sqlite-drain"]

    /// How much the suite measures, and which Redis it uses.
    public let settings: BenchSettings

    /// Creates the suite.
    public init(_ settings: BenchSettings = BenchSettings()) {
        self.settings = settings
    }

    /// Runs both cases: 32 producers send `simul.noop` messages, then a worker drains them, storing every result
    /// and sending task events: `simul worker --pool async -c 64 --prefetch-multiplier 8`, the setting for many
    /// short tasks. The file is durable throughout (WAL, `synchronous=FULL`).
    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> [BenchResult] {
        let count = quick ? 2_000 : 20_000
        var enqueueRates: [Double] = []
        var drainRates: [Double] = []
        for _ in 0..<max(1, repetitions) {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simul-bench-\(UUID())")
            defer { try? FileManager.default.removeItem(at: directory) }
            let queue = try QueueConnection(broker: "sqlite://" + directory.appendingPathComponent("queue.sqlite").path)
            let (broker, client) = (queue.broker, QueueClient(broker: queue.broker, backend: queue.backend))
            progress("queue-sqlite-enqueue")
            enqueueRates.append(try await Measure.rate(count: count) { try await Self.sendNoops(count, with: client) })
            progress("queue-sqlite-drain")
            let worker = Self.drainingWorker(catalog: BuiltinTasks.catalog, queue: queue)
            drainRates.append(
                try await Measure.rate(count: count) {
                    let running = Task { try await worker.run() }
                    while worker.stats.processed < count { try await Task.sleep(for: .milliseconds(1)) }
                    worker.shutdown()
                    try await running.value
                })
            let left = try await broker.require(.queueAdministration).queueLengths().values.reduce(0, +)
            precondition(left == 0, "the drain left \(left) messages")
            await queue.close()
        }
        return [
            BenchResult(
                suite: "queue", case: "queue-sqlite-enqueue", impl: "simul", metric: "throughput",
                value: enqueueRates.max() ?? 0, unit: "tasks/s"),
            BenchResult(
                suite: "queue", case: "queue-sqlite-drain", impl: "simul", metric: "throughput",
                value: drainRates.max() ?? 0, unit: "tasks/s"),
        ]
    }

    /// Sends `count` `simul.noop` tasks from 32 producers at once.
    static func sendNoops(_ count: Int, with client: QueueClient) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let producers = 32
            for producer in 0..<producers {
                group.addTask {
                    for _ in stride(from: producer, to: count, by: producers) { try await client.send("simul.noop") }
                }
            }
            try await group.waitForAll()
        }
    }

    /// The worker the drain cases measure: `simul worker --pool async -c 64 --prefetch-multiplier 8`, quiet.
    static func drainingWorker(catalog: TaskCatalog, queue: QueueConnection) -> Worker {
        var configuration = WorkerConfiguration()
        configuration.name = "bench@localhost"
        configuration.pool = .async
        configuration.concurrency = 64
        configuration.prefetchMultiplier = 8
        var logger = Logger(label: "simul.bench")
        logger.logLevel = .warning
        return Worker(
            catalog: catalog, broker: queue.broker, backend: queue.backend, configuration: configuration, logger: logger
        )
    }
}
