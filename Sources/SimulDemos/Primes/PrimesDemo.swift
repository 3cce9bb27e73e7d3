import Foundation
public import Simul
import SimulJSON
import SimulTasks

/// Seed 003's primes demo: the least prime factors of eight large numbers, CPU-bound work, computed sequentially,
/// with threads, with the process pool and with async, and shown in a live table as they are found.
public struct PrimesDemo: Demo {
    public static let name = "primes"

    /// Creates the demo.
    public init() {}

    /// Why a run disagreed with the seed's table.
    struct WrongAnswer: Error, CustomStringConvertible {
        var description: String
    }

    public func run(in context: DemoContext) async throws -> DemoReport {
        let numbers = PrimeSample.numbers(quick: context.options.quick)
        context.say(
            "Least prime factors of \(numbers.count) large numbers by trial division: CPU-bound work. Python's "
                + "threads share one core (the GIL); Swift's don't.",
            "Menor fator primo de \(numbers.count) números grandes por divisão: trabalho CPU bound. As threads "
                + "do Python dividem um núcleo (a GIL); as do Swift, não."
        )
        var report = DemoReport(demo: Self.name)
        for model in PrimeModel.allCases {
            context.say("\n\(model.rawValue):", "\n\(model.rawValue):")
            let table = LiveTable(
                context, header: ["n", " ", "least prime factor"],
                rows: numbers.map { [PrimeSample.grouped($0), "🕒", ""] }, widths: [23, 1, 23]
            )
            let (factors, run) = try await context.measure(model.rawValue, results: Self.results(numbers)) {
                recorder in
                try await model.factor(numbers, configuration: context.options.processPool, recorder: recorder) {
                    index, factor in table.update(index, Self.row(numbers[index], factor))
                }
            }
            try Self.check(numbers, factors, model: model.rawValue, quick: context.options.quick)
            report.runs.append(run)
        }
        if let sequential = report.run("sequential")?.wall_s {
            for run in report.runs where run.model != "sequential" {
                let speedup = sequential / run.wall_s
                report.summary["speedup_\(run.model)"] = .number(speedup)
                context.say(
                    String(format: "%@ is %.2f× as fast as sequential", run.model, speedup),
                    String(format: "%@ é %.2f× mais rápido que o sequencial", run.model, speedup)
                )
            }
        }
        return report
    }

    static func row(_ n: UInt64, _ factor: UInt64) -> [String] {
        factor == n ? [PrimeSample.grouped(n), "✓", ""] : [PrimeSample.grouped(n), "✗", PrimeSample.grouped(factor)]
    }

    static func results(_ numbers: [UInt64]) -> ([UInt64]) -> JSONValue {
        { factors in
            .array(
                zip(numbers, factors).map { n, lpf in
                    .object(["n": .unsigned(n), "lpf": .unsigned(lpf), "prime": .bool(lpf == n)])
                }
            )
        }
    }

    /// Every answer must be the seed's (or, for the quick sample, the plain sequential one).
    static func check(_ numbers: [UInt64], _ factors: [UInt64], model: String, quick: Bool) throws {
        for (n, factor) in zip(numbers, factors) {
            let expected = quick ? Primes.leastPrimeFactor(n) : PrimeSample.leastPrimeFactors[n]
            guard factor == expected else {
                throw WrongAnswer(
                    description: "\(model) found \(factor) for \(n), expected \(expected.map(String.init) ?? "?")")
            }
        }
    }
}

/// How the primes demo computes least prime factors; the `cpu` benchmark times each.
public enum PrimeModel: String, CaseIterable, Sendable {
    /// One number after another, each by plain trial division.
    case sequential
    /// Pieces of every number's trial range on a ``ThreadPool`` as wide as the CPUs.
    case threads
    /// The same pieces on a ``ProcessPool``.
    case processes
    /// The same pieces as tasks on the cooperative pool.
    case async

    /// Finds the least prime factor of every number.
    /// - Parameters:
    ///   - numbers: the numbers, each at least 2.
    ///   - configuration: the process pool's configuration, for `processes`.
    ///   - recorder: records each unit of work: a number (sequential) or a piece of one (`n #k`), on the lane of
    ///     the OS thread (threads, async) or worker process (processes) that ran it.
    ///   - settled: told each number's factor as soon as it is certain.
    /// - Returns: the factors, in the order of `numbers`.
    public func factor(
        _ numbers: [UInt64],
        configuration: ProcessPoolConfiguration = ProcessPoolConfiguration(),
        recorder: SpanRecorder = SpanRecorder(),
        settled: @escaping @Sendable (Int, UInt64) -> Void = { _, _ in }
    ) async throws -> [UInt64] {
        if self == .sequential {
            return numbers.enumerated().map { index, n in
                let factor = recorder.time(PrimeSample.grouped(n), lane: "main") { Primes.leastPrimeFactor(n) }
                settled(index, factor)
                return factor
            }
        }
        let workers = SystemInfo.availableCPUs
        let search = PrimeSearch(numbers: numbers, workers: workers)
        for (number, factor) in search.settledUpFront { settled(number, factor) }
        let threadPool = self == .threads ? ThreadPool(maxWorkers: workers) : nil
        let processPool = self == .processes ? ProcessPool(configuration) : nil
        let operations = search.pieces.map { piece in
            { @Sendable () async throws -> UInt64? in
                guard search.isNeeded(piece) else { return nil }
                let label = "\(PrimeSample.grouped(piece.n)) #\(piece.index + 1)"
                @Sendable func divide() -> UInt64? {
                    recorder.timeOnThread(label) {
                        Primes.leastFactor(of: piece.n, from: piece.start, through: piece.end)
                    }
                }
                switch self {
                case .threads:
                    return try await threadPool!.run(divide)
                case .processes:
                    let found = try await processPool!.run(
                        TimedTask<DemoTasks.LeastFactorInRange>.self, [piece.n, piece.start, piece.end]
                    )
                    recorder.record(label, found)
                    return found.value == 0 ? nil : found.value
                case .async, .sequential:
                    return divide()
                }
            }
        }
        // Keep the pools' queues fed: one piece waiting behind each running one.
        let concurrency = self == .async ? workers : 2 * workers
        for await (index, outcome) in asCompleted(operations, maxConcurrency: concurrency) {
            let piece = search.pieces[index]
            // A skipped piece reports nil too; that is harmless, as it lies above a found factor or its number
            // is settled already.
            if let lpf = search.record(piece, factor: try outcome.get()) { settled(piece.number, lpf) }
        }
        await threadPool?.shutdown()
        await processPool?.shutdown()
        let results = search.results
        guard results.allSatisfy({ $0 != nil }) else {
            throw PrimesDemo.WrongAnswer(description: "\(rawValue) left a number unsettled")
        }
        return results.map { $0! }
    }
}
