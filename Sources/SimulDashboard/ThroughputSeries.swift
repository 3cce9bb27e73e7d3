package import Foundation

/// Tasks finished per time slot over the last minutes: what the overview's chart draws.
package struct ThroughputSeries: Sendable, Equatable {
    /// Successes and failures in one slot.
    package struct Slot: Sendable, Equatable {
        package var start: Date
        package var succeeded = 0
        package var failed = 0
    }

    /// Seconds per slot.
    package let slotSeconds: Int
    /// Slots kept.
    package let slotCount: Int
    private var counts: [Int: (succeeded: Int, failed: Int)] = [:]

    /// A series of `slotCount` slots of `slotSeconds` seconds (ten minutes in 10 s slots by default).
    package init(slotSeconds: Int = 10, slotCount: Int = 60) {
        precondition(slotSeconds > 0 && slotCount > 0, "a throughput series needs slots")
        self.slotSeconds = slotSeconds
        self.slotCount = slotCount
    }

    /// Counts one finished task.
    package mutating func record(succeeded: Bool, at time: Date) {
        let slot = Int(time.timeIntervalSince1970.rounded(.down)) / slotSeconds
        var count = counts[slot] ?? (0, 0)
        if succeeded { count.succeeded += 1 } else { count.failed += 1 }
        counts[slot] = count
        if counts.count > 2 * slotCount, let newest = counts.keys.max() {
            counts = counts.filter { $0.key > newest - slotCount }
        }
    }

    /// The `slotCount` slots that end with the one holding `now`, oldest first.
    package func slots(endingAt now: Date) -> [Slot] {
        let last = Int(now.timeIntervalSince1970.rounded(.down)) / slotSeconds
        return (last - slotCount + 1...last).map { slot in
            let count = counts[slot] ?? (0, 0)
            return Slot(
                start: Date(timeIntervalSince1970: Double(slot * slotSeconds)), succeeded: count.succeeded,
                failed: count.failed)
        }
    }

    package static func == (lhs: ThroughputSeries, rhs: ThroughputSeries) -> Bool {
        lhs.slotSeconds == rhs.slotSeconds && lhs.slotCount == rhs.slotCount
            && lhs.counts.mapValues { [$0.succeeded, $0.failed] } == rhs.counts.mapValues { [$0.succeeded, $0.failed] }
    }
}
