/// A counting semaphore that suspends tasks instead of blocking threads, like `asyncio.Semaphore`.
///
/// Use it to bound how many tasks do something at once, for example requests to one host:
///
/// ```swift
/// let connections = AsyncSemaphore(value: 8)
/// try await withThrowingTaskGroup(of: Void.self) { group in
///     for url in urls {
///         group.addTask {
///             try await connections.withPermit { try await download(url) }
///         }
///     }
///     try await group.waitForAll()
/// }
/// ```
///
/// Waiters are served first in, first out. Cancellation is safe: a task cancelled while it waits leaves the line
/// and throws `CancellationError`, and if the cancellation races a permit being handed to it, the permit goes to
/// the next waiter instead of being lost (the bug CPython fixed in gh-90155). Like `asyncio.Semaphore`, and unlike
/// `BoundedSemaphore`, `release()` may raise the count above the initial value.
public final class AsyncSemaphore: Sendable {
    let storage: Storage

    /// Creates a semaphore.
    /// - Parameter value: the number of permits available at first; must not be negative.
    public init(value: Int) {
        precondition(value >= 0, "AsyncSemaphore(value:) needs a non-negative value, got \(value)")
        storage = Storage(permits: value)
    }

    /// The number of permits that can be acquired right now without waiting.
    public var availablePermits: Int { storage.availablePermits }

    /// The number of tasks waiting for a permit.
    var waiterCount: Int { storage.waiterCount }

    /// Takes a permit, waiting in line until one is free.
    ///
    /// Every successful `acquire()` must be balanced by one `release()`; ``withPermit(isolation:_:)`` does it for you.
    /// - Throws: `CancellationError` if the task is cancelled before it holds a permit; it then holds none.
    public func acquire() async throws {
        try await storage.acquire()
    }

    /// Takes a permit if one is free right now, without waiting.
    /// - Returns: `true` if the caller now holds a permit, `false` if none was free.
    public func tryAcquire() -> Bool {
        storage.tryAcquire()
    }

    /// Returns a permit, waking the task that has waited longest, if any.
    public func release() {
        storage.release()
    }

    /// Runs `body` while holding a permit, and returns the permit afterwards, even if `body` throws.
    ///
    /// ```swift
    /// let page = try await semaphore.withPermit { try await fetch(url) }
    /// ```
    /// - Parameters:
    ///   - isolation: the actor `body` runs on; the caller's, by default.
    ///   - body: the work to do while holding the permit.
    /// - Returns: what `body` returns.
    /// - Throws: `CancellationError` if the task is cancelled while waiting for the permit (`body` then doesn't
    ///   run), or the error `body` throws.
    public func withPermit<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> T
    ) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }
}
