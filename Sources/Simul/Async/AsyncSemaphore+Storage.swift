import Synchronization

extension AsyncSemaphore {
    /// Holds the state machine behind a lock and resumes continuations after unlocking.
    final class Storage: Sendable {
        private let state: Mutex<StateMachine<CheckedContinuation<Void, any Error>>>

        init(permits: Int) {
            state = Mutex(StateMachine(permits: permits))
        }

        var availablePermits: Int { state.withLock { $0.permits } }

        var waiterCount: Int { state.withLock { $0.waiterCount } }

        func tryAcquire() -> Bool {
            state.withLock { $0.tryAcquire() }
        }

        func acquire() async throws {
            try Task.checkCancellation()
            guard case .suspend(let id) = state.withLock({ $0.acquire() }) else { return }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let resumption = state.withLock {
                        $0.suspended(id: id, waiter: continuation, isCancelled: Task.isCancelled)
                    }
                    switch resumption {
                    case .grant(let waiter): waiter.resume()
                    case .cancel(let waiter): waiter.resume(throwing: CancellationError())
                    case nil: break
                    }
                }
            } onCancel: {
                state.withLock { $0.cancelled(id: id) }?.resume(throwing: CancellationError())
            }
            // The task was cancelled while (or just after) the permit was handed over: the caller will see
            // CancellationError, so pass the permit on rather than lose it (CPython gh-90155).
            if Task.isCancelled {
                release()
                throw CancellationError()
            }
        }

        func release() {
            state.withLock { $0.release() }?.resume()
        }
    }
}
