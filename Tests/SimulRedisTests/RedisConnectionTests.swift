import NIOCore
import Simul
import SimulRedis
import SimulRedisTestSupport
import SimulTestSupport
import Testing
import SimulRESP

/// One connection against a real Redis: pipelining, errors, blocking commands, timeouts, closing, RESP3.
@Suite(.sharedRedis, .timeLimit(.minutes(3)))
struct RedisConnectionTests {
    private func withConnection<Result>(
        _ configure: (inout RedisConfiguration) -> Void = { _ in },
        _ body: (RedisConnection) async throws -> Result
    ) async throws -> Result {
        var configuration = try RedisTestEnvironment.shared
        configure(&configuration)
        let connection = try await RedisConnection.connect(to: configuration)
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Whether the client with this id is blocked in a command such as `BRPOP`.
    private func isBlocked(_ id: Int, asSeenBy observer: RedisConnection) async throws -> Bool {
        let line = try await observer.send("CLIENT", "LIST", "ID", RedisArgument(id)).string ?? ""
        return line.split(separator: " ").contains { $0.hasPrefix("flags=") && $0.contains("b") }
    }

    @Test func pipelinesTenThousandIncrementsInOneWrite() async throws {
        try await withConnection { redis in
            let key = RedisArgument(RedisTestEnvironment.key("incr"))
            let replies = try await redis.pipeline(Array(repeating: ["INCR", key], count: 10_000))
            #expect(replies == (1...10_000).map { .integer($0) })
            #expect(try await redis.send("GET", key).int == 10_000)
            try await redis.send("DEL", key)
        }
    }

    @Test func concurrentSendsShareTheConnection() async throws {
        try await withConnection { redis in
            let key = RedisArgument(RedisTestEnvironment.key("concurrent"))
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<1000 {
                    group.addTask { try await redis.send("INCR", key).int ?? -1 }
                }
                return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
            }
            #expect(counts == Set(1...1000))
            try await redis.send("DEL", key)
        }
    }

