/// Seconds that come from outside the program (a message, a flag, a URL, a request, a task's argument), checked
/// before they become a `Duration`, a `Date` or a sleep.
///
/// Converting a `Double` to a `Duration` or sleeping for it traps past about 292 years (`1e19` seconds overflows
/// the nanoseconds a sleep counts), and at `1e300` the conversion itself traps. Every duration that enters Simul
/// from outside goes through ``Seconds/check(_:_:allowZero:)`` first, so no input can reach a trapping conversion.
///
/// ```swift
/// let limit = try Seconds.check(header, "headers.timelimit[0]")   // 30.0, or a SecondsError naming the field
/// try await Task.sleep(for: .seconds(limit))                       // safe: at most a century
/// ```
public enum Seconds {
    /// The longest duration accepted: 100 years of 365.25 days. Longer than any real limit or delay, and far
    /// inside what a sleep, a `Duration` and a `Date` hold.
    public static let limit: Double = 3_155_760_000

    /// Checks a number of seconds.
    /// - Parameters:
    ///   - value: the seconds, as they came in.
    ///   - name: what they are, for the error: a flag, a header or a parameter name.
    ///   - allowZero: whether `0` is accepted; when `false`, the value must be positive.
    /// - Returns: `value`, which is finite and in `0...limit` (or `>0` without `allowZero`).
    /// - Throws: ``SecondsError`` naming `name`, the accepted range and the value.
    public static func check(_ value: Double, _ name: String, allowZero: Bool = true) throws(SecondsError) -> Double {
        guard value.isFinite, allowZero ? value >= 0 : value > 0, value <= limit else {
            throw SecondsError(name: name, value: value, allowZero: allowZero)
        }
        return value
    }

    /// Checks a number of seconds and returns it as a `Duration`.
    /// - Throws: ``SecondsError`` as ``check(_:_:allowZero:)`` does.
    public static func duration(_ value: Double, _ name: String, allowZero: Bool = true) throws(SecondsError)
        -> Duration
    {
        .seconds(try check(value, name, allowZero: allowZero))
    }
}

/// A number of seconds out of range: negative, not finite, or over a century.
public struct SecondsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What the seconds were for: a flag, a header or a parameter name.
    public let name: String
    /// The value that was refused.
    public let value: Double
    /// Whether zero was allowed.
    public let allowZero: Bool

    public var description: String {
        let lower = allowZero ? "from 0" : "greater than 0 and"
        return "\(name) must be a number of seconds \(lower) up to \(Int(Seconds.limit)) (100 years), got \(value)"
    }
}
