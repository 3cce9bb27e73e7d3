import Foundation

/// How a task is run: its queue, limits and retry policy. Set once, where the task is registered.
public struct TaskOptions: Sendable {
    /// The queue its messages go to when the sender names none; `celery` by default.
    public var queue: String?
    /// At most this many starts per second on each worker (Celery's `rate_limit`).
    public var rateLimit: RateLimit?
    /// Retries allowed before a retrying task fails for good.
    public var maxRetries: Int = 3
    /// The error types whose failures are retried with ``backoff``, as Celery's `autoretry_for`: a ``TaskError``'s
    /// `type` (`"ConnectionError"`), or a Swift error's type name (`"URLError"`). `"Exception"`, as in Celery,
    /// names every error, except those a retry cannot mend: ``neverRetried``.
    public var autoRetryFor: Set<String> = []
    /// The failures no automatic retry repeats, whatever ``autoRetryFor`` says: arguments that do not fit the task
    /// (`TypeError`), a task the worker does not have (`NotRegistered`), and time limits.
    public static let neverRetried: Set<String> = [
        "TypeError", "NotRegistered", "TimeLimitExceeded", "SoftTimeLimitExceeded",
    ]
    /// When the retries run out, the message also goes to the dead letters (its FAILURE is stored all the same), so
    /// that it can be replayed once what it needed is back: `simul dead-letters replay`.
    public var deadLetterWhenRetriesRunOut: Bool = false
    /// The delay policy for retries that give no countdown.
    public var backoff: RetryBackoff = .init()
    /// The task is asked to stop after this long (cooperative cancel).
    public var softTimeLimit: Double?
    /// The task is killed after this long (the process, in the `processes` pool).
    public var hardTimeLimit: Double?
    /// Do not store results.
    public var ignoreResult: Bool = false

    /// Options with the defaults.
    public init() {}

    /// Whether a failure of type `type` is retried automatically.
    public func retriesAutomatically(_ type: String) -> Bool {
        guard !Self.neverRetried.contains(type) else { return false }
        return autoRetryFor.contains(type) || autoRetryFor.contains("Exception")
    }

    /// Options with a queue, limits and retries.
    public init(
        queue: String? = nil, rateLimit: RateLimit? = nil, maxRetries: Int = 3, autoRetryFor: Set<String> = [],
        deadLetterWhenRetriesRunOut: Bool = false, backoff: RetryBackoff = .init(), softTimeLimit: Double? = nil,
        hardTimeLimit: Double? = nil, ignoreResult: Bool = false
    ) {
        self.queue = queue
        self.rateLimit = rateLimit
        self.maxRetries = maxRetries
        self.autoRetryFor = autoRetryFor
        self.deadLetterWhenRetriesRunOut = deadLetterWhenRetriesRunOut
        self.backoff = backoff
        self.softTimeLimit = softTimeLimit
        self.hardTimeLimit = hardTimeLimit
        self.ignoreResult = ignoreResult
    }
}

/// A rate: so many per second, minute or hour.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    /// Starts allowed per second.
    public let perSecond: Double

    /// Creates a rate from starts per second.
    public init(perSecond: Double) {
        precondition(perSecond > 0, "a rate limit must be positive")
        self.perSecond = perSecond
    }

    /// Parses Celery's spelling: `"10/s"`, `"100/m"`, `"1000/h"`, or a bare number per second.
    /// - Returns: the rate, or `nil` when `text` is not one.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let count = Double(parts[0]), count > 0 else { return nil }
        let unit = parts.count == 2 ? parts[1] : "s"
        let seconds: Double
        switch unit {
        case "s": seconds = 1
        case "m": seconds = 60
        case "h": seconds = 3600
        default: return nil
        }
        perSecond = count / seconds
    }

    public var description: String { "\(perSecond)/s" }
}

/// Exponential backoff with full jitter, as Celery's `retry_backoff` and `retry_jitter`.
public struct RetryBackoff: Sendable, Equatable {
    /// The delay before the first retry, in seconds.
    public var base: Double = 1
    /// The longest delay, in seconds.
    public var maximum: Double = 600
    /// Draw the delay uniformly between zero and the exponential value.
    public var jitter: Bool = true

    /// Creates a policy.
    public init(base: Double = 1, maximum: Double = 600, jitter: Bool = true) {
        self.base = base
        self.maximum = maximum
        self.jitter = jitter
    }

    /// The delay before retry number `retries + 1`: `min(maximum, base × 2^retries)`, jittered.
    /// - Parameters:
    ///   - retries: retries so far.
    ///   - random: a number in `0..<1`, for the jitter.
    public func delay(afterRetries retries: Int, random: Double) -> Double {
        let exponential = min(maximum, base * Double(1 << min(retries, 30)))
        return jitter ? exponential * random : exponential
    }
}
