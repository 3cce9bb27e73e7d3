/// How long to wait between reconnection attempts: exponential growth from ``initial`` by ``multiplier``, capped
/// at ``maximum``.
///
/// The first attempt after a connection is lost is immediate; the delays apply after failed attempts, so a Redis
/// restart costs about one delay, and a server that stays down is tried every ``maximum`` at most.
///
/// ```swift
/// configuration.reconnectBackoff = RedisBackoff(initial: .milliseconds(50), maximum: .seconds(2))
/// ```
public struct RedisBackoff: Sendable, Hashable {
    /// The delay after the first failed attempt.
    public var initial: Duration
    /// The longest delay.
    public var maximum: Duration
    /// The factor from one delay to the next.
    public var multiplier: Double

    /// Creates a backoff policy.
    /// - Parameters:
    ///   - initial: the delay after the first failed attempt, 100 ms by default.
    ///   - maximum: the cap, 5 s by default.
    ///   - multiplier: the growth factor, 2 by default; at least 1.
    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5), multiplier: Double = 2) {
        precondition(initial >= .zero && maximum >= initial, "a backoff needs 0 <= initial <= maximum")
        precondition(multiplier >= 1, "a backoff's multiplier is at least 1, got \(multiplier)")
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
    }

    /// The delay before the next attempt, after `failures` failed attempts in a row.
    /// - Parameter failures: how many attempts failed in a row; at least 1.
    /// - Returns: `initial × multiplier^(failures - 1)`, at most ``maximum``.
    public func delay(afterFailures failures: Int) -> Duration {
        precondition(failures >= 1, "a backoff delay follows at least one failure")
        var delay = initial
        for _ in 1..<failures {
            guard delay < maximum else { break }
            delay = delay * multiplier
        }
        return min(delay, maximum)
    }
}