    @Test func errorRepliesThrowFromSendAndAreValuesInAPipeline() async throws {
        try await withConnection { redis in
            let key = RedisArgument(RedisTestEnvironment.key("errors"))
            try await redis.send("SET", key, "text")
            await #expect(throws: RedisError.server("ERR value is not an integer or out of range")) {
                try await redis.send("INCR", key)
            }
            await #expect(
                throws: RedisError.server("WRONGTYPE Operation against a key holding the wrong kind of value")
            ) {
                try await redis.send("LPUSH", key, "x")
            }
            let replies = try await redis.pipeline([["SET", key, "v"], ["INCR", key], ["GET", key]])
            #expect(
                replies == [
                    .simpleString(ByteBuffer(string: "OK")), .error("ERR value is not an integer or out of range"),
                    .bulkString(ByteBuffer(string: "v")),
                ]
            )
            #expect(try await redis.pipeline([]) == [])
            try await redis.send("DEL", key)
        }
    }

    @Test func bytesRoundTripUnchanged() async throws {
        try await withConnection { redis in
            let key = RedisArgument(RedisTestEnvironment.key("bytes"))
            let bytes = ByteBuffer(bytes: Array(0...255) + Array("\r\n$-1\r\n".utf8))
            try await redis.send("SET", key, RedisArgument(bytes))
            #expect(try await redis.send("GET", key) == .bulkString(bytes))
            #expect(try await redis.send("GET", RedisArgument(RedisTestEnvironment.key("missing"))) == .null)
            try await redis.send("DEL", key)
        }
    }

    @Test func selectsTheConfiguredDatabase() async throws {
        let key = RedisArgument(RedisTestEnvironment.key("db"))
        try await withConnection({ $0.database = 5 }) { five in
            try await five.send("SET", key, "in five")
            try await withConnection({ $0.database = 6 }) { six in
                let value = try await six.send("GET", key)
                #expect(value == .null)
            }
            #expect(try await five.send("GET", key).string == "in five")
            try await five.send("DEL", key)
        }
        await #expect(throws: RedisError.invalidDatabase(999, "ERR DB index is out of range")) {
            try await withConnection({ $0.database = 999 }) { _ in }
        }
    }

    @Test func aBlockingPopWakesWhenAnotherConnectionPushes() async throws {
        let name = RedisTestEnvironment.key("queue")
        let key = RedisArgument(name)
        try await withConnection({ $0.commandTimeout = nil }) { blocker in
            try await withConnection { pusher in
                let id = try #require(try await blocker.send("CLIENT", "ID").int)
                let popped = Task { try await blocker.send("BRPOP", key, 0) }
                try await waitUntil("BRPOP blocks") { try await isBlocked(id, asSeenBy: pusher) }
                #expect(try await pusher.send("LPUSH", key, "job-1").int == 1)
                #expect(
                    try await popped.value
                        == .array([.bulkString(ByteBuffer(string: name)), .bulkString(ByteBuffer(string: "job-1"))]))

                let target = RedisArgument(RedisTestEnvironment.key("moved"))
                let moved = Task { try await blocker.send("BLMOVE", key, target, "RIGHT", "LEFT", 0) }
                try await waitUntil("BLMOVE blocks") { try await isBlocked(id, asSeenBy: pusher) }
                try await pusher.send("RPUSH", key, "job-2")
                #expect(try await moved.value.string == "job-2")
                #expect(
                    try await pusher.send("LRANGE", target, 0, -1) == .array([.bulkString(ByteBuffer(string: "job-2"))])
                )
                try await pusher.send("DEL", target)
            }
        }
    }

    /// A command that times out closes its connection, so no later command waits behind it; a new one works.
    @Test func aTimedOutCommandClosesItsConnection() async throws {
        let key = RedisArgument(RedisTestEnvironment.key("late"))
        try await withConnection { redis in
            await #expect(throws: RedisError.timedOut(after: .milliseconds(200))) {
                try await redis.send(["BLPOP", key, 0], timeout: .milliseconds(200))
            }
            try await waitUntil("the connection closes") { !redis.isOpen }
            let error = await #expect(throws: RedisError.self) { try await redis.send("ECHO", "after the timeout") }
            #expect(error?.isConnectionClosed == true)
            try await withConnection { fresh in
                let echo = try await fresh.send("ECHO", "fresh")
                #expect(echo.string == "fresh")
            }
        }
    }

    @Test func cancellingAWaitingCommandThrowsCancellationError() async throws {
        let key = RedisArgument(RedisTestEnvironment.key("cancel"))
        try await withConnection({ $0.commandTimeout = nil }) { redis in
            try await withConnection { observer in
                let id = try #require(try await redis.send("CLIENT", "ID").int)
                let waiting = Task { try await redis.send("BLPOP", key, 0) }
                try await waitUntil("BLPOP blocks") { try await isBlocked(id, asSeenBy: observer) }
                waiting.cancel()
                await #expect(throws: CancellationError.self) { try await waiting.value }
                try await observer.send("LPUSH", key, "x")
                #expect(try await redis.send("PING").string == "PONG")
            }
        }
    }

    @Test func closingFailsCommandsInFlightAndLaterOnes() async throws {
        let configuration = try RedisTestEnvironment.shared
        let key = RedisArgument(RedisTestEnvironment.key("closing"))
        try await withConnection({ $0.commandTimeout = nil }) { redis in
            try await withConnection { observer in
                let id = try #require(try await redis.send("CLIENT", "ID").int)
                let waiting = Task { try await redis.send("BLPOP", key, 0) }
                try await waitUntil("BLPOP blocks") { try await isBlocked(id, asSeenBy: observer) }
                await redis.close()
                #expect(!redis.isOpen)
                let endpoint = configuration.endpoint
                await #expect(
                    throws: RedisError.connectionClosed(
                        "the connection to redis at \(endpoint) was closed by the client")
                ) { try await waiting.value }
                await #expect(throws: RedisError.connectionClosed("the connection to redis at \(endpoint) is closed")) {
                    try await redis.send("PING")
                }
            }
        }
    }

    @Test func aDroppedConnectionClosesItsSocket() async throws {
        try await withConnection { observer in
            var dropped: RedisConnection? = try await RedisConnection.connect(to: RedisTestEnvironment.shared)
            let id = try #require(try await dropped?.send("CLIENT", "ID").int)
            dropped = nil
            try await waitUntil("redis sees the client go") {
                try await observer.send("CLIENT", "LIST", "ID", RedisArgument(id)).string?.isEmpty == true
            }
        }
    }

    @Test func speaksRESP3AfterHello() async throws {
        try await withConnection { redis in
            guard case .map(let hello) = try await redis.send("HELLO", 3) else {
                Issue.record("HELLO 3 did not answer with a map")
                return
            }
            let proto = hello.firstIndex(of: .bulkString(ByteBuffer(string: "proto"))).map { hello[$0 + 1] }
            #expect(proto == .integer(3))
            let hash = RedisArgument(RedisTestEnvironment.key("hash"))
            let set = RedisArgument(RedisTestEnvironment.key("set"))
            let zset = RedisArgument(RedisTestEnvironment.key("zset"))
            let replies = try await redis.pipeline([
                ["HSET", hash, "field", "value"], ["HGETALL", hash], ["SADD", set, "member"], ["SMEMBERS", set],
                ["ZADD", zset, RedisArgument(1.5), "m"], ["ZSCORE", zset, "m"],
                ["GET", RedisArgument(RedisTestEnvironment.key("none"))],
                ["DEL", hash, set, zset],
            ])
            #expect(
                replies == [
                    .integer(1),
                    .map([.bulkString(ByteBuffer(string: "field")), .bulkString(ByteBuffer(string: "value"))]),
                    .integer(1), .set([.bulkString(ByteBuffer(string: "member"))]), .integer(1), .double(1.5), .null,
                    .integer(3),
                ]
            )
        }
    }

    @Test func aServerThatIsNotThereGivesAClearError() async throws {
        let port = try LoopbackPort.free()
        await #expect(throws: RedisError.cannotConnect(to: "127.0.0.1:\(port)", "connection refused")) {
            _ = try await RedisConnection.connect(to: RedisConfiguration(host: "127.0.0.1", port: port))
        }
        #expect(
            RedisError.cannotConnect(to: "127.0.0.1:\(port)", "connection refused").message
                == "cannot connect to redis at 127.0.0.1:\(port): connection refused"
        )
    }
}
