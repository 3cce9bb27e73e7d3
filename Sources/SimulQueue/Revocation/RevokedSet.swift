public import Foundation

/// Revoked tasks, bounded and expiring, with O(1) membership: what a worker checks each message against.
///
/// Celery's workers keep revoked ids in a `LimitedSet` of at most 50,000 (`REVOKES_MAX`) that forgets an id 10,800 s
/// (`REVOKE_EXPIRES`) after it was revoked. ``Limits/celery`` is that bound; the brokers trim what they store to it
/// too. Entries are kept in insertion order: inserting an id again merges `terminate`, refreshes its time and moves
/// it to the newest end, and past ``Limits/maxCount`` the oldest go first. Every operation is O(1) amortized except
/// ``revocations(after:now:)``, which is O(log n) plus what it returns.
///
/// Time is passed in, never read, so the set is tested without a clock:
///
/// ```swift
/// var revoked = RevokedSet()
/// revoked.insert(Revocation(id: id, terminate: true, at: now), now: now)
/// revoked.revocation(for: id, now: now)?.terminate   // true
/// ```
public struct RevokedSet: Sendable {
    /// How many revocations are kept, and for how long.
    public struct Limits: Sendable, Hashable {
        /// The most revocations kept; past it the oldest go.
        public var maxCount: Int
        /// Seconds a revocation lasts after it was made.
        public var maxAge: TimeInterval

        /// Limits of `maxCount` revocations, each kept `maxAge` seconds.
        public init(maxCount: Int, maxAge: TimeInterval) {
            precondition(maxCount >= 1, "a revoked set keeps at least one revocation, not \(maxCount)")
            precondition(maxAge > 0, "revocations last a positive time, not \(maxAge) s")
            self.maxCount = maxCount
            self.maxAge = maxAge
        }

        /// Celery's: 50,000 revocations (`REVOKES_MAX`), each kept three hours (`REVOKE_EXPIRES`, 10,800 s).
        public static let celery = Limits(maxCount: 50_000, maxAge: 10_800)
    }

    private struct Entry: Sendable {
        var terminate: Bool
        var at: Date
        var sequence: Int
    }

    /// A place in the insertion order. It is stale once its id was inserted again (its entry has a newer sequence)
    /// or removed; stale places are skipped, and dropped when they outnumber the live ones.
    private struct Place: Sendable {
        let id: String
        let sequence: Int
    }

    /// The bound.
    public let limits: Limits
    private var entries: [String: Entry] = [:]
    /// Insertion order, oldest first, from `head` on; sequences increase.
    private var order: [Place] = []
    private var head = 0
    /// The sequence of the newest insertion; each insertion takes the next one.
    public private(set) var lastSequence = 0

    /// An empty set bounded by `limits`.
    public init(limits: Limits = .celery) {
        self.limits = limits
    }

    /// How many revocations are held, including expired ones not yet removed.
    public var count: Int { entries.count }

    /// The revocation of `id`, if it is revoked and has not expired at `now`.
    public func revocation(for id: String, now: Date) -> Revocation? {
        guard let entry = entries[id], !isExpired(entry, now: now) else { return nil }
        return Revocation(id: id, terminate: entry.terminate, at: entry.at)
    }

    /// Whether `id` is revoked at `now`.
    public func contains(_ id: String, now: Date) -> Bool {
        revocation(for: id, now: now) != nil
    }

    /// Adds `revocation` as the newest, and drops what expired by `now` and what is past the bound, oldest first.
    ///
    /// An id already held keeps `terminate` if either asked for it, and the later of the two times. A revocation
    /// that has expired by `now` is ignored.
    public mutating func insert(_ revocation: Revocation, now: Date) {
        removeExpired(now: now)
        guard revocation.at >= cutoff(now) else { return }
        let previous = entries[revocation.id].flatMap { isExpired($0, now: now) ? nil : $0 }
        lastSequence += 1
        entries[revocation.id] = Entry(
            terminate: revocation.terminate || previous?.terminate == true,
            at: max(revocation.at, previous?.at ?? revocation.at), sequence: lastSequence)
        order.append(Place(id: revocation.id, sequence: lastSequence))
        while entries.count > limits.maxCount { removeOldest() }
        compact()
    }

    /// Drops the revocations that expired by `now`, oldest first.
    ///
    /// It stops at the oldest one still valid, so a revocation inserted after a newer one (with an earlier time) may
    /// stay held a little past its age; ``revocation(for:now:)`` never returns it.
    public mutating func removeExpired(now: Date) {
        let cutoff = cutoff(now)
        while head < order.count {
            let place = order[head]
            if let entry = entries[place.id], entry.sequence == place.sequence {
                guard entry.at < cutoff else { break }
                entries[place.id] = nil
            }
            head += 1
        }
        compact()
    }

    /// The revocations inserted after sequence `after` and not expired at `now`, oldest first; all of them when
    /// `after` is 0. An id inserted again comes once, at its latest place.
    public func revocations(after: Int, now: Date) -> [Revocation] {
        var low = head
        var high = order.count
        while low < high {
            let middle = (low + high) / 2
            if order[middle].sequence <= after { low = middle + 1 } else { high = middle }
        }
        return order[low...].compactMap { place in
            guard let entry = entries[place.id], entry.sequence == place.sequence, !isExpired(entry, now: now) else {
                return nil
            }
            return Revocation(id: place.id, terminate: entry.terminate, at: entry.at)
        }
    }

    private func cutoff(_ now: Date) -> Date { now.addingTimeInterval(-limits.maxAge) }

    private func isExpired(_ entry: Entry, now: Date) -> Bool { entry.at < cutoff(now) }

    private mutating func removeOldest() {
        while head < order.count {
            let place = order[head]
            head += 1
            if entries[place.id]?.sequence == place.sequence {
                entries[place.id] = nil
                return
            }
        }
    }

    /// Drops the places before `head` once they are half the array, and the stale places once they outnumber the
    /// live ones, so the order stays O(count) in memory and each insertion O(1) amortized.
    private mutating func compact() {
        let stale = order.count - head - entries.count
        if stale > max(1_024, entries.count) {
            order = order[head...].filter { entries[$0.id]?.sequence == $0.sequence }
            head = 0
        } else if head >= 1_024, head * 2 >= order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
