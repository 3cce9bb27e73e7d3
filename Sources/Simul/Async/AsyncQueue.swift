/// A first-in, first-out queue for many producer and many consumer tasks, optionally bounded, like `asyncio.Queue`
/// with Python 3.13's `shutdown`.
///
/// A bounded queue gives backpressure: `put` waits while the queue is full, and `get` waits while it is empty.
///
/// ```swift
/// let queue = AsyncQueue<URL>(maxSize: 100)
/// try await withThrowingTaskGroup(of: Void.self) { group in
///     for _ in 0..<4 {
///         group.addTask {
///             for await url in queue { try await download(url) }  // ends after shutdown, once drained
///         }
///     }
///     for url in urls { try await queue.put(url) }
///     queue.shutdown()
///     try await group.waitForAll()
/// }
/// ```
///
/// Waiting producers and consumers are served first in, first out. A waiting producer's element enters the queue
/// in its turn as soon as there is room. Cancellation is safe: a task cancelled while it waits leaves the line and
/// throws `CancellationError`; a cancelled producer's element is not added. No element is lost when cancellation
/// races a hand-off: if the element was already given to a waiting consumer, `get()` returns it despite the
/// cancellation, and if a producer's element was already accepted, `put(_:)` returns normally.
///
/// Unlike `asyncio.Queue` there is no `task_done()`/`join()`; use a task group to wait for consumers.
public final class AsyncQueue<Element: Sendable>: Sendable {
    let storage: Storage

    /// The most elements the queue holds; 0 means unbounded.
    public let maxSize: Int

    /// Creates an empty queue.
    /// - Parameter maxSize: the most elements the queue holds before `put` waits; 0 (the default) means unbounded.
    ///   Must not be negative.
    public init(maxSize: Int = 0) {
        precondition(maxSize >= 0, "AsyncQueue(maxSize:) needs maxSize >= 0 (0 means unbounded), got \(maxSize)")
        self.maxSize = maxSize
        storage = Storage(maxSize: maxSize)
    }

    /// The number of elements in the queue right now (Python's `qsize()`); elements of waiting producers don't count.
    public var count: Int { storage.count }

    /// The number of consumers waiting in `get()`.
    var waitingConsumerCount: Int { storage.waitingConsumerCount }

    /// The number of producers waiting in `put(_:)`.
    var waitingProducerCount: Int { storage.waitingProducerCount }

    /// Adds an element at the back, waiting while the queue is full.
    ///
    /// If a consumer is waiting, the element goes straight to the one that has waited longest.
    /// - Parameter element: the element to add.
    /// - Throws: ``AsyncQueueError/shutDown`` if the queue is or gets shut down before the element is accepted;
    ///   `CancellationError` if the task is cancelled before the element is accepted (it is then not added).
    public func put(_ element: Element) async throws {
        try await storage.put(element)
    }

    /// Adds an element at the back if there is room right now (Python's `put_nowait`).
    /// - Parameter element: the element to add.
    /// - Throws: ``AsyncQueueError/full`` if the queue is full (also while earlier producers wait), or
    ///   ``AsyncQueueError/shutDown`` if it is shut down.
    public func tryPut(_ element: Element) throws(AsyncQueueError) {
        try storage.tryPut(element)
    }

    /// Removes and returns the element at the front, waiting while the queue is empty.
    /// - Returns: the oldest element.
    /// - Throws: ``AsyncQueueError/shutDown`` once the queue is shut down and empty; `CancellationError` if the task
    ///   is cancelled before an element is handed to it.
    public func get() async throws -> Element {
        try await storage.get()
    }

    /// Removes and returns the element at the front if there is one right now (Python's `get_nowait`).
    /// - Returns: the oldest element, or `nil` if the queue is empty (whether or not it is shut down).
    public func tryGet() -> Element? {
        storage.tryGet()
    }

    /// Shuts the queue down, as Python 3.13's `Queue.shutdown`.
    ///
    /// Afterwards `put` throws ``AsyncQueueError/shutDown``, and so do waiting producers, whose elements are not
    /// added. `get` keeps returning the elements already in the queue, then throws ``AsyncQueueError/shutDown``;
    /// iteration ends at that point. Calling it again is harmless, and `immediate` can still drop what is left.
    /// - Parameter immediate: if `true`, also drop the elements in the queue, so every `get` throws at once.
    public func shutdown(immediate: Bool = false) {
        storage.shutdown(immediate: immediate)
    }
}

extension AsyncQueue: AsyncSequence {
    /// Removes elements from the queue as they arrive; several iterators may share one queue, each element going
    /// to one of them.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let storage: Storage
        var isFinished = false

        /// Waits for and removes the next element.
        /// - Returns: the element, or `nil` once the queue is shut down and drained, or the task is cancelled.
        public mutating func next() async -> Element? {
            await next(isolation: nil)
        }

        /// Waits for and removes the next element.
        /// - Parameter actor: the caller's isolation; unused, since the element is `Sendable`.
        /// - Returns: the element, or `nil` once the queue is shut down and drained, or the task is cancelled.
        public mutating func next(isolation actor: isolated (any Actor)?) async -> Element? {
            guard !isFinished else { return nil }
            do {
                return try await storage.get()
            } catch {
                isFinished = true
                return nil
            }
        }
    }

    /// Makes an iterator that removes elements until the queue is shut down and drained, or the iterating task is
    /// cancelled.
    /// - Returns: a new iterator over this queue.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(storage: storage)
    }
}
