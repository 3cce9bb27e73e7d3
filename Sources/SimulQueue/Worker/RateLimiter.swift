import Foundation
import Synchronization

/// Spaces task starts per task name: with a rate of r per second, starts are at least 1/r seconds apart.
final class RateLimiter: Sendable {
    private let clock: any QueueClock
    private let nextStart = Mutex<[String: Date]>([:])

    /// A limiter that waits on `clock`.
    init(clock: any QueueClock) { self.clock = clock }

    /// Forgets the turns given to `name`: its rate changed, and the next start follows the new one.
    func reset(_ name: String) {
        _ = nextStart.withLock { $0.removeValue(forKey: name) }
    }

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
