import Synchronization

/// Wakes everyone waiting for "something changed": new messages, a stored result.
///
/// No wake-up is lost: a caller reads ``generation`` before checking its condition and passes it to
/// ``wait(after:timeout:)``, which returns at once if a change came in between.
package final class ChangeSignal: Sendable {
    private enum Slot {
        case pending
        case woken
        case waiting(CheckedContinuation<Void, Never>)
    }

    private struct State {
        var generation = 0
        var nextID = 0
        var slots: [Int: Slot] = [:]
    }

    private let state = Mutex(State())

    /// Creates a signal with no changes yet.
    package init() {}

    /// The count of changes so far.
    package var generation: Int { state.withLock { $0.generation } }

    /// Records a change and wakes every waiter.
    package func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation += 1
            var waiters: [CheckedContinuation<Void, Never>] = []
            for (id, slot) in state.slots {
                if case .waiting(let continuation) = slot { waiters.append(continuation) }
                state.slots[id] = .woken
            }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until the generation passes `generation`, at most `timeout`, or until the calling task is cancelled.
    package func wait(after generation: Int, timeout: Duration) async {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            state.slots[state.nextID] = state.generation == generation ? .pending : .woken
            return state.nextID
        }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self.wake(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    guard case .pending = state.slots[id] else { return true }
                    state.slots[id] = .waiting(continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            self.wake(id)
        }
        timer.cancel()
        state.withLock { _ = $0.slots.removeValue(forKey: id) }
    }

    private func wake(_ id: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            switch state.slots[id] {
            case .pending:
                state.slots[id] = .woken
            case .waiting(let continuation):
                state.slots[id] = .woken
                return continuation
            case .woken, nil:
                break
            }
            return nil
        }
        waiter?.resume()
    }
}
