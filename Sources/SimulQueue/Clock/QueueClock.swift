public import Foundation
import Simul
import Synchronization

/// The queue's one time source: workers, beats and the memory broker read the time and wait on it, so a test can
/// run them on a ``ManualClock`` and never sleep.
///
/// Time is wall-clock time, a `Date`, because that is what ETAs, expiries, leases and Celery's timestamps are.
public protocol QueueClock: Sendable {
    /// The time now.
    var now: Date { get }

    /// Returns at `deadline`, or at once if it has passed.
    /// - Throws: `CancellationError` when the calling task is cancelled first.
    func sleep(until deadline: Date) async throws
}

extension QueueClock {
    /// Returns after `duration`.
    /// - Throws: `CancellationError` when the calling task is cancelled first.
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: now.addingTimeInterval(duration.seconds))
    }
}

/// The system's clock: `Date()` and `Task.sleep`.
public struct SystemClock: QueueClock {
    /// The system's clock.
    public init() {}

    public var now: Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let wait = deadline.timeIntervalSinceNow
        if wait > 0 { try await Task.sleep(for: .seconds(wait)) } else { try Task.checkCancellation() }
    }
}

extension QueueClock where Self == SystemClock {
    /// The system's clock.
    public static var system: SystemClock { SystemClock() }
}

/// A clock that moves only when told: ``advance(by:)`` wakes every sleeper whose deadline it passes, in deadline
/// order. Tests of ETAs, leases, retries, rate limits and beats run on it without waiting.
///
/// ```swift
/// let clock = ManualClock()
/// let worker = Worker(catalog: catalog, broker: broker, backend: broker, clock: clock)
/// await clock.waitForSleepers(3)           // the worker is idle, waiting on its timers
/// clock.advance(by: .seconds(60))          // an ETA a minute away is due now
/// ```
public final class ManualClock: QueueClock {
    private struct Sleeper {
        let deadline: Date
        var continuation: CheckedContinuation<Void, any Error>?
    }

    private struct State {
        var now: Date
        var sleepers: [Int: Sleeper] = [:]
        var nextID = 0
        var sleeperWatchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state: Mutex<State>

    /// A clock that reads `start` until it is advanced.
    public init(_ start: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        state = Mutex(State(now: start))
    }

    public var now: Date { state.withLock { $0.now } }

    /// How many tasks sleep on the clock now.
    public var sleepers: Int { state.withLock { $0.sleepers.count } }

    /// Moves the clock on by `duration`, and wakes the sleepers whose deadline is now past.
    public func advance(by duration: Duration) {
        advance(to: now.addingTimeInterval(duration.seconds))
    }

    /// Moves the clock to `date` (never back), and wakes the sleepers whose deadline is now past.
    public func advance(to date: Date) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = max(state.now, date)
            let due = state.sleepers.filter { $0.value.deadline <= state.now }.sorted {
                $0.value.deadline < $1.value.deadline
            }
            for (id, _) in due { state.sleepers[id] = nil }
            return due.compactMap(\.value.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns once at least `count` tasks sleep on the clock: a test waits for the code under test to be idle
    /// before it moves time.
    public func waitForSleepers(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                guard state.sleepers.count < count else { return true }
                state.sleeperWatchers.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    public func sleep(until deadline: Date) async throws {
        let id = state.withLock { state -> Int? in
            guard deadline > state.now else { return nil }
            defer { state.nextID += 1 }
            state.sleepers[state.nextID] = Sleeper(deadline: deadline)
            return state.nextID
        }
        guard let id else { return try Task.checkCancellation() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (asleep, watchers) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                    guard state.sleepers[id] != nil else { return (false, []) }
                    state.sleepers[id]?.continuation = continuation
                    let count = state.sleepers.count
                    let ready = state.sleeperWatchers.filter { $0.count <= count }.map(\.continuation)
                    state.sleeperWatchers.removeAll { $0.count <= count }
                    return (true, ready)
                }
                for watcher in watchers { watcher.resume() }
                if !asleep { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { $0.sleepers.removeValue(forKey: id)?.continuation }
            continuation?.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }
}
