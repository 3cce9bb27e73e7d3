import Foundation
import Logging
import Simul
import SimulTasks

/// A short, real tour of the core primitives: threads for waiting, processes for computing, async for many
/// waits, a crash that stays contained, and a timeout. Each step is timed the way `%%time` does it.
public struct Tour: Demo {
    public static let name = "tour"

    /// Creates the tour.
    public init() {}

    /// The numbers the processes step factors: products of a prime near 4–5·10⁸ and one near 7–9.5·10⁹.
    static let semiprimes: [UInt64] = [
        3_600_000_081_400_000_009, 3_600_000_060_950_000_077, 3_500_000_021_500_000_003, 3_990_000_284_320_000_609,
    ]

    /// Runs every step.
    /// - Returns: the timed runs.
    public func run(in context: DemoContext) async throws -> DemoReport {
        let quick = context.options.quick
        let narrate = { (line: String) in context.write(line) }
        var runs: [ModelRun] = []
        func record(_ model: String, _ step: String, _ times: CPUTimes) {
            runs.append(ModelRun(model: "\(model): \(step)", times: times))
            narrate("  \(model):\n    \(times.description.replacingOccurrences(of: "\n", with: "\n    "))")
        }

        let waits = 4
        let wait = quick ? 0.1 : 0.5
        narrate("1. Waiting: \(waits) blocking calls of \(wait) s each (think: a slow database).")
        record(
            "sequential", "blocking waits", await timed { for _ in 0..<waits { _ = usleep(UInt32(wait * 1e6)) } }.times)
        let threads = ThreadPool(maxWorkers: waits)
        record(
            "threads", "blocking waits",
            try await timed {
                let futures = (0..<waits).map { _ in threads.submit { _ = usleep(UInt32(wait * 1e6)) } }
                for future in futures { try await future.value }
            }.times
        )
        await threads.shutdown()

        let numbers = quick ? Array(Self.semiprimes.prefix(2)) : Self.semiprimes
        narrate("2. Computing: the least prime factor of \(numbers.count) large numbers, by trial division.")
        let sequential = await timed { numbers.map(Primes.leastPrimeFactor) }
        record("sequential", "least prime factors", sequential.times)
        var quiet = Logger(label: "simul.tour")
        quiet.logLevel = .error  // the crash below is on purpose; the tour narrates it
        let pool = ProcessPool(context.options.processPool, logger: quiet)
        let parallel = try await timed {
            try await numbers.concurrentMap(maxConcurrency: numbers.count) {
                try await pool.run(DemoTasks.LeastPrimeFactor.self, $0)
            }
        }
        record("processes", "least prime factors", parallel.times)
        precondition(parallel.value == sequential.value, "the pool and the loop disagree")
        narrate("  factors: \(parallel.value.map(String.init).joined(separator: ", ")) — CPU counts the workers too.")

        narrate("3. A crash: a task reads past the end of an array in a worker process.")
        do {
            _ = try await pool.run(DemoTasks.OutOfBounds.self, 5)
        } catch {
            narrate("  contained: \(error)")
        }
        let after = try await pool.run(DemoTasks.LeastPrimeFactor.self, 91)
        narrate("  the pool keeps serving: least prime factor of 91 = \(after)")
        await pool.shutdown()

        let sleepers = quick ? 1_000 : 10_000
        narrate("4. Many waits: \(sleepers) tasks that each sleep \(wait) s, on the cooperative pool.")
        record(
            "async", "concurrent sleeps",
            try await timed {
                try await (0..<sleepers).concurrentMap(maxConcurrency: sleepers) { _ in
                    try await Task.sleep(for: .seconds(wait))
                }
            }.times
        )

        narrate("5. A deadline: a \(wait * 4) s operation under a \(wait) s timeout.")
        do {
            try await withTimeout(.seconds(wait)) { try await Task.sleep(for: .seconds(wait * 4)) }
        } catch let error as TimeoutError {
            narrate("  \(error)")
        }
        return DemoReport(demo: "tour", runs: runs)
    }
}
