import Foundation
import SimulQueue
import Testing

/// The revoked set on its own: times are passed in, so nothing waits and no thread runs.
@Suite struct RevokedSetTests {
    static let start = Date(timeIntervalSince1970: 1_000_000)

    static func revocation(_ id: String, terminate: Bool = false, at seconds: Double = 0) -> Revocation {
        Revocation(id: id, terminate: terminate, at: start.addingTimeInterval(seconds))
    }

    @Test func celerysLimits() {
        #expect(RevokedSet.Limits.celery == RevokedSet.Limits(maxCount: 50_000, maxAge: 10_800))
        #expect(RevokedSet().limits == .celery)
    }

    @Test func membershipAndTermination() {
        var set = RevokedSet()
        set.insert(Self.revocation("a"), now: Self.start)
        set.insert(Self.revocation("b", terminate: true), now: Self.start)
        #expect(set.contains("a", now: Self.start))
        #expect(set.revocation(for: "a", now: Self.start)?.terminate == false)
        #expect(set.revocation(for: "b", now: Self.start)?.terminate == true)
        #expect(!set.contains("c", now: Self.start))
        #expect(set.count == 2)
    }

    @Test func insertingAgainKeepsTerminationAndMovesToTheNewestEnd() {
        var set = RevokedSet()
        set.insert(Self.revocation("a", terminate: true, at: 0), now: Self.start)
        set.insert(Self.revocation("b", at: 1), now: Self.start)
        set.insert(Self.revocation("a", terminate: false, at: 2), now: Self.start)
        #expect(set.count == 2)
        let all = set.revocations(after: 0, now: Self.start)
        #expect(all.map(\.id) == ["b", "a"])
        #expect(all.map(\.terminate) == [false, true])
        #expect(all.last?.at == Self.start.addingTimeInterval(2))
    }

    @Test func pastTheBoundTheOldestInsertedGoFirst() {
        var set = RevokedSet(limits: .init(maxCount: 3, maxAge: 100))
        for id in ["a", "b", "c"] { set.insert(Self.revocation(id), now: Self.start) }
        // Inserting "a" again makes "b" the oldest.
        set.insert(Self.revocation("a"), now: Self.start)
        set.insert(Self.revocation("d"), now: Self.start)
        #expect(set.count == 3)
        #expect(!set.contains("b", now: Self.start))
        #expect(set.revocations(after: 0, now: Self.start).map(\.id) == ["c", "a", "d"])
    }

    @Test func revocationsExpireAfterTheirAge() {
        var set = RevokedSet(limits: .init(maxCount: 10, maxAge: 100))
        set.insert(Self.revocation("old", at: 0), now: Self.start)
        set.insert(Self.revocation("new", at: 50), now: Self.start.addingTimeInterval(50))
        let later = Self.start.addingTimeInterval(120)
        #expect(!set.contains("old", now: later))
        #expect(set.contains("new", now: later))
        #expect(set.count == 2)
        set.removeExpired(now: later)
        #expect(set.count == 1)
        #expect(set.revocations(after: 0, now: later).map(\.id) == ["new"])
        // One already past its age is not taken.
        set.insert(Self.revocation("stale", at: 0), now: later)
        #expect(!set.contains("stale", now: later))
        #expect(set.count == 1)
    }

    @Test func anExpiredEntryDoesNotLendItsTermination() {
        var set = RevokedSet(limits: .init(maxCount: 10, maxAge: 100))
        set.insert(Self.revocation("early", at: 90), now: Self.start.addingTimeInterval(90))
        // Inserted after a newer one, so it stays held behind it once it expires.
        set.insert(Self.revocation("a", terminate: true, at: 0), now: Self.start.addingTimeInterval(90))
        let later = Self.start.addingTimeInterval(150)
        set.removeExpired(now: later)
        #expect(!set.contains("a", now: later))
        set.insert(Self.revocation("a", terminate: false, at: 150), now: later)
        #expect(set.revocation(for: "a", now: later)?.terminate == false)
    }

    @Test func readsAfterASequenceReturnOnlyWhatIsNew() {
        var set = RevokedSet()
        #expect(set.lastSequence == 0)
        set.insert(Self.revocation("a"), now: Self.start)
        set.insert(Self.revocation("b"), now: Self.start)
        let cursor = set.lastSequence
        #expect(set.revocations(after: cursor, now: Self.start).isEmpty)
        set.insert(Self.revocation("c"), now: Self.start)
        set.insert(Self.revocation("a", terminate: true), now: Self.start)
        let new = set.revocations(after: cursor, now: Self.start)
        #expect(new.map(\.id) == ["c", "a"])
        #expect(new.map(\.terminate) == [false, true])
        #expect(set.revocations(after: set.lastSequence, now: Self.start).isEmpty)
    }

    /// Many insertions of a few ids, and many more ids than the bound: the set stays exact while it compacts.
    @Test func staysExactThroughCompaction() {
        var set = RevokedSet(limits: .init(maxCount: 100, maxAge: 1_000_000))
        for round in 0..<50 {
            for id in 0..<100 { set.insert(Self.revocation("id\(id)", terminate: round == 49), now: Self.start) }
        }
        #expect(set.count == 100)
        #expect(set.revocations(after: 0, now: Self.start).count == 100)
        #expect(set.revocations(after: 0, now: Self.start).allSatisfy { $0.terminate })
        for id in 0..<10_000 { set.insert(Self.revocation("new\(id)"), now: Self.start) }
        #expect(set.count == 100)
        #expect(set.revocations(after: 0, now: Self.start).map(\.id) == (9_900..<10_000).map { "new\($0)" })
        #expect(!set.contains("id0", now: Self.start))
        #expect(set.contains("new9999", now: Self.start))
        #expect(set.lastSequence == 15_000)
    }
}
