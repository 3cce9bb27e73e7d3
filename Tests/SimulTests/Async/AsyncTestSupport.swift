import Synchronization
import Testing

/// Helpers for the async-helper tests: gates to order events, counters of work in flight, a manual clock.
/// Namespaced so they can't clash with other suites' helpers in the same test module.
enum AsyncTesting {
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

    struct ConditionTimedOut: Error, CustomStringConvertible {
        let what: String
        var description: String { "gave up waiting for: \(what)" }
    }

    /// Waits until `condition` holds, checking every millisecond, and fails after a generous safety limit.
    /// For waiting on state the code under test exposes; never used to order events by time.
    static func waitUntil(
        _ what: String,
        limit: Duration = .seconds(30),
        _ condition: () -> Bool
    ) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: limit)
        while !condition() {
            guard clock.now < deadline else { throw ConditionTimedOut(what: what) }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// A clock that only moves when told to, so timeouts can be tested without real time.
    final class ManualClock: Clock, Sendable {
        struct Instant: InstantProtocol {
            var offset: Duration

            func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
            func duration(to other: Instant) -> Duration { other.offset - offset }
            static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        }

        private struct Sleeper {
            var deadline: Instant
            var continuation: CheckedContinuation<Void, any Error>
        }

        private struct State {
            var now = Instant(offset: .zero)
            var sleepers: [UInt64: Sleeper] = [:]
            var nextID: UInt64 = 0
        }

        private let state = Mutex(State())

        init() {}

        var now: Instant { state.withLock { $0.now } }
        var minimumResolution: Duration { .zero }
        var sleeperCount: Int { state.withLock { $0.sleepers.count } }

        func sleep(until deadline: Instant, tolerance: Duration?) async throws {
            let id = state.withLock { state in
                defer { state.nextID += 1 }
                return state.nextID
            }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let outcome: Result<Void, any Error>? = state.withLock { state in
                        if deadline <= state.now { return .success(()) }
                        if Task.isCancelled { return .failure(CancellationError()) }
                        state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                        return nil
                    }
                    if let outcome { continuation.resume(with: outcome) }
                }
            } onCancel: {
                let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
                sleeper?.continuation.resume(throwing: CancellationError())
            }
        }

        /// Moves time forward and wakes the sleepers whose deadline has come.
        func advance(by duration: Duration) {
            let due = state.withLock { state in
                state.now = state.now.advanced(by: duration)
                let now = state.now
                let due = state.sleepers.filter { $0.value.deadline <= now }
                for id in due.keys { state.sleepers.removeValue(forKey: id) }
                return due.values.map(\.continuation)
            }
            for continuation in due { continuation.resume() }
        }
    }
}
