import DequeModule

extension AsyncSemaphore {
    /// The semaphore's bookkeeping, free of locks, tasks and time: every method says what to resume, and the
    /// caller does it after unlocking. `Waiter` is a continuation in production and any token in tests.
    ///
    /// Invariant: permits are available only while nobody waits (`permits > 0` implies `waiters.isEmpty`),
    /// because `release()` hands its permit straight to the first waiter.
    struct StateMachine<Waiter> {
        /// A waiter to resume, and how.
        enum Resumption {
            /// Resume the waiter: it now holds a permit.
            case grant(Waiter)
            /// Resume the waiter with `CancellationError`: its task was cancelled before it got a permit.
            case cancel(Waiter)
        }

        /// What `acquire()` should do.
        enum AcquireAction: Equatable {
            /// A permit was taken; return.
            case acquired
            /// No permit is free: suspend, then call `suspended(id:waiter:isCancelled:)` with this id.
            case suspend(id: UInt64)
        }

        private(set) var permits: Int
        private var waiters: Deque<(id: UInt64, waiter: Waiter)> = []
        private var nextID: UInt64 = 0

        init(permits: Int) {
            precondition(permits >= 0, "AsyncSemaphore needs a non-negative value, got \(permits)")
            self.permits = permits
        }

        /// How many acquirers are waiting for a permit.
        var waiterCount: Int { waiters.count }

        /// Takes a permit if one is free.
        mutating func tryAcquire() -> Bool {
            guard permits > 0 else { return false }
            permits -= 1
            return true
        }

        /// Takes a permit if one is free, or reserves an id for a waiter.
        mutating func acquire() -> AcquireAction {
            if tryAcquire() { return .acquired }
            defer { nextID += 1 }
            return .suspend(id: nextID)
        }

        /// Registers a suspended acquirer, unless a permit freed up meanwhile or its task is already cancelled.
        /// - Parameter isCancelled: whether the waiter's task is cancelled, read while the lock is held, so a
        ///   cancellation that `cancelled(id:)` missed because it ran first is seen here.
        /// - Returns: the resumption to perform now, or `nil` if the waiter now waits in line.
        mutating func suspended(id: UInt64, waiter: Waiter, isCancelled: Bool) -> Resumption? {
            if isCancelled { return .cancel(waiter) }
            if tryAcquire() { return .grant(waiter) }
            waiters.append((id, waiter))
            return nil
        }

        /// Removes a waiter whose task was cancelled.
        /// - Returns: the waiter to resume with `CancellationError`, or `nil` if it isn't waiting (it already got a
        ///   permit, or hasn't registered yet and will see the cancellation in `suspended`).
        mutating func cancelled(id: UInt64) -> Waiter? {
            guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return waiters.remove(at: index).waiter
        }

        /// Returns a permit: hands it to the first waiter, or makes it available.
        /// - Returns: the waiter to resume, now holding the permit, or `nil` if nobody was waiting.
        mutating func release() -> Waiter? {
            if let first = waiters.popFirst() { return first.waiter }
            permits += 1
            return nil
        }
    }
}
