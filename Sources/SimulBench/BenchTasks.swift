public import Simul

/// The process tasks the benchmarks send to workers; the `simul` binary registers them.
public enum BenchTasks {
    /// Returns its input: the cost of a round trip and nothing else.
    public struct NoOp: ProcessTask {
        public static let name = "bench.noop"
        public static func run(_ input: Int) -> Int { input }
    }

    /// Squares its input: the element function of the chunked map.
    public struct Square: ProcessTask {
        public static let name = "bench.square"
        public static func run(_ input: Int) -> Int { input &* input }
    }

    /// Registers every benchmark task.
    public static func register(in registry: inout TaskRegistry) {
        registry.register(NoOp.self)
        registry.register(Square.self)
    }
}
