import Foundation
import Testing

@testable import SimulQueue

/// The rate limiter's turns, on a manual clock: no threads to wait for but the ones it puts to sleep.
@Suite(.timeLimit(.minutes(3))) struct RateLimiterTests {
    /// At 4 per second, the first start is at once and each next one a quarter second after the one before: a
    /// sleeper wakes at its turn, not a millisecond sooner. Other task names keep their own turns.
    @Test func turnsAreOneOverTheRateApartPerTaskName() async throws {
        let clock = ManualClock()
        let start = clock.now
        let limiter = RateLimiter(clock: clock)
        let rate = RateLimit(perSecond: 4)
        try await limiter.acquire("t.a", rate: rate)
        try await limiter.acquire("t.b", rate: rate)
        let second = Task { try await limiter.acquire("t.a", rate: rate) }
        let third = Task { try await limiter.acquire("t.a", rate: rate) }
        await clock.waitForSleepers(2)

        for (seconds, sleepers) in [(0.249, 2), (0.25, 1), (0.499, 1), (0.5, 0)] {
            clock.advance(to: start.addingTimeInterval(seconds))
            #expect(clock.sleepers == sleepers, "at \(seconds) s")
        }
        try await second.value
        try await third.value
    }

    /// A task name idle for longer than its spacing starts at once: turns do not pile up while nothing runs.
    @Test func anIdleNameStartsAtOnce() async throws {
        let clock = ManualClock()
        let limiter = RateLimiter(clock: clock)
        try await limiter.acquire("t.a", rate: RateLimit(perSecond: 4))
        clock.advance(by: .seconds(10))
        try await limiter.acquire("t.a", rate: RateLimit(perSecond: 4))
        #expect(clock.sleepers == 0)
    }
}
