import Foundation
import Simul

/// The `executors` suite: the core primitives against Python's `concurrent.futures` and `asyncio`.
public struct ExecutorsBenchmark: BenchSuite {
    /// The stable case names, in the order they run.
    public static let cases = [
        "threadpool-submit", "processpool-submit", "processpool-map", "async-gather", "async-sleep-100k",
    ]

    /// How much the suite measures, and which Redis it uses.
    public let settings: BenchSettings

    /// Creates the suite.
    public init(_ settings: BenchSettings = BenchSettings()) {
        self.settings = settings
    }

    /// Runs the Simul side of every case.
    /// - Parameter progress: told about each case as it starts.
    /// - Returns: one result per case.
    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> [BenchResult] {
        let scale = quick ? 10 : 1
        var results: [BenchResult] = []

        progress("threadpool-submit")
        let submits = 1_000_000 / scale
        let threadPool = ThreadPool()
        let threadRate = try await best {
            try await Measure.rate(count: submits) {
                let futures = (0..<submits).map { _ in threadPool.submit { () } }
                for future in futures { _ = try await future.value }
            }
        }
        await threadPool.shutdown()
        results.append(throughput("threadpool-submit", threadRate))

        progress("processpool-submit")
        let processPool = ProcessPool()
        _ = try await processPool.run(BenchTasks.NoOp.self, 0)
        let calls = 200_000 / scale
        let processRate = try await best {
            try await Measure.rate(count: calls) {
                let futures = (0..<calls).map { processPool.submit(BenchTasks.NoOp.self, $0) }
                for future in futures { _ = try await future.value }
            }
        }
        results.append(throughput("processpool-submit", processRate))

        progress("processpool-map")
        let elements = 10_000_000 / scale
        let mapRate = try await best {
            try await Measure.rate(count: elements) {
                var total = 0
                for try await square in processPool.map(BenchTasks.Square.self, 0..<elements, chunkSize: 1000) {
                    total &+= square
                }
                precondition(total != 0, "the map produced nothing")
            }
        }
        await processPool.shutdown()
        results.append(throughput("processpool-map", mapRate))

        progress("async-gather")
        let operations = 200_000 / scale
        let gatherRate = try await best {
            try await Measure.rate(count: operations) {
                let work = [@Sendable () async throws -> Int](repeating: { 1 }, count: operations)
                let values = try await gatherAll(work)
                precondition(values.count == operations)
            }
        }
        results.append(throughput("async-gather", gatherRate))

        progress("async-sleep-100k")
        let sleepers = 100_000 / scale
        let sleepWall = try await best(lowest: true) {
            try await Measure.wall {
                let work = [@Sendable () async throws -> Void](
                    repeating: { try await TimerQueue.shared.sleep(for: .seconds(1)) },
                    count: sleepers
                )
                _ = try await gatherAll(work)
            }
        }
        results.append(
            BenchResult(
                suite: "executors", case: "async-sleep-100k", impl: "simul", metric: "wall", value: sleepWall,
                unit: "s"
            )
        )
        return results
    }

    private func throughput(_ name: String, _ value: Double) -> BenchResult {
        BenchResult(suite: "executors", case: name, impl: "simul", metric: "throughput", value: value, unit: "ops/s")
    }

    private func best(lowest: Bool = false, _ measure: () async throws -> Double) async throws -> Double {
        var figures: [Double] = []
        for _ in 0..<max(1, repetitions) { figures.append(try await measure()) }
        return (lowest ? figures.min() : figures.max()) ?? 0
    }
}
