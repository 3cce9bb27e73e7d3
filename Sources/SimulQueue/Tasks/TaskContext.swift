public import SimulJSON
import Synchronization

/// What a running task knows about itself: its id, its retries, and whether it has been asked to stop.
///
/// Read it inside a task as `TaskContext.current`. Long tasks call ``checkCancellation()`` now and then: that is how
/// revoking a running task, and the soft time limit, stop them in the `threads` and `async` pools.
///
/// ```swift
/// catalog.register("simul.flaky", parameters: ["n"]) { (n: Int) throws -> Int in
///     let context = TaskContext.current!
///     guard context.retries >= n else { throw context.retry(countdown: 1) }
///     return n
/// }
/// ```
public final class TaskContext: Sendable {
    /// The task id.
    public let id: String
    /// The task name.
    public let name: String
    /// How many times it has been retried.
    public let retries: Int
    /// The worker's name.
    public let hostname: String
    /// A client on the worker's own broker and result backend, for a task that sends tasks of its own (a group, a
    /// chain, a follow-up), as a Celery task calls `delay` on its app. `nil` outside a worker, and in a `processes`
    /// pool's child process, which has no broker connection.
    public let client: QueueClient?
    private let stopReason = Mutex<TaskError?>(nil)
    private let stateWriter: (@Sendable (TaskState, JSONValue) -> Void)?

    /// The context of the task running on this thread or in this task, if any.
    @TaskLocal public static var current: TaskContext?

    /// Creates a context. Its ``updateState(_:meta:)`` throws: only a worker's contexts can store states.
    public init(id: String, name: String, retries: Int, hostname: String) {
        self.id = id
        self.name = name
        self.retries = retries
        self.hostname = hostname
        client = nil
        stateWriter = nil
    }

    /// A worker's context, whose ``updateState(_:meta:)`` calls `stateWriter`.
    init(
        id: String, name: String, retries: Int, hostname: String, client: QueueClient?,
        stateWriter: @escaping @Sendable (TaskState, JSONValue) -> Void
    ) {
        self.id = id
        self.name = name
        self.retries = retries
        self.hostname = hostname
        self.client = client
        self.stateWriter = stateWriter
    }

    /// Stores a state of the task's own, with metadata, while it runs: Celery's `self.update_state(state=…, meta=…)`.
    ///
    /// The result backend gets `{"status": state, "result": meta, …}` as Celery stores it, so Python's
    /// `AsyncResult(id).state` is `"PROGRESS"` and `.info` is `meta`; Simul reads it with ``AsyncResult/state()``
    /// and `simul result`. The write joins the worker's next batch (it does not wait), and a `task-<state>` event
    /// (`task-progress`, with `meta`'s fields, as Celery's `send_event('task-progress', …)`) lets the dashboard and
    /// Flower show it. The result the task returns replaces it.
    ///
    /// ```swift
    /// catalog.register("tasks.crunch", parameters: ["items"]) { (items: [Int]) throws -> Int in
    ///     let context = TaskContext.current!
    ///     for (done, _) in items.enumerated() {
    ///         try context.updateState("PROGRESS", meta: ["current": .integer(Int64(done)), "total": 3])
    ///     }
    ///     return items.count
    /// }
    /// ```
    /// - Parameters:
    ///   - state: any state but Celery's ready ones, which the worker stores when the task ends.
    ///   - meta: what clients read as the result (`.info`) while the state lasts.
    /// - Throws: ``TaskError`` `ValueError` for an empty or a ready state (`SUCCESS`, `FAILURE`, `REVOKED`);
    ///   `RuntimeError` when the task does not run in a worker, as in a ``TaskCatalog/call(_:args:kwargs:)``, which
    ///   has no result backend. In the `processes` pool the state crosses the pipe and the worker stores it.
    public func updateState(_ state: TaskState, meta: JSONValue = .null) throws {
        guard !state.rawValue.isEmpty, !state.isReady else {
            throw TaskError.valueError(
                "updateState takes a state of the task's own, not '\(state)': the worker stores the end state")
        }
        guard let stateWriter else {
            throw TaskError(
                type: "RuntimeError",
                message: "\(name)[\(id)] cannot store the state \(state): only a task run by a worker has a "
                    + "result backend")
        }
        stateWriter(state, meta)
    }

    /// Whether the task has been revoked or has passed its soft time limit.
    public var isCancelled: Bool { stopReason.withLock { $0 != nil } }

    /// Throws the reason the task should stop, if there is one.
    /// - Throws: ``TaskError`` `TaskRevokedError` or `SoftTimeLimitExceeded`.
    public func checkCancellation() throws {
        if let reason = stopReason.withLock({ $0 }) { throw reason }
    }

    /// The error a task throws to run again later.
    /// - Parameters:
    ///   - countdown: seconds before the retry; by default the task's backoff policy decides.
    ///   - maxRetries: overrides the task's limit.
    ///   - cause: the error that made it retry, kept if the retries run out.
    public func retry(countdown: Double? = nil, maxRetries: Int? = nil, cause: (any Error)? = nil) -> RetryRequest {
        RetryRequest(countdown: countdown, maxRetries: maxRetries, cause: cause.map(TaskError.from))
    }

    func stop(_ reason: TaskError) {
        stopReason.withLock { if $0 == nil { $0 = reason } }
    }
}

/// Thrown by a task to be retried: ``TaskContext/retry(countdown:maxRetries:cause:)`` makes one.
public struct RetryRequest: Error, Sendable {
    /// Seconds before the retry, or `nil` for the task's backoff.
    public var countdown: Double?
    /// Overrides the task's retry limit.
    public var maxRetries: Int?
    /// Why it retries.
    public var cause: TaskError?
}
