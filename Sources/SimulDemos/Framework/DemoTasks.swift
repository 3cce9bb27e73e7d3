public import Simul

/// The process tasks the demos send to workers; the `simul` binary registers them.
public enum DemoTasks {
    /// The least prime factor of a number, by trial division.
    public struct LeastPrimeFactor: ProcessTask {
        public static let name = "simul.lpf"
        public static func run(_ input: UInt64) -> UInt64 { Primes.leastPrimeFactor(input) }
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
        registry.register(OutOfBounds.self)
        TableTasks.register(in: &registry)
    }
}
