package import Foundation
import Simul
import Synchronization

/// Wakes everyone waiting for "something changed": new messages, a stored result.
///
/// No wake-up is lost: a caller reads ``generation`` before checking its condition and passes it to
/// ``wait(after:until:on:)``, which returns at once if a change came in between.
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

    /// Waits until the generation passes `generation`, at most `timeout` on `clock`, or until the calling task is
    /// cancelled.
    package func wait(after generation: Int, timeout: Duration, on clock: any QueueClock = .system) async {
        await wait(after: generation, until: clock.now.addingTimeInterval(timeout.seconds), on: clock)
    }

    /// Waits until the generation passes `generation`, or the calling task is cancelled.
    package func wait(after generation: Int) async {
        await wait(after: generation, until: nil, on: .system)
    }

    /// Waits until the generation passes `generation`, until `deadline` on `clock` (no longer than that when it is
    /// not `nil`), or until the calling task is cancelled.
    package func wait(after generation: Int, until deadline: Date?, on clock: any QueueClock) async {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            state.slots[state.nextID] = state.generation == generation ? .pending : .woken
            return state.nextID
        }
        let timer = deadline.map { deadline in
            Task {
                guard (try? await clock.sleep(until: deadline)) != nil else { return }
                self.wake(id)
            }
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
        timer?.cancel()
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
