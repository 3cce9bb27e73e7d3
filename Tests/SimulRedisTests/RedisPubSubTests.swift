import NIOCore
import SimulRedis
import SimulRedisTestSupport
import SimulTestSupport
import Testing
import SimulRESP

/// The subscriber and the pool against a real Redis.
@Suite(.sharedRedis, .timeLimit(.minutes(3)))
struct RedisPubSubTests {
    @Test func receivesMessagesFromChannelsAndPatterns() async throws {
        let configuration = try RedisTestEnvironment.shared
        let prefix = RedisTestEnvironment.key("pubsub")
        let news = prefix + ":news"
        let sport = prefix + ":sport"
        let subscriber = try await RedisSubscriber.connect(to: configuration)
        let publisher = try await RedisConnection.connect(to: configuration)
        var messages = subscriber.messages.makeAsyncIterator()

        try await subscriber.subscribe(to: [news, sport])
        try await subscriber.psubscribe(to: [prefix + ":metrics.*"])
        #expect(try await publisher.send("PUBLISH", RedisArgument(news), "hello").int == 1)
        #expect(try await publisher.send("PUBLISH", RedisArgument(prefix + ":metrics.cpu"), "42").int == 1)
        let binary = ByteBuffer(bytes: [0, 1, 13, 10, 255])
        #expect(try await publisher.send("PUBLISH", RedisArgument(sport), RedisArgument(binary)).int == 1)
        #expect(
            await messages.next() == RedisMessage(channel: news, pattern: nil, payload: ByteBuffer(string: "hello")))
        #expect(
            await messages.next()
                == RedisMessage(
                    channel: prefix + ":metrics.cpu", pattern: prefix + ":metrics.*", payload: ByteBuffer(string: "42")
                )
        )
        #expect(await messages.next() == RedisMessage(channel: sport, pattern: nil, payload: binary))

        try await subscriber.unsubscribe(from: [news])
        try await subscriber.punsubscribe()
        #expect(try await publisher.send("PUBLISH", RedisArgument(news), "unheard").int == 0)
        #expect(try await publisher.send("PUBLISH", RedisArgument(prefix + ":metrics.mem"), "unheard").int == 0)
        #expect(try await publisher.send("PUBLISH", RedisArgument(sport), "still here").int == 1)
        #expect(await messages.next()?.payload == ByteBuffer(string: "still here"))

        try await subscriber.unsubscribe()
        #expect(try await publisher.send("PUBLISH", RedisArgument(sport), "unheard").int == 0)
        // Out of subscribed mode, subscribing again works.
        try await subscriber.subscribe(to: [news])
        #expect(try await publisher.send("PUBLISH", RedisArgument(news), "again").int == 1)
        #expect(await messages.next()?.payload == ByteBuffer(string: "again"))

        await subscriber.close()
        #expect(await messages.next() == nil)
        await #expect(throws: RedisError.poolClosed) { try await subscriber.subscribe(to: [news]) }
        await publisher.close()
    }

    @Test func thePoolSpreadsCommandsAndPipelines() async throws {
        let pool = RedisConnectionPool(configuration: try RedisTestEnvironment.shared, size: 3)
        let key = RedisArgument(RedisTestEnvironment.key("pool"))
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<300 {
                group.addTask { try await pool.send("INCR", key).int ?? -1 }
            }
            return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
        }
        #expect(counts == Set(1...300))
        // The slots connect side by side, and the INCRs may all be done before the last one has; once all three
        // have, three leases in a row go to three connections.
        try await waitUntil("leases go round the pool's three connections") {
            var ids: Set<Int> = []
            for _ in 0..<3 { ids.insert(try await pool.connection().send("CLIENT", "ID").int ?? -1) }
            return ids.count == 3
        }
        let replies = try await pool.pipeline([["MULTI"], ["INCR", key], ["INCR", key], ["EXEC"], ["DEL", key]])
        #expect(
            replies == [
                .simpleString(ByteBuffer(string: "OK")), .simpleString(ByteBuffer(string: "QUEUED")),
                .simpleString(ByteBuffer(string: "QUEUED")), .array([.integer(301), .integer(302)]), .integer(1),
            ]
        )
        await #expect(throws: RedisError.server("ERR unknown command 'NOSUCHCOMMAND', with args beginning with: ")) {
            try await pool.send("NOSUCHCOMMAND")
        }
        await pool.close()
        await #expect(throws: RedisError.poolClosed) { try await pool.send("PING") }
    }
}
