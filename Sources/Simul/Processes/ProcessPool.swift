import CSimulShims
package import Foundation
import Synchronization
public import Logging

/// A pool of worker processes that run registered ``ProcessTask``s: Python's `ProcessPoolExecutor`, without its
/// worst failure mode.
///
/// Workers are this same binary re-executed (never a bare `fork`), and talk to the pool over pipes in
/// length-prefixed frames. A task that traps, segfaults or calls `exit` fails only its own future with
/// ``ProcessPoolError``; the worker is respawned and every other future is untouched.
///
/// ```swift
/// let pool = ProcessPool()
/// let lpf = try await pool.run(LeastPrimeFactor.self, 72_057_596_722_278_677)
/// for try await square in pool.map(Square.self, 0..<1_000_000, chunkSize: 1000) { total += square }
/// await pool.shutdown()
/// ```
///
/// The program must call ``TaskRegistry/runWorkerIfRequested()`` at the start of `main`. Creating a pool makes
/// the process ignore SIGPIPE, so a write to a dead worker returns an error instead of killing the program.
public final class ProcessPool: Sendable {
    private let core: Core

    /// The configuration the pool was created with.
    public var configuration: ProcessPoolConfiguration { core.configuration }

    /// Creates a pool; workers start as work arrives.
    /// - Parameters:
    ///   - configuration: sizes, limits and policies.
    ///   - logger: where respawns and crashes are reported.
    public init(_ configuration: ProcessPoolConfiguration = .init(), logger: Logger = Logger(label: "simul.pool")) {
        precondition(configuration.maxWorkers >= 1, "a ProcessPool needs at least one worker")
        simul_ignore_sigpipe()
        core = Core(configuration: configuration, logger: logger)
    }

    deinit { core.beginShutdown(cancelPending: true) }

    /// Runs `task` in a worker and returns its future.
    ///
    /// The future counts as running once it is sent to a worker, as in Python, so ``Future/cancel()`` works only
    /// before that.
    public func submit<T: ProcessTask>(_ task: T.Type, _ input: T.Input) -> Future<T.Output> {
        submitItem(task, input).0
    }

    /// Runs `task` in a worker and awaits its output.
    ///
    /// Cancelling the calling task drops the work if it has not been sent, and otherwise kills its worker (which is
    /// respawned) and throws `CancellationError`.
    /// - Throws: ``ProcessPoolError`` when the task fails, crashes or times out.
    public func run<T: ProcessTask>(_ task: T.Type, _ input: T.Input) async throws -> T.Output {
        try await run(task, input, updates: nil)
    }

    /// Runs `task` in a worker as ``run(_:_:)`` does, and calls `updates` with each message the task sends through
    /// ``ProcessTaskUpdates`` while it runs, in order and before the output arrives, on the pool's thread.
    package func run<T: ProcessTask>(
        _ task: T.Type, _ input: T.Input, updates: (@Sendable (Data) -> Void)?
    ) async throws -> T.Output {
        let (future, item) = submitEncoded(T.name, T.Output.self, chunk: false, updates: updates) {
            try PoolCodec.encode(input)
        }
        return try await withTaskCancellationHandler {
            try await future.value
        } onCancel: {
            if !future.cancel(), let item { core.cancelRunning(item) }
        }
    }

    /// Runs `task` over `inputs`, sending `chunkSize` inputs per message, and yields the outputs.
    ///
    /// One failing input fails its whole chunk, as in Python. The map is lazy: at most `maxInFlight` chunks are
    /// sent ahead of the consumer.
    /// - Parameters:
    ///   - task: the task to run.
    ///   - inputs: the inputs.
    ///   - chunkSize: inputs per message; larger chunks amortise the round trip for small tasks.
    ///   - ordered: yield in input order, or as chunks complete (`imap_unordered`).
    ///   - maxInFlight: chunks submitted ahead of the consumer; defaults to four per worker.
    @inlinable  // specialised at the call site, building chunks costs a few nanoseconds per input
    public func map<T: ProcessTask, Inputs: Sequence & Sendable>(
        _ task: T.Type,
        _ inputs: Inputs,
        chunkSize: Int = 1,
        ordered: Bool = true,
        maxInFlight: Int? = nil
    ) -> MapResults<T.Output> where Inputs.Element == T.Input {
        precondition(chunkSize >= 1, "chunkSize must be at least 1")
        return MapResults(maxInFlight: maxInFlight ?? 4 * configuration.maxWorkers, ordered: ordered) {
            var iterator = inputs.makeIterator()
            return {
                var chunk: [T.Input] = []
                chunk.reserveCapacity(chunkSize)
                while chunk.count < chunkSize, let input = iterator.next() { chunk.append(input) }
                guard !chunk.isEmpty else { return nil }
                return self.submitChunk(task, chunk)
            }
        }
    }

