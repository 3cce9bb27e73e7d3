/// Task runtimes counted into Prometheus-style buckets.
package struct RuntimeHistogram: Sendable, Equatable {
    /// The buckets' upper bounds, in seconds.
    package static let bounds: [Double] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300]

    /// Observations per bucket, not cumulative; the last one is above every bound.
    package private(set) var counts = [Int](repeating: 0, count: bounds.count + 1)
    /// The sum of the observations.
    package private(set) var sum = 0.0
    /// How many were observed.
    package private(set) var count = 0

    package init() {}

    /// Counts one runtime.
    package mutating func observe(_ seconds: Double) {
        let index = Self.bounds.firstIndex { seconds <= $0 } ?? Self.bounds.count
        counts[index] += 1
        sum += seconds
        count += 1
    }

    /// Cumulative counts per bound, as Prometheus' `le` buckets, then `+Inf`.
    package var cumulative: [Int] {
        var total = 0
        return counts.map { count in
            total += count
            return total
        }
    }
}
