import Logging
import Simul

/// The pools each model runs on, started and stopped inside the timed region, as `with ThreadPoolExecutor()`
/// and `with ProcessPoolExecutor()` blocks are in Python.
enum Pools {
    /// Runs `work` on a thread of its own: the sequential model, kept off the cooperative pool so that a blocking
    /// call starves nothing the local servers need.
    static func onOneThread<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withThreads(1) { pool in try await pool.run(work) }
    }

    /// Runs `body` with a thread pool of `count` threads, and shuts the pool down after.
    static func withThreads<Value>(_ count: Int, _ body: (ThreadPool) async throws -> Value) async throws -> Value {
        let pool = ThreadPool(maxWorkers: count, namePrefix: "simul-table")
        return try await using(pool, shutdown: { await pool.shutdown(cancelPending: $0) }, body)
    }

    /// Runs `body` with a process pool, and shuts the pool down after.
    static func withProcesses<Value>(
        _ configuration: ProcessPoolConfiguration, _ body: (ProcessPool) async throws -> Value
    ) async throws -> Value {
        var logger = Logger(label: "simul.table")
        logger.logLevel = .error
        let pool = ProcessPool(configuration, logger: logger)
        return try await using(pool, shutdown: { await pool.shutdown(cancelPending: $0) }, body)
    }

    /// Runs `body` with `pool`, then shuts the pool down: after its pending work, or, when `body` throws, at once.
    private static func using<Pool, Value>(
        _ pool: Pool, shutdown: (_ cancelPending: Bool) async -> Void, _ body: (Pool) async throws -> Value
    ) async throws -> Value {
        do {
            let value = try await body(pool)
            await shutdown(false)
            return value
        } catch {
            await shutdown(true)
            throw error
        }
    }

    /// Submits `work` for every item, as `executor.submit` in a loop, and awaits the results in order.
    static func map<Item: Sendable, Value: Sendable>(
        _ items: [Item], on pool: ThreadPool, _ work: @escaping @Sendable (Item) throws -> Value
    ) async throws -> [Value] {
        let futures = items.map { item in pool.submit { try work(item) } }
        var values: [Value] = []
        values.reserveCapacity(futures.count)
        for future in futures { values.append(try await future.value) }
        return values
    }

    /// Submits `task` for every input, and awaits the outputs in order.
    static func map<T: ProcessTask>(_ inputs: [T.Input], on pool: ProcessPool, _ task: T.Type) async throws
        -> [T.Output]
    {
        let futures = inputs.map { pool.submit(task, $0) }
        var outputs: [T.Output] = []
        outputs.reserveCapacity(futures.count)
        for future in futures { outputs.append(try await future.value) }
        return outputs
    }
}
