import Foundation
import Testing

@testable import SimulQueue

/// The rate limiter's turns: times, computed, with nothing to wait for.
@Suite struct RateLimiterTests {
    /// At 4 per second, the first turn is now and each next one a quarter second after the one before, however
    /// soon it is asked for. Other task names keep their own turns.
    @Test func turnsAreOneOverTheRateApartPerTaskName() {
        let now = Date(timeIntervalSince1970: 1_000)
        let limiter = RateLimiter()
        let rate = RateLimit(perSecond: 4)
        let turns = (0..<3).map { _ in limiter.turn("t.a", rate: rate, at: now) }
        #expect(turns == [0, 0.25, 0.5].map { now.addingTimeInterval($0) })
        #expect(limiter.turn("t.b", rate: rate, at: now) == now)
        #expect(limiter.turn("t.a", rate: rate, at: now.addingTimeInterval(0.6)) == now.addingTimeInterval(0.75))
    }

    /// A task name idle for longer than its spacing starts at once: turns do not pile up while nothing runs. A
    /// reset forgets the turns given, for a new rate.
    @Test func anIdleNameStartsAtOnceAndAResetForgets() {
        let now = Date(timeIntervalSince1970: 1_000)
        let limiter = RateLimiter()
        _ = limiter.turn("t.a", rate: RateLimit(perSecond: 4), at: now)
        let later = now.addingTimeInterval(10)
        #expect(limiter.turn("t.a", rate: RateLimit(perSecond: 4), at: later) == later)
        _ = limiter.turn("t.a", rate: RateLimit(perSecond: 0.01), at: later)
        limiter.reset("t.a")
        #expect(limiter.turn("t.a", rate: RateLimit(perSecond: 4), at: later) == later)
    }
}
