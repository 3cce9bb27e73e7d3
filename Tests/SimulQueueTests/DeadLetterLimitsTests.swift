import Foundation
import Simul
import SimulJSON
import SimulQueue
import SimulQueueTestSupport
import SimulSQLite
import SimulTestSupport
import Testing

/// ``DeadLetterLimits`` on the memory and SQLite brokers (the Redis broker's are in `RedisBrokerTests`).
@Suite(.timeLimit(.minutes(2))) struct DeadLetterLimitsTests {
    enum Kind: String, CaseIterable, Sendable { case memory, sqlite }

    /// SHA-256 of a million `a`s, the FIPS 180-2 test vector.
    static let millionASHA256 = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

    @Test(arguments: Kind.allCases)
    func aBigMessageLeavesItsHeadSizeAndHashAndCannotBeReplayed(_ kind: Kind) async throws {
        let (broker, scratch) = try Self.open(kind, DeadLetterLimits(maxBodyBytes: 1_000))
        defer { scratch?.remove() }
        let big = Data(repeating: UInt8(ascii: "a"), count: 1_000_000)
        let small = MessageCodec.encode(TaskMessage(task: "t.add", args: [1, 2]))
        try await Self.deadLetter([big, small], reasons: [String(repeating: "r", count: 5_000), "small"], in: broker)

        let letters = try await broker.deadLetters(limit: 10)
        #expect(letters.map(\.reason) == ["small", String(repeating: "r", count: 976) + "… (cut: 5000 characters)"])
        let letter = try #require(letters.last)
        #expect(letter.body == big.prefix(1_000))
        #expect(letter.size == 1_000_000 && letter.sha256 == Self.millionASHA256 && letter.isTruncated)
        #expect(letters.first?.isTruncated == false && letters.first?.size == small.count)

        let refusal = QueueError.invalidArgument(
            "dead letter \(letter.id) cannot be replayed: only the first 1000 of its 1000000 bytes were kept "
                + "(sha256 \(Self.millionASHA256))")
        await #expect(throws: refusal) { _ = try await broker.replayDeadLetters([letter.id]) }
        await #expect(throws: refusal) { _ = try await broker.replayDeadLetters([letters[0].id, letter.id]) }
        #expect(try await broker.deadLetters(limit: 10).count == 2)
        // Replaying every letter sends back the whole one and leaves the truncated one.
        #expect(try await broker.replayDeadLetters(nil) == 1)
        #expect(try await broker.deadLetters(limit: 10).map(\.id) == [letter.id])
        #expect(try await broker.queueLengths() == ["celery": 1])
        await broker.close()
    }

    @Test(arguments: Kind.allCases)
    func theCountCapDropsTheOldestAndCountsThem(_ kind: Kind) async throws {
        let (broker, scratch) = try Self.open(kind, DeadLetterLimits(maxCount: 3))
        defer { scratch?.remove() }
        for reason in ["a", "b", "c", "d", "e"] {
            try await Self.deadLetter([Data("{\(reason)".utf8)], reasons: [reason], in: broker)
        }
        #expect(try await broker.deadLetters(limit: 10).map(\.reason) == ["e", "d", "c"])
        #expect(try await broker.droppedDeadLetters() == 2)
        // A replay makes room: the next letter drops none.
        #expect(try await broker.replayDeadLetters(nil) == 3)
        try await Self.deadLetter([Data("{f".utf8)], reasons: ["f"], in: broker)
        #expect(try await broker.deadLetters(limit: 10).map(\.reason) == ["f"])
        #expect(try await broker.droppedDeadLetters() == 2)
        await broker.close()
    }

    @Test(arguments: Kind.allCases)
    func theByteCapDropsTheOldestAndCountsThem(_ kind: Kind) async throws {
        // Each letter stores 995 bytes of envelope and a 5-byte reason: two fit in 2,500 bytes, three do not.
        let (broker, scratch) = try Self.open(kind, DeadLetterLimits(maxTotalBytes: 2_500))
        defer { scratch?.remove() }
        for number in 1...4 {
            let body = Data(repeating: UInt8(ascii: "0") + UInt8(number), count: 995)
            try await Self.deadLetter([body], reasons: ["no. \(number)"], in: broker)
        }
        #expect(try await broker.deadLetters(limit: 10).map(\.reason) == ["no. 4", "no. 3"])
        #expect(try await broker.droppedDeadLetters() == 2)
        await broker.close()
    }

    @Test func aHugeFieldIsCutInTheDeadLetterAndTheFailure() async throws {
        let queue = QueueHarness()
        let message = TaskMessage(task: "t.add", args: [1, 2])
        let eta = String(repeating: "9", count: 100_000)
        var text = String(decoding: MessageCodec.encode(message), as: UTF8.self)
        let range = try #require(text.range(of: "\"eta\":null") ?? text.range(of: "\"eta\": null"))
        text.replaceSubrange(range, with: "\"eta\":\"\(eta)\"")
        try await queue.broker.commit(BrokerCommit(send: [OutgoingMessage(raw: Data(text.utf8), queue: "celery")]))
        let reason = "headers.eta '\(eta)' is not ISO-8601"
        let note = "… (cut: \(reason.count) characters)"
        let cut = String(reason.prefix(1_000 - note.count)) + note
        #expect(cut.count == 1_000)
        await #expect(throws: TaskError(type: "InvalidTaskMessage", message: cut, module: "simul")) {
            _ = try await queue.client.result(message.id).get(timeout: .seconds(30))
        }
        try await waitUntil("the dead letter") { try await !queue.broker.deadLetters(limit: 10).isEmpty }
        #expect(try await queue.broker.deadLetters(limit: 10).map(\.reason) == [cut])
        try await queue.stop()
    }

    // MARK: Helpers

    static func open(_ kind: Kind, _ limits: DeadLetterLimits) throws -> (any TestBroker, ScratchDirectory?) {
        switch kind {
        case .memory:
            return (MemoryBroker(deadLetterLimits: limits), nil)
        case .sqlite:
            let scratch = try ScratchDirectory()
            return (try SQLiteBroker(path: scratch.file("queue.sqlite"), deadLetterLimits: limits), scratch)
        }
    }

    /// Sends `bodies` as they are, receives them, and dead-letters them with `reasons`, one commit each.
    static func deadLetter(_ bodies: [Data], reasons: [String], in broker: any TestBroker) async throws {
        for (body, reason) in zip(bodies, reasons) {
            try await broker.commit(BrokerCommit(send: [OutgoingMessage(raw: body, queue: "celery")]))
            let taken = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(60), timeout: .seconds(10))
            try #require(taken.count == 1)
            try await broker.commit(BrokerCommit(deadLetter: [(taken[0], reason)]))
        }
    }
}
