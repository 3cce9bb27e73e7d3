import Simul

/// Timing helpers shared by the suites.
enum Measure {
    /// Operations per second: `count` divided by the wall time of `body`.
    static func rate(count: Int, _ body: () async throws -> Void) async throws -> Double {
        Double(count) / (try await wall(body))
    }

    /// The wall time of `body`, in seconds.
    static func wall(_ body: () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        try await body()
        return (ContinuousClock.now - start).seconds
    }
}
