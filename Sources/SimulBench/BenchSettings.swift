/// What `simul bench` tells every suite: how much to measure, and which Redis to use.
public struct BenchSettings: Sendable {
    /// Smaller counts, for a fast look rather than a measurement.
    public var quick: Bool
    /// How many times each case runs; the best run counts.
    public var repetitions: Int
    /// The Redis for the suites that need one; `nil` starts a `redis-server` of its own on a free loopback port.
    public var redisURL: String?

    /// Creates the settings.
    public init(quick: Bool = false, repetitions: Int = 3, redisURL: String? = nil) {
        self.quick = quick
        self.repetitions = repetitions
        self.redisURL = redisURL
    }
}

/// A suite of benchmark cases, run with its ``BenchSettings``.
public protocol BenchSuite: Sendable {
    /// How much the suite measures, and which Redis it uses.
    var settings: BenchSettings { get }
}

extension BenchSuite {
    var quick: Bool { settings.quick }
    var repetitions: Int { settings.repetitions }
    var redisURL: String? { settings.redisURL }
}
