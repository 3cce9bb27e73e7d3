import Foundation
import Simul
import SimulJSON
import SimulQueue
import Testing

@Suite(.timeLimit(.minutes(3))) struct MemoryBrokerTests {
    @Test func deadLetterIdsStayUniqueAfterAReplay() async throws {
        let broker = MemoryBroker()
        func deadLetter(_ reason: String) async throws {
            let message = TaskMessage(task: "t.add", args: [1, 2])
            try await broker.send([message])
            let taken = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(60), timeout: .zero)
            try await broker.commit(BrokerCommit(ack: [], deadLetter: taken.map { (delivery: $0, reason: reason) }))
        }
        for reason in ["a", "b", "c"] { try await deadLetter(reason) }
        let first = try #require(try await broker.deadLetters(limit: 10).last)
        #expect(first.reason == "a")
        #expect(try await broker.replayDeadLetters([first.id]) == 1)
        try await deadLetter("d")
        let letters = try await broker.deadLetters(limit: 10)
        #expect(letters.map(\.reason) == ["d", "c", "b"])
        #expect(Set(letters.map(\.id)).count == 3)
        // Replaying one letter by id sends back that letter only.
        #expect(try await broker.replayDeadLetters([letters[0].id]) == 1)
        #expect(try await broker.deadLetters(limit: 10).map(\.reason) == ["c", "b"])
    }

    @Test func purgeDeletesAMessageWhoseLeaseRanOut() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_000_000))
        let broker = MemoryBroker(clock: clock)
        try await broker.send([TaskMessage(task: "t.add", args: [1, 2])])
        let taken = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(5), timeout: .zero)
        #expect(taken.count == 1)
        #expect(try await broker.purge(queue: "celery") == 0)
        clock.advance(by: .seconds(6))
        #expect(try await broker.queueLengths() == ["celery": 1])
        #expect(try await broker.purge(queue: "celery") == 1)
        #expect(try await broker.queueLengths().isEmpty)
        #expect(try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(5), timeout: .zero).isEmpty)
    }

    @Test func revocationsAreReadOnceThenOnlyWhatIsNew() async throws {
        let broker = MemoryBroker()
        let empty = try await broker.revocations(after: nil)
        #expect(empty.revocations.isEmpty)
        try await broker.revoke(["a", "b"], terminate: false)
        let first = try await broker.revocations(after: empty.cursor)
        #expect(first.revocations.map(\.id) == ["a", "b"])
        #expect(try await broker.revocations(after: first.cursor).revocations.isEmpty)
        try await broker.revoke(["b"], terminate: true)
        try await broker.revoke(["c"], terminate: false)
        let second = try await broker.revocations(after: first.cursor)
        #expect(second.revocations.map(\.id) == ["b", "c"])
        #expect(second.revocations.map(\.terminate) == [true, false])
        #expect(try await broker.revocations(after: second.cursor).revocations.isEmpty)
        // A reader that starts now gets the whole set, each id once.
        let all = try await broker.revocations(after: nil).revocations
        #expect(all.map(\.id) == ["a", "b", "c"] && all.map(\.terminate) == [false, true, false])
    }

    @Test func revocationsAreTrimmedToTheBoundAndTheAge() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_000_000))
        let broker = MemoryBroker(clock: clock, revocationLimits: .init(maxCount: 3, maxAge: 100))
        try await broker.revoke(["a", "b", "c", "d"], terminate: false)
        #expect(try await broker.revocations(after: nil).revocations.map(\.id) == ["b", "c", "d"])
        clock.advance(by: .seconds(60))
        try await broker.revoke(["e"], terminate: false)
        clock.advance(by: .seconds(60))
        #expect(try await broker.revocations(after: nil).revocations.map(\.id) == ["e"])
    }
}
