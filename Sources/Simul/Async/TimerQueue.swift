import Foundation
import HeapModule

/// Sleeps for very many tasks at once, coalesced into ticks served by one thread: asyncio's `call_later` heap,
/// for Swift.
///
/// `Task.sleep` arms one system timer per call, which costs microseconds each: with 100,000 sleepers that is a
/// third of a second of overhead. `TimerQueue` files each sleeper under its deadline's tick (one millisecond by
/// default), and one thread wakes once per tick that has sleepers and resumes them all.
///
/// ```swift
/// try await gatherAll((0..<100_000).map { _ in { try await TimerQueue.shared.sleep(for: .seconds(1)) } })
/// ```
///
/// A sleeper wakes at its deadline rounded up to the next tick, never early.
public final class TimerQueue: Sendable {
    /// A queue with one-millisecond ticks, shared by the whole process.
    public static let shared = TimerQueue()

    private let core: Core

    /// Creates a queue and its thread.
    /// - Parameter resolution: the tick; deadlines are rounded up to it.
    public init(resolution: Duration = .milliseconds(1)) {
        precondition(resolution > .zero, "a timer queue needs a positive resolution")
        core = Core(resolution: resolution)
        let thread = Thread { [core] in core.serve() }
        thread.name = "simul-timers"
        thread.start()
    }

    deinit { core.stop() }

    /// Suspends the calling task for `duration`.
    /// - Throws: `CancellationError` if the task is cancelled first; it then returns at once.
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: .now + duration)
    }

    /// Suspends the calling task until `deadline`.
    /// - Throws: `CancellationError` if the task is cancelled first; it then returns at once.
    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        let id = core.nextID()
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                core.add(id: id, deadline: deadline, continuation)
            }
        } onCancel: {
            core.cancel(id: id)
        }
    }
}

extension TimerQueue {
    final class Core: @unchecked Sendable {
        // @unchecked: every mutable field is guarded by `lock`.
        typealias Sleeper = UnsafeContinuation<Void, any Error>

        private let resolution: Duration
        private let origin = ContinuousClock.now
        private let lock = ConditionLock()
        private var sleepers: [UInt64: Sleeper] = [:]
        private var ticks: [Int64: [UInt64]] = [:]
        /// The ticks that have sleepers, earliest first.
        private var schedule = Heap<Int64>()
        private var cancelled: Set<UInt64> = []
        private var lastID: UInt64 = 0
        private var stopped = false

        init(resolution: Duration) { self.resolution = resolution }

        func nextID() -> UInt64 {
            lock.withLock {
                lastID += 1
                return lastID
            }
        }

        func add(id: UInt64, deadline: ContinuousClock.Instant, _ sleeper: Sleeper) {
            let tick = self.tick(of: deadline)
            lock.lock()
            if cancelled.remove(id) != nil {
                lock.unlock()
                sleeper.resume(throwing: CancellationError())
                return
            }
            sleepers[id] = sleeper
            if ticks[tick, default: []].isEmpty {
                let wasEarliest = schedule.min.map { tick < $0 } ?? true
                schedule.insert(tick)
                if wasEarliest { lock.signal() }
            }
            ticks[tick, default: []].append(id)
            lock.unlock()
        }

        func cancel(id: UInt64) {
            lock.lock()
            let sleeper = sleepers.removeValue(forKey: id)
            if sleeper == nil { cancelled.insert(id) }
            lock.unlock()
            sleeper?.resume(throwing: CancellationError())
        }

        func stop() {
            lock.withLock {
                stopped = true
                lock.signal()
            }
        }

        /// The thread: wait for the earliest tick, then resume everyone filed under it and any earlier one.
        func serve() {
            lock.lock()
            while !stopped {
                guard let next = schedule.min else {
                    lock.wait()
                    continue
                }
                let now = tick(of: .now, roundingUp: false)
                if next > now {
                    lock.wait(seconds: (instant(of: next) - .now).seconds)
                    continue
                }
                var due: [Sleeper] = []
                while let earliest = schedule.min, earliest <= now {
                    _ = schedule.removeMin()
                    for id in ticks.removeValue(forKey: earliest) ?? [] {
                        if let sleeper = sleepers.removeValue(forKey: id) { due.append(sleeper) }
                    }
                }
                lock.unlock()
                for sleeper in due { sleeper.resume() }
                lock.lock()
            }
            lock.unlock()
        }

        private func tick(of instant: ContinuousClock.Instant, roundingUp: Bool = true) -> Int64 {
            let ticks = (instant - origin) / resolution
            return Int64(roundingUp ? ticks.rounded(.up) : ticks.rounded(.down))
        }

        private func instant(of tick: Int64) -> ContinuousClock.Instant {
            origin + resolution * Double(tick)
        }
    }
}
