import Foundation
import Synchronization

/// Spaces task starts per task name: with a rate of r per second, starts are at least 1/r seconds apart.
final class RateLimiter: Sendable {
    private let nextStart = Mutex<[String: Date]>([:])

    /// A limiter that has given no turns yet.
    init() {}

    /// Forgets the turns given to `name`: its rate changed, and the next start follows the new one.
    func reset(_ name: String) {
        _ = nextStart.withLock { $0.removeValue(forKey: name) }
    }

    /// Takes this task's next turn: the time it may start, `now` or later.
    func turn(_ name: String, rate: RateLimit, at now: Date) -> Date {
        nextStart.withLock { next -> Date in
            let start = max(now, next[name] ?? now)
            next[name] = start.addingTimeInterval(1 / rate.perSecond)
            return start
        }
    }
}
