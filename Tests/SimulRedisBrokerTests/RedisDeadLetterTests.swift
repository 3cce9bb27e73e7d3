import Foundation
import SimulJSON
import SimulProcessSupport
import SimulQueue
import SimulRedis
import SimulRedisBroker
import SimulRedisTestSupport
import Testing
import SimulRESP

/// The Redis broker's ``DeadLetterLimits``: a big message leaves a bounded letter, and caps drop the oldest.
@Suite(.timeLimit(.minutes(3))) struct RedisDeadLetterTests {
    /// SHA-256 of a million `a`s, the FIPS 180-2 test vector.
    static let millionASHA256 = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

    /// Pushes `body` onto the queue `celery` as a raw message, receives it, and dead-letters it for `reason`.
    static func deadLetter(
        _ body: RedisArgument, _ reason: String, redis: RedisConnection, broker: RedisBroker
    ) async throws {
        try await redis.send("LPUSH", "celery", body)
        let taken = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(30), timeout: .seconds(5))
        try await broker.commit(BrokerCommit(deadLetter: [(try #require(taken.first), reason)]))
    }

    @Test func aBigMessageLeavesItsHeadSizeAndHashAndCannotBeReplayed() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let broker = try RedisBroker(url: server.url(), deadLetterLimits: DeadLetterLimits(maxBodyBytes: 1_000))
        let redis = try await RedisConnection.connect(to: server.configuration)
        let big = Data(repeating: UInt8(ascii: "a"), count: 1_000_000)
        try await redis.send("LPUSH", "celery", RedisArgument(bytes: big))
        let small = MessageCodec.encode(TaskMessage(task: "t.add", args: [1, 2]))
        try await redis.send("LPUSH", "celery", RedisArgument(bytes: small))
        let taken = try await broker.receive(from: ["celery"], limit: 2, lease: .seconds(30), timeout: .seconds(5))
        try #require(taken.count == 2)
        try await broker.commit(
            BrokerCommit(deadLetter: [
                (taken[0], String(repeating: "r", count: 5_000)), (taken[1], "small"),
            ]))
        // The hash holds the head (base64) and the fields, not the megabyte.
        #expect(try await redis.send("HSTRLEN", "simul.dead_letters", "1").int ?? .max < 5_000)

        let letters = try await broker.deadLetters(limit: 10)
        #expect(letters.map(\.reason) == ["small", String(repeating: "r", count: 976) + "… (cut: 5000 characters)"])
        let letter = try #require(letters.last)
        #expect(letter.body == big.prefix(1_000))
        #expect(letter.size == 1_000_000 && letter.sha256 == Self.millionASHA256 && letter.isTruncated)
        #expect(letters.first?.isTruncated == false && letters.first?.body == small)

        let refusal = QueueError.invalidArgument(
            "dead letter \(letter.id) cannot be replayed: only the first 1000 of its 1000000 bytes were kept "
                + "(sha256 \(Self.millionASHA256))")
        await #expect(throws: refusal) { _ = try await broker.replayDeadLetters([letter.id]) }
        #expect(try await broker.replayDeadLetters(nil) == 1)
        #expect(try await broker.deadLetters(limit: 10).map(\.id) == [letter.id])
        #expect(try await redis.send("LLEN", "celery").int == 1)
        // The byte count follows the replay: it is the one letter left.
        let left = try await redis.send("HSTRLEN", "simul.dead_letters", RedisArgument(letter.id)).int
        #expect(try await redis.send("GET", "simul.dead_letters.bytes").string.flatMap { Int($0) } == left)
        await broker.close()
        await redis.close()
    }

    @Test func theCapsDropTheOldestAndCountThem() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let redis = try await RedisConnection.connect(to: server.configuration)
        // A letter of 3,000 bytes is about 4,200 in Redis (base64 and its fields): two fit in 10,000 bytes.
        let broker = try RedisBroker(
            url: server.url(), deadLetterLimits: DeadLetterLimits(maxCount: 3, maxTotalBytes: 10_000))
        for number in 1...5 {
            let body = Data(repeating: UInt8(ascii: "0") + UInt8(number), count: number == 5 ? 3_000 : 10)
            try await Self.deadLetter(RedisArgument(bytes: body), "no. \(number)", redis: redis, broker: broker)
        }
        // Five small letters: the count cap keeps three.
        #expect(try await broker.deadLetters(limit: 10).map(\.reason) == ["no. 5", "no. 4", "no. 3"])
        #expect(try await broker.droppedDeadLetters() == 2)
        for number in 6...7 {
            let body = Data(repeating: 0x30, count: 3_000)
            try await Self.deadLetter(RedisArgument(bytes: body), "no. \(number)", redis: redis, broker: broker)
        }
        // Three big letters: the byte cap keeps two.
        #expect(try await broker.deadLetters(limit: 10).map(\.reason) == ["no. 7", "no. 6"])
        #expect(try await broker.droppedDeadLetters() == 5)
        #expect(try await redis.send("ZCARD", "simul.dead_letters.order").int == 2)
        await broker.close()
        await redis.close()
    }

    @Test func lettersWrittenBeforeTheLimitsAreCountedAndDropped() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let redis = try await RedisConnection.connect(to: server.configuration)
        // As an older version wrote them: in the hash only, with no order or byte count.
        for id in 1...3 {
            let letter: JSONValue = [
                "queue": "celery", "reason": .string("old \(id)"), "at": 0,
                "body": .string(Data("{x".utf8).base64EncodedString()),
            ]
            try await redis.send("HSET", "simul.dead_letters", RedisArgument(id), RedisArgument(letter.jsonText))
        }
        try await redis.send("SET", "simul.dead_letters.seq", 3)
        let broker = try RedisBroker(url: server.url(), deadLetterLimits: DeadLetterLimits(maxCount: 2))
        try await Self.deadLetter("{y", "new", redis: redis, broker: broker)
        #expect(try await broker.deadLetters(limit: 10).map(\.reason) == ["new", "old 3"])
        #expect(try await broker.droppedDeadLetters() == 2)
        await broker.close()
        await redis.close()
    }
}
