import Synchronization

/// A clock that moves only when a test advances it, so session expiry is tested without waiting.
final class ManualSessionClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration

        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let current = Mutex(Instant(offset: .zero))

    var now: Instant { current.withLock { $0 } }
    var minimumResolution: Duration { .zero }

    /// Moves the clock on by `duration`.
    func advance(by duration: Duration) {
        current.withLock { $0 = $0.advanced(by: duration) }
    }

    /// Sessions never sleep; a test that gets here is wrong.
    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        preconditionFailure("ManualSessionClock.sleep is not used by the dashboard tests")
    }
}
