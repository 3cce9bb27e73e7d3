import Foundation
import Simul
import SimulDemos
import SimulTasks

/// The `cpu` suite: the seed's primes sample under every model, against the seed's Python code.
public struct CPUBenchmark: BenchSuite {
    /// The stable case names, in the order they run.
    public static let cases = PrimeModel.allCases.map { "primes-\($0.rawValue)" }

    /// How much the suite measures, and which Redis it uses.
    public let settings: BenchSettings

    /// Creates the suite.
    public init(_ settings: BenchSettings = BenchSettings()) {
        self.settings = settings
    }

    /// Runs the Simul side of every case.
    /// - Parameter progress: told about each case as it starts.
    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> [BenchResult] {
        let numbers = PrimeSample.numbers(quick: quick)
        var results: [BenchResult] = []
        for model in PrimeModel.allCases {
            progress("primes-\(model.rawValue)")
            var best = Double.infinity
            for _ in 0..<max(1, repetitions) {
                let start = ContinuousClock.now
                let factors = try await model.factor(numbers)
                best = min(best, (ContinuousClock.now - start).seconds)
                try check(numbers, factors)
            }
            results.append(
                BenchResult(
                    suite: "cpu", case: "primes-\(model.rawValue)", impl: "simul", metric: "wall", value: best,
                    unit: "s"
                )
            )
        }
        return results
    }

    /// Runs the seed's primes code in Python: sequential, ThreadPoolExecutor and ProcessPoolExecutor, once each
    /// (the Python runs take tens of seconds).
    public func runPython(python: String = PythonPeer.defaultInterpreter) throws -> [BenchResult] {
        let numbers = PrimeSample.numbers(quick: quick).map(String.init)
        return try PythonPeer(implementation: "python-concurrent.futures", python: python).run(
            PythonScripts.primes, suite: "cpu", arguments: numbers
        ) { $0 == "primes-sequential" ? "python" : nil }
    }

    private func check(_ numbers: [UInt64], _ factors: [UInt64]) throws {
        for (n, factor) in zip(numbers, factors) where factor != Primes.leastPrimeFactor(n) {
            throw PythonPeer.Failure(description: "primes: wrong factor \(factor) for \(n)")
        }
    }
}
