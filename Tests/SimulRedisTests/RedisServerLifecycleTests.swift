import NIOCore
import SimulProcessSupport
import SimulRedis
import SimulRedisTestSupport
import SimulTestSupport
import Testing
import SimulRESP

/// Tests that need a Redis server of their own: one with a password, one that is killed and restarted.
@Suite(.timeLimit(.minutes(3)))
struct RedisServerLifecycleTests {
    @Test func authenticationFailuresAreClear() async throws {
        let server = try await RedisServer.start(password: "s3cret")
        defer { server.stop() }
        let endpoint = "127.0.0.1:\(server.port)"

        let good = try await RedisConnection.connect(to: server.configuration)
        #expect(try await good.send("PING").string == "PONG")
        await good.close()

        var named = server.configuration
        named.username = "default"
        let withUser = try await RedisConnection.connect(to: named)
        #expect(try await withUser.send("PING").string == "PONG")
        await withUser.close()

        var wrong = server.configuration
        wrong.password = "guess"
        let rejected = RedisError.authenticationFailed(
            at: endpoint, "WRONGPASS invalid username-password pair or user is disabled."
        )
        await #expect(throws: rejected) { _ = try await RedisConnection.connect(to: wrong) }
        #expect(
            rejected.message
                == "authentication to redis at \(endpoint) failed: WRONGPASS invalid username-password pair or user is disabled."
        )
        let pool = RedisConnectionPool(configuration: wrong, size: 2)
        await #expect(throws: rejected) { try await pool.send("PING") }
        await pool.close()

        // Without a password, the connection's handshake (a PING) hears NOAUTH, not the first command.
        var anonymous = server.configuration
        anonymous.password = nil
        let unauthenticated = RedisError.authenticationFailed(at: endpoint, "NOAUTH Authentication required.")
        await #expect(throws: unauthenticated) { _ = try await RedisConnection.connect(to: anonymous) }
        #expect(
            unauthenticated.message == "authentication to redis at \(endpoint) failed: NOAUTH Authentication required.")
    }

    @Test func commandsInFlightFailClearlyWhenTheServerDies() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        var configuration = server.configuration
        configuration.commandTimeout = nil
        let blocker = try await RedisConnection.connect(to: configuration)
        let observer = try await RedisConnection.connect(to: configuration)
        let id = try #require(try await blocker.send("CLIENT", "ID").int)
        let waiting = Task { try await blocker.send("BLPOP", "queue", 0) }
        try await waitUntil("BLPOP blocks") {
            try await observer.send("CLIENT", "LIST", "ID", RedisArgument(id)).string?.contains("cmd=blpop") == true
        }
        server.stop()
        await #expect(throws: RedisError.connectionClosed("redis at 127.0.0.1:\(server.port) closed the connection")) {
            try await waiting.value
        }
        await blocker.close()
        await observer.close()
    }

    @Test func thePoolAndTheSubscriberComeBackAfterRedisRestarts() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        var configuration = server.configuration
        configuration.reconnectBackoff = RedisBackoff(initial: .milliseconds(20), maximum: .milliseconds(200))
        let pool = RedisConnectionPool(configuration: configuration, size: 2)
        let subscriber = try await RedisSubscriber.connect(to: configuration)
        var messages = subscriber.messages.makeAsyncIterator()
        try await subscriber.subscribe(to: ["events"])
        try await subscriber.psubscribe(to: ["metrics.*"])
        #expect(try await pool.send("SET", "k", "before").string == "OK")
        #expect(try await pool.send("PUBLISH", "events", "one").int == 1)
        #expect(
            await messages.next() == RedisMessage(channel: "events", pattern: nil, payload: ByteBuffer(string: "one")))

        server.stop()
        // While Redis is down, commands fail with a clear error instead of hanging.
        do {
            try await pool.send("PING")
            Issue.record("PING succeeded with Redis down")
        } catch {
            let redisError = error as? RedisError
            let closed = redisError?.hasSameKind(as: .connectionClosed("")) == true
            let refused = redisError == .cannotConnect(to: configuration.endpoint, "connection refused")
            #expect(closed || refused, "unexpected error: \(error)")
        }

        try await server.restart()
        try await waitUntil("the pool reconnects") { (try? await pool.send("PING"))?.string == "PONG" }
        #expect(try await pool.send("GET", "k") == .null, "a new server without persistence")
        try await waitUntil("the subscriber resubscribes to the channel") {
            try await pool.send("PUBLISH", "events", "two").int == 1
        }
        #expect(
            await messages.next() == RedisMessage(channel: "events", pattern: nil, payload: ByteBuffer(string: "two")))
        try await waitUntil("the subscriber resubscribes to the pattern") {
            try await pool.send("PUBLISH", "metrics.cpu", "42").int == 1
        }
        #expect(
            await messages.next()
                == RedisMessage(channel: "metrics.cpu", pattern: "metrics.*", payload: ByteBuffer(string: "42"))
        )
        await subscriber.close()
        await pool.close()
    }
}