    @usableFromInline
    func submitChunk<T: ProcessTask>(_ task: T.Type, _ chunk: [T.Input]) -> Future<[T.Output]> {
        submitEncoded(T.name, [T.Output].self, chunk: true, updates: nil) { try PoolCodec.encode(chunk) }.future
    }

    /// The pids of the worker processes running now, in increasing order.
    public var workerPIDs: [Int32] { core.workerPIDs }

    /// Replaces every worker process with a fresh one, as Celery's `pool_restart` does: a worker takes no new task
    /// from now on, finishes the ones it has, and exits; the next task starts a fresh worker from the executable as
    /// it is on disk now. Nothing queued or running is lost or run twice.
    public func restart() {
        core.restart()
    }

    /// Stops taking work, lets the queued work finish (or cancels it), and stops every worker: input closed, then
    /// SIGTERM, then SIGKILL after ``ProcessPoolConfiguration/shutdownGrace``, and every process reaped.
    /// - Parameter cancelPending: cancel the work no worker has started.
    public func shutdown(cancelPending: Bool = false) async {
        core.beginShutdown(cancelPending: cancelPending)
        await core.waitForSlots()
    }

    private func submitItem<T: ProcessTask>(_ task: T.Type, _ input: T.Input) -> (Future<T.Output>, Item?) {
        submitEncoded(T.name, T.Output.self, chunk: false, updates: nil) { try PoolCodec.encode(input) }
    }

    private func submitEncoded<Output: Decodable & Sendable>(
        _ name: String, _ output: Output.Type, chunk: Bool, updates: (@Sendable (Data) -> Void)?,
        encode: () throws -> Data
    ) -> (future: Future<Output>, item: Item?) {
        let body: Data
        do {
            body = try encode()
        } catch {
            return (Future(finished: .failure(ProcessPoolError.encoding(task: name, message: "\(error)"))), nil)
        }
        let future = Future<Output>()
        let item = Item(
            name: name, body: body, chunk: chunk,
            start: { future.markRunning() },
            update: updates,
            finish: { result in
                future.complete(
                    with: result.flatMap { data in
                        do {
                            return .success(try PoolCodec.decode(Output.self, from: data))
                        } catch {
                            let reason = "output of '\(name)' is not a \(Output.self): \(DecodingError.describe(error))"
                            return .failure(ProcessPoolError.decoding(task: name, message: reason))
                        }
                    }
                )
            },
            cancel: { future.cancel() }
        )
        core.submit(item)
        return (future, item)
    }
}

extension ProcessPool {
    /// One submission: the encoded call, and how to settle its future.
    final class Item: Sendable {
        let id: UInt64
        let name: String
        let body: Data
        let chunk: Bool
        /// Moves the future to running; false if it was cancelled.
        let start: @Sendable () -> Bool
        /// Takes what the task sends while it runs.
        let update: (@Sendable (Data) -> Void)?
        let finish: @Sendable (Result<Data, any Error>) -> Void
        let cancel: @Sendable () -> Void
        /// Sent to a worker at least once; a requeued item is not started again.
        let wasStarted = Atomic(false)
        /// Its caller gave up while it was running; the worker running it is killed.
        let cancelRequested = Atomic(false)

        private static let ids = Atomic<UInt64>(0)

        init(
            name: String, body: Data, chunk: Bool, start: @escaping @Sendable () -> Bool,
            update: (@Sendable (Data) -> Void)?, finish: @escaping @Sendable (Result<Data, any Error>) -> Void,
            cancel: @escaping @Sendable () -> Void
        ) {
            id = Self.ids.add(1, ordering: .relaxed).newValue
            self.name = name
            self.body = body
            self.chunk = chunk
            self.start = start
            self.update = update
            self.finish = finish
            self.cancel = cancel
        }
    }
}
