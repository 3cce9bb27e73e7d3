import Dispatch
import Synchronization

/// Where a ``Future`` is in its life: `pending → running → finished`, or `pending → cancelled`.
public enum FutureState: Sendable, Hashable {
    /// Submitted, not started yet; ``Future/cancel()`` still works.
    case pending
    /// Started by its executor; it can no longer be cancelled.
    case running
    /// Cancelled before it started.
    case cancelled
    /// Done, with a value or an error.
    case finished
}

/// The eventual result of work submitted to a ``ThreadPool`` or a ``ProcessPool``: Python's
/// `concurrent.futures.Future` as a `Sendable` reference type.
///
/// A future can be waited on from synchronous code with ``result(timeout:)`` and from async code with
/// ``value``. Awaiting a future never cancels it; ``cancel()`` does, but only while it is still pending, as in
/// Python.
///
/// ```swift
/// let pool = ThreadPool()
/// let future = pool.submit { expensiveComputation() }
/// future.onCompletion { result in print("done:", result) }
/// let value = try await future.value
/// ```
public final class Future<Value: Sendable>: Sendable, Hashable {
    /// The closure type of ``onCompletion(_:)`` callbacks.
    public typealias Callback = @Sendable (Result<Value, any Error>) -> Void

    // The state machine is not generic: generic code that is not specialised (every call from another module)
    // would look up the metadata of its nested types on each call, which costs more than the work itself.
    @usableFromInline let core: FutureCore

    /// Creates a pending future; executors complete it with ``complete(with:)``.
    @usableFromInline package init() { core = FutureCore() }

    /// Creates a future that is already finished with `result`.
    package init(finished result: Result<Value, any Error>) {
        core = FutureCore()
        core.complete(with: result.map { $0 })
    }

    /// The current state.
    public var state: FutureState { core.state }

    /// Whether the future is finished or cancelled (Python's `done()`).
    public var isDone: Bool {
        let state = core.state
        return state == .finished || state == .cancelled
    }

    /// Cancels the work if it has not started.
    ///
    /// - Returns: `true` if the future is now cancelled (including when it already was), `false` if it is running
    ///   or finished, as Python's `Future.cancel()`.
    @discardableResult
    public func cancel() -> Bool { core.cancel() }

    /// Waits for the future and returns its value, blocking the calling thread.
    ///
    /// - Parameter timeout: how long to wait; `nil` waits for ever.
    /// - Returns: the value the work produced.
    /// - Throws: the error the work threw, `CancellationError` if the future was cancelled, or ``TimeoutError`` if
    ///   `timeout` passed first (the work goes on).
    @available(*, noasync, message: "use 'try await future.value' in async code")
    public func result(timeout: Duration? = nil) throws -> Value {
        try Self.typed(core.result(timeout: timeout)).get()
    }

    /// The value, awaited without blocking a thread.
    ///
    /// If the awaiting task is cancelled, this throws `CancellationError` but leaves the future's work alone;
    /// call ``cancel()`` to cancel the work itself.
    /// - Throws: the error the work threw, or `CancellationError`.
    @inlinable
    public var value: Value {
        get async throws { try await outcome.get() }
    }

    /// The outcome, awaited without blocking a thread; `CancellationError` if the awaiting task is cancelled.
    @inlinable
    public var outcome: Result<Value, any Error> {
        get async { Self.typed(await core.outcome) }
    }

    /// Calls `callback` with the outcome once the future is finished or cancelled.
    ///
    /// If the future is already done, the callback runs at once on the calling thread; otherwise it runs on the
    /// thread that completes the future, after callbacks added earlier. A cancelled future reports
    /// `CancellationError`.
    public func onCompletion(_ callback: @escaping Callback) {
        core.onCompletion { callback(Self.typed($0)) }
    }

    /// Moves a pending future to running; Python's `set_running_or_notify_cancel()`.
    /// - Returns: `false` if the future was cancelled, in which case the executor must skip the work.
    @inlinable package func markRunning() -> Bool { core.markRunning() }

    /// Finishes the future with `result`, waking every waiter and running the callbacks.
    /// - Returns: `false` if the future was already done (a cancelled future ignores its late result).
    @discardableResult
    @inlinable package func complete(with result: Result<Value, any Error>) -> Bool {
        core.complete(with: result.map { $0 })
    }

    @usableFromInline static func typed(_ outcome: Result<any Sendable, any Error>) -> Result<Value, any Error> {
        outcome.map { $0 as! Value }
    }

