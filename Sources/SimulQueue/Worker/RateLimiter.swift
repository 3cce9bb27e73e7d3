import Foundation
import Synchronization

/// Spaces task starts per task name: with a rate of r per second, starts are at least 1/r seconds apart.
final class RateLimiter: Sendable {
    private let clock: any QueueClock
    private let nextStart = Mutex<[String: Date]>([:])

    /// A limiter that waits on `clock`.
    init(clock: any QueueClock) { self.clock = clock }

    /// Waits for this task's turn.
    func acquire(_ name: String, rate: RateLimit) async throws {
        let now = clock.now
        let start = nextStart.withLock { next -> Date in
            let start = max(now, next[name] ?? now)
            next[name] = start.addingTimeInterval(1 / rate.perSecond)
            return start
        }
        try await clock.sleep(until: start)
    }
}
