import Foundation
public import Simul
import SimulTasks

/// The process tasks the demos send to workers; the `simul` binary registers them.
public enum DemoTasks {
    /// The least prime factor of a number, by trial division.
    public struct LeastPrimeFactor: ProcessTask {
        public static let name = "simul.lpf"
        public static func run(_ input: UInt64) -> UInt64 { Primes.leastPrimeFactor(input) }
    }

    /// The least divisor of `n` among the 6k±1 candidates in `start...end`; input `[n, start, end]`, output 0
    /// when there is none. One piece of a split prime search.
    public struct LeastFactorInRange: ProcessTask {
        public static let name = "simul.lpf-range"
        public static func run(_ input: [UInt64]) throws -> UInt64 {
            guard input.count == 3, input[0] >= 2 else {
                throw DemoTaskError(description: "expected [n, start, end] with n >= 2, got \(input)")
            }
            return Primes.leastFactor(of: input[0], from: input[1], through: input[2]) ?? 0
        }
    }

    /// Sleeps, blocking its worker: a cake in the oven.
    public struct Bake: ProcessTask {
        public static let name = "demo.bake"
        public static func run(_ seconds: Double) -> Double {
            Thread.sleep(forTimeInterval: seconds)
            return seconds
        }
    }

    /// A task with a bug: it reads past the end of an array, which traps and kills its worker.
    public struct OutOfBounds: ProcessTask {
        public static let name = "demo.out-of-bounds"
        public static func run(_ input: Int) -> Int {
            let cakes = ["chocolate", "carrot"]
            return cakes[input].count
        }
    }

    /// Registers every demo task.
    public static func register(in registry: inout TaskRegistry) {
        registry.register(LeastPrimeFactor.self)
        registry.register(LeastFactorInRange.self)
        registry.register(TimedTask<LeastFactorInRange>.self)
        registry.register(Bake.self)
        registry.register(TimedTask<Bake>.self)
        registry.register(OutOfBounds.self)
        TableTasks.register(in: &registry)
    }
}

/// A demo task's complaint about its input.
public struct DemoTaskError: Error, CustomStringConvertible {
    public var description: String
}