    public static func == (lhs: Future, rhs: Future) -> Bool { lhs === rhs }

    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// The type-erased state of a ``Future``: its state, outcome, waiters and callbacks.
@usableFromInline
final class FutureCore: Sendable {
    @usableFromInline typealias Outcome = Result<any Sendable, any Error>
    typealias Callback = @Sendable (Outcome) -> Void

    private struct Storage {
        var state: FutureState = .pending
        var outcome: Outcome?
        var callbacks: [Callback] = []
        var waiters: [Int: CheckedContinuation<Outcome, Never>] = [:]
        var gates: [Int: DispatchSemaphore] = [:]
        var nextWaiter = 0
    }

    /// Everything to wake once a future has an outcome, taken out of the lock.
    private struct Settled {
        var callbacks: [Callback]
        var waiters: [CheckedContinuation<Outcome, Never>]
        var gates: [DispatchSemaphore]

        init(taking storage: inout Storage) {
            callbacks = storage.callbacks
            waiters = storage.waiters.sorted { $0.key < $1.key }.map(\.value)
            gates = Array(storage.gates.values)
            storage.callbacks = []
            storage.waiters = [:]
            storage.gates = [:]
        }

        var isEmpty: Bool { callbacks.isEmpty && waiters.isEmpty && gates.isEmpty }

        func run(with outcome: Outcome) {
            for gate in gates { gate.signal() }
            for waiter in waiters { waiter.resume(returning: outcome) }
            for callback in callbacks { callback(outcome) }
        }
    }

    private let storage = Mutex(Storage())

    var state: FutureState { storage.withLock { $0.state } }

    func cancel() -> Bool {
        let (cancelled, settled) = storage.withLock { storage -> (Bool, Settled?) in
            switch storage.state {
            case .cancelled: return (true, nil)
            case .running, .finished: return (false, nil)
            case .pending:
                storage.state = .cancelled
                storage.outcome = .failure(CancellationError())
                return (true, Settled(taking: &storage))
            }
        }
        settled?.run(with: .failure(CancellationError()))
        return cancelled
    }

    @usableFromInline func markRunning() -> Bool {
        storage.withLock { storage in
            switch storage.state {
            case .pending:
                storage.state = .running
                return true
            case .cancelled: return false
            case .running, .finished: preconditionFailure("a future was started twice")
            }
        }
    }

    @discardableResult
    @usableFromInline func complete(with outcome: Outcome) -> Bool {
        let settled = storage.withLock { storage -> Settled? in
            guard storage.outcome == nil else { return nil }
            storage.state = .finished
            storage.outcome = outcome
            return Settled(taking: &storage)
        }
        guard let settled else { return false }
        if !settled.isEmpty { settled.run(with: outcome) }
        return true
    }

    func onCompletion(_ callback: @escaping Callback) {
        let outcome = storage.withLock { storage -> Outcome? in
            if storage.outcome == nil { storage.callbacks.append(callback) }
            return storage.outcome
        }
        if let outcome { callback(outcome) }
    }

    func result(timeout: Duration?) throws(TimeoutError) -> Outcome {
        let (outcome, gate) = storage.withLock { storage -> (Outcome?, (Int, DispatchSemaphore)?) in
            if let outcome = storage.outcome { return (outcome, nil) }
            let id = storage.nextWaiter
            storage.nextWaiter += 1
            let semaphore = DispatchSemaphore(value: 0)
            storage.gates[id] = semaphore
            return (nil, (id, semaphore))
        }
        if let outcome { return outcome }
        guard let (id, semaphore) = gate else { preconditionFailure("a pending future has a gate") }
        guard let timeout else {
            semaphore.wait()
            return storage.withLock { $0.outcome! }
        }
        let nanoseconds = Int(min(max(0, timeout.seconds * 1e9), 1e17))
        _ = semaphore.wait(timeout: .now() + .nanoseconds(nanoseconds))
        let late = storage.withLock { storage in
            storage.gates[id] = nil
            return storage.outcome
        }
        guard let late else { throw TimeoutError(timeout: timeout, detail: "future unfinished") }
        return late
    }

    @usableFromInline var outcome: Outcome {
        get async {
            if let outcome = storage.withLock({ $0.outcome }) { return outcome }
            let id = storage.withLock { storage in
                defer { storage.nextWaiter += 1 }
                return storage.nextWaiter
            }
            return await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = storage.withLock { storage -> Outcome? in
                        if let outcome = storage.outcome { return outcome }
                        if Task.isCancelled { return .failure(CancellationError()) }
                        storage.waiters[id] = continuation
                        return nil
                    }
                    if let ready { continuation.resume(returning: ready) }
                }
            } onCancel: {
                storage.withLock { $0.waiters.removeValue(forKey: id) }?
                    .resume(returning: .failure(CancellationError()))
            }
        }
    }
}
