import Synchronization
import Testing

// Helpers for the async-helper tests: gates to order events, counters of work in flight, recorders.

/// A latch: `wait()` suspends until `open()` is called, or throws `CancellationError` if the task is cancelled
/// first. A gate that is never opened is an operation that runs until it is cancelled.
final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    init() {}

    var isOpen: Bool { state.withLock { $0.isOpen } }
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    func open() {
        let waiters = state.withLock { state in
            state.isOpen = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if state.isOpen { return .success(()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }
}

/// Counts operations in flight and remembers the most seen at once.
final class InFlight: Sendable {
    private let state = Mutex((current: 0, maximum: 0))

    init() {}

    var current: Int { state.withLock { $0.current } }
    var maximum: Int { state.withLock { $0.maximum } }

    func enter() {
        state.withLock { state in
            state.current += 1
            state.maximum = max(state.maximum, state.current)
        }
    }

    func leave() {
        state.withLock { $0.current -= 1 }
    }
}

/// A thread-safe list of events, in the order they were recorded.
final class Recorder<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])

    init() {}

    var all: [Value] { values.withLock { $0 } }

    func record(_ value: Value) {
        values.withLock { $0.append(value) }
    }
}

/// An error with a message, to check that helpers rethrow the original error unchanged.
struct ExampleError: Error, Equatable, CustomStringConvertible {
    let message: String
    var description: String { "ExampleError: \(message)" }
}

/// Runs until the task is cancelled, then calls `onCancel` with the error and rethrows it: an operation that only
/// cancellation ends.
func runUntilCancelled(onCancel: (any Error) -> Void) async throws {
    do {
        try await Gate().wait()
    } catch {
        onCancel(error)
        throw error
    }
}
