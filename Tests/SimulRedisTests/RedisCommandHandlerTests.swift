import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import SimulRedis
import SimulRESP

/// The channel handler on an `EmbeddedChannel`: replies fed by hand, time advanced by hand.
@Suite(.timeLimit(.minutes(3)))
struct RedisCommandHandlerTests {
    /// Records a future's result; `EmbeddedEventLoop` runs the callback on the test's thread.
    final class Outcome<Value: Sendable>: Sendable {
        private let result = Mutex<Result<Value, any Error>?>(nil)

        init(_ future: EventLoopFuture<Value>) {
            future.whenComplete { outcome in self.result.withLock { $0 = outcome } }
        }

        var isPending: Bool { result.withLock { $0 == nil } }

        var value: Value? { result.withLock { try? $0?.get() } }

        var error: RedisError? {
            result.withLock { result in
                guard case .failure(let error) = result else { return nil }
                return error as? RedisError
            }
        }
    }

    private func makeChannel(messages: AsyncStream<RedisMessage>.Continuation? = nil) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPDecoder(limits: .init())))
        try channel.pipeline.syncOperations.addHandler(
            RedisCommandHandler(endpoint: "test:6379", messages: messages, logger: Logger(label: "test"))
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        return channel
    }

    private func send(
        _ commands: [[RedisArgument]], on channel: EmbeddedChannel, timeout: Duration? = nil
    ) throws -> Outcome<[RESPValue]> {
        var bytes = ByteBuffer()
        for command in commands { bytes.writeRESPCommand(command) }
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        let reply: RedisCommandHandler.Reply =
            commands.count == 1 ? .one(promise.mapSingle(on: channel)) : .many(promise, count: commands.count)
        // A write the handler refuses throws here too; the outcome shows its error.
        _ = try? channel.writeOutbound(RedisCommandHandler.Request(bytes: bytes, reply: reply, timeout: timeout))
        return Outcome(promise.futureResult)
    }

    private func sendPong(_ commands: [[RedisArgument]], on channel: EmbeddedChannel) throws -> Outcome<Void> {
        var bytes = ByteBuffer()
        for command in commands + [["PING"]] { bytes.writeRESPCommand(command) }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        try channel.writeOutbound(RedisCommandHandler.Request(bytes: bytes, reply: .pong(promise), timeout: nil))
        return Outcome(promise.futureResult)
    }

    private func reply(_ text: String, on channel: EmbeddedChannel) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    @Test func writesTheEncodedCommandsAndMatchesRepliesInOrder() throws {
        let channel = try makeChannel()
        let first = try send([["SET", "k", "v"]], on: channel)
        let batch = try send([["INCR", "n"], ["INCR", "n"]], on: channel)
        let last = try send([["GET", "k"]], on: channel)
        channel.embeddedEventLoop.run()
        #expect(
            try channel.readOutbound(as: ByteBuffer.self)
                == ByteBuffer(string: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"))
        #expect(
            try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) }?.hasPrefix("*2\r\n$4\r\nINCR")
                == true)

        try reply("+OK\r\n:1\r\n", on: channel)
        #expect(first.value == [.simpleString(ByteBuffer(string: "OK"))])
        #expect(batch.isPending)
        try reply(":2\r\n$1\r\n", on: channel)
        #expect(batch.value == [.integer(1), .integer(2)])
        #expect(last.isPending)
        try reply("v\r\n", on: channel)
        #expect(last.value == [.bulkString(ByteBuffer(string: "v"))])
    }

    @Test func writesQueuedTogetherLeaveInOneFlush() throws {
        let channel = try makeChannel()
        func write(_ command: [RedisArgument]) {
            var bytes = ByteBuffer()
            bytes.writeRESPCommand(command)
            let promise = channel.eventLoop.makePromise(of: RESPValue.self)
            channel.write(RedisCommandHandler.Request(bytes: bytes, reply: .one(promise), timeout: nil), promise: nil)
        }
        write(["INCR", "a"])
        write(["INCR", "b"])
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "flushed before the event loop's turn ended")
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: ByteBuffer.self) != nil)
        #expect(try channel.readOutbound(as: ByteBuffer.self) != nil)
        write(["INCR", "c"])
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: ByteBuffer.self) != nil, "a later write gets a flush of its own")
    }

    @Test func errorRepliesAreValuesForTheCallerToThrow() throws {
        let channel = try makeChannel()
        let batch = try send([["INCR", "s"], ["PING"]], on: channel)
        try reply("-ERR value is not an integer or out of range\r\n+PONG\r\n", on: channel)
        #expect(
            batch.value == [
                .error("ERR value is not an integer or out of range"), .simpleString(ByteBuffer(string: "PONG")),
            ])
    }

    /// A command past its deadline fails with the timeout, and the connection closes, failing what waits behind
    /// it: a server that let one command go unanswered may be gone without a word (half-open), and the next ones
    /// would wait as long.
    @Test func aTimedOutCommandFailsAndClosesTheConnection() throws {
        let channel = try makeChannel()
        let slow = try send([["BLPOP", "q", "0"]], on: channel, timeout: .seconds(1))
        let next = try send([["PING"]], on: channel, timeout: .seconds(30))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        #expect(slow.isPending)
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(slow.error == .timedOut(after: .seconds(1)))
        #expect(slow.error?.message == "redis did not reply within 1.0 seconds")
        #expect(!channel.isActive)
        #expect(
            next.error?.message
                == "the connection to redis at test:6379 was closed: a command got no reply within 1.0 seconds")
    }

    /// Deadlines fire in their own order: a shorter timeout sent later fires first, and a command with none waits.
    @Test func aShorterTimeoutSentLaterStillFiresOnTime() throws {
        let channel = try makeChannel()
        let patient = try send([["GET", "a"]], on: channel, timeout: .seconds(30))
        let hasty = try send([["GET", "b"]], on: channel, timeout: .seconds(1))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        #expect(patient.isPending && hasty.isPending)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(hasty.error == .timedOut(after: .seconds(1)))
        #expect(patient.error?.message.hasPrefix("the connection to redis at test:6379 was closed") == true)

        let other = try makeChannel()
        let answered = try send([["GET", "a"]], on: other, timeout: .seconds(1))
        let forever = try send([["GET", "c"]], on: other)
        try reply(":1\r\n", on: other)
        other.embeddedEventLoop.advanceTime(by: .seconds(3600))
        #expect(answered.value == [.integer(1)])
        #expect(forever.isPending)
        #expect(other.isActive)
    }

    @Test func closingFailsEveryPendingCommand() throws {
        let channel = try makeChannel()
        let first = try send([["BLPOP", "q", "0"]], on: channel)
        let second = try send([["PING"], ["PING"]], on: channel)
        try channel.close().wait()
        let expected = RedisError.connectionClosed("the connection to redis at test:6379 was closed by the client")
        #expect(first.error == expected)
        #expect(second.error == expected)
    }

    @Test func theServerClosingFailsPendingCommandsAndLaterOnesAtOnce() throws {
        let channel = try makeChannel()
        let pending = try send([["GET", "k"]], on: channel)
        channel.pipeline.fireChannelInactive()
        #expect(pending.error == .connectionClosed("redis at test:6379 closed the connection"))
        let late = try send([["GET", "k"]], on: channel)
        #expect(late.error == .connectionClosed("the connection to redis at test:6379 is closed"))
    }

    @Test func malformedRepliesCloseTheConnectionWithAProtocolError() throws {
        let channel = try makeChannel()
        let answered = try send([["GET", "k"]], on: channel)
        let next = try send([["GET", "k"]], on: channel)
        try? reply("+OK\r\n?oops\r\n", on: channel)
        #expect(answered.value == [.simpleString(ByteBuffer(string: "OK"))])
        #expect(next.error == .protocolViolation("malformed RESP at byte 5: unknown type byte 0x3F ('?')"))
        #expect(
            next.error?.message == "redis broke the protocol: malformed RESP at byte 5: unknown type byte 0x3F ('?')"
        )
        #expect(!channel.isActive)
    }

    @Test func aReplyNobodyAskedForClosesTheConnection() throws {
        let channel = try makeChannel()
        try reply("+OK\r\n", on: channel)
        #expect(!channel.isActive)
    }

    @Test func pushMessagesAreNotReplies() throws {
        let channel = try makeChannel()
        let pending = try send([["GET", "k"]], on: channel)
        try reply(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n$1\r\nv\r\n", on: channel)
        #expect(pending.value == [.bulkString(ByteBuffer(string: "v"))])
    }

    @Test func pubSubMessagesGoToTheStreamAndConfirmationsEndAtThePong() async throws {
        let (messages, continuation) = AsyncStream.makeStream(of: RedisMessage.self)
        let channel = try makeChannel(messages: continuation)
        let subscribed = try sendPong([["SUBSCRIBE", "a", "b"], ["PSUBSCRIBE", "n.*"]], on: channel)
        try reply("*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n", on: channel)
        try reply("*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nhello\r\n", on: channel)
        try reply("*3\r\n$10\r\npsubscribe\r\n$3\r\nn.*\r\n:3\r\n", on: channel)
        #expect(subscribed.isPending)
        try reply("*2\r\n$4\r\npong\r\n$0\r\n\r\n", on: channel)
        #expect(subscribed.value != nil)
        try reply("*4\r\n$8\r\npmessage\r\n$3\r\nn.*\r\n$3\r\nn.x\r\n$2\r\nhi\r\n", on: channel)
        try reply(">3\r\n$7\r\nmessage\r\n$1\r\nb\r\n$4\r\npush\r\n", on: channel)
        continuation.finish()
        var received: [RedisMessage] = []
        for await message in messages { received.append(message) }
        #expect(
            received == [
                RedisMessage(channel: "a", pattern: nil, payload: ByteBuffer(string: "hello")),
                RedisMessage(channel: "n.x", pattern: "n.*", payload: ByteBuffer(string: "hi")),
                RedisMessage(channel: "b", pattern: nil, payload: ByteBuffer(string: "push")),
            ]
        )
    }

    @Test func aPubSubCommandFailsWithTheFirstErrorBeforeItsPong() throws {
        let (_, continuation) = AsyncStream.makeStream(of: RedisMessage.self)
        let channel = try makeChannel(messages: continuation)
        let refused = try sendPong([["SUBSCRIBE", "secret"]], on: channel)
        let fine = try sendPong([["UNSUBSCRIBE"]], on: channel)
        try reply("-NOPERM this user has no permissions to access the 'secret' channel\r\n+PONG\r\n", on: channel)
        #expect(refused.error == .server("NOPERM this user has no permissions to access the 'secret' channel"))
        try reply("*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n+PONG\r\n", on: channel)
        #expect(fine.value != nil)
    }
}

extension EventLoopPromise where Value == [RESPValue] {
    /// A promise for one reply that completes this one with a one-element array, so tests treat both kinds alike.
    fileprivate func mapSingle(on channel: EmbeddedChannel) -> EventLoopPromise<RESPValue> {
        let single = channel.eventLoop.makePromise(of: RESPValue.self)
        completeWith(single.futureResult.map { [$0] })
        return single
    }
}
