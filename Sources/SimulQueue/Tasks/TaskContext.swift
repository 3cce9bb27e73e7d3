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
    private let stopReason = Mutex<TaskError?>(nil)

    /// The context of the task running on this thread or in this task, if any.
    @TaskLocal public static var current: TaskContext?

    /// Creates a context.
    public init(id: String, name: String, retries: Int, hostname: String) {
        self.id = id
        self.name = name
        self.retries = retries
        self.hostname = hostname
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
