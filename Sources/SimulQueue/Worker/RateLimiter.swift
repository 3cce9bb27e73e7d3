import Synchronization

/// Spaces task starts per task name: with a rate of r per second, starts are at least 1/r seconds apart.
final class RateLimiter: Sendable {
    private let nextStart = Mutex<[String: ContinuousClock.Instant]>([:])

    /// Waits for this task's turn.
    func acquire(_ name: String, rate: RateLimit) async throws {
        let interval = Duration.seconds(1 / rate.perSecond)
        let start = nextStart.withLock { next -> ContinuousClock.Instant in
            let start = max(ContinuousClock.now, next[name] ?? .now)
            next[name] = start + interval
            return start
        }
        if start > .now { try await Task.sleep(until: start, clock: .continuous) }
    }
}
