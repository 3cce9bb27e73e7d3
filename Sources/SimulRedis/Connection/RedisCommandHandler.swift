import DequeModule
import Logging
import NIOCore
import SimulRESP

/// Matches replies to commands in order, so any number of commands can be in flight on one connection.
///
/// Each outbound ``Request`` is already-encoded bytes plus the promise its replies complete; the handler flushes
/// by itself, once per turn of the event loop, so requests written together leave together. Replies complete the
/// oldest pending request (Redis answers in order). A request past its deadline is failed, and the connection is
/// closed: a server that let a command go unanswered may be gone without a word (a half-open connection, a
/// partition), and every command behind it in line would wait as long. Closing fails every pending request, and a
/// pool replaces the connection.
///
/// With a `messages` continuation, the handler also serves a subscriber: pub/sub messages go to the stream, and
/// subscription confirmations are dropped (the subscriber's commands end with a `PING` whose `pong` completes them).
/// Without one, RESP3 push messages, which are never replies, are dropped.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = Request
    typealias OutboundOut = ByteBuffer

    /// Encoded commands and the promise their replies complete.
    struct Request: Sendable {
        var bytes: ByteBuffer
        var reply: Reply
        var timeout: Duration?
    }

    /// What a request waits for.
    enum Reply: Sendable {
        /// One reply.
        case one(EventLoopPromise<RESPValue>)
        /// `count` replies, delivered together.
        case many(EventLoopPromise<[RESPValue]>, count: Int)
        /// Every reply up to a `PONG`, failing with the first error among them (pub/sub commands, which get no
        /// reply of their own in RESP2, end with a `PING`).
        case pong(EventLoopPromise<Void>)

        func fail(_ error: any Error) {
            switch self {
            case .one(let promise): promise.fail(error)
            case .many(let promise, _): promise.fail(error)
            case .pong(let promise): promise.fail(error)
            }
        }
    }

    private struct Pending {
        var reply: Reply
        var deadline: NIODeadline?
        var timeout: Duration?
    }

    private let endpoint: String
    private let messages: AsyncStream<RedisMessage>.Continuation?
    private let logger: Logger
    private var pending: Deque<Pending> = []
    /// The replies so far of the oldest request, when it is `.many`.
    private var collected: [RESPValue] = []
    /// The first error among the replies so far of the oldest request, when it is `.pong`.
    private var pongError: RedisError?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Set once the channel can take no more requests, with the error for those that come anyway.
    private var closedError: RedisError?
    private var closingByClient = false
    private var flushPending = false
    private var failure: RedisError?

    /// Whether a reply saying the server is no longer the master closes the connection (a sentinel's master).
    private let closesWhenDemoted: Bool

    init(
        endpoint: String, messages: AsyncStream<RedisMessage>.Continuation?, closesWhenDemoted: Bool = false,
        logger: Logger
    ) {
        self.endpoint = endpoint
        self.messages = messages
        self.closesWhenDemoted = closesWhenDemoted
        self.logger = logger
    }

    // MARK: - Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let closedError {
            request.reply.fail(closedError)
            promise?.fail(closedError)
            return
        }
        let deadline = request.timeout.map { context.eventLoop.now + TimeAmount($0) }
        pending.append(Pending(reply: request.reply, deadline: deadline, timeout: request.timeout))
        if let deadline, timerDeadline.map({ deadline < $0 }) ?? true {
            scheduleTimer(at: deadline, context: context)
        }
        context.write(wrapOutboundOut(request.bytes), promise: promise)
        if !flushPending {
            // Flush once the event loop has run the writes already queued, so commands sent by many tasks at
            // once leave in one system call.
            flushPending = true
            context.eventLoop.assumeIsolated().execute { [self] in
                flushPending = false
                context.flush()
            }
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all { closingByClient = true }
        context.close(mode: mode, promise: promise)
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if let messages, routePubSub(value, to: messages) { return }
        if case .push = value {
            logger.debug("dropped a RESP3 push message", metadata: ["redis.endpoint": "\(endpoint)"])
            return
        }
        guard let head = pending.first else {
            fail(.protocolViolation("a reply arrived with no command waiting for it"), context: context)
            return
        }
        defer {
            if closesWhenDemoted, case .error(let message) = value,
                message.hasPrefix("READONLY ") || message.hasPrefix("UNBLOCKED ")
            {
                fail(.connectionClosed("redis at \(endpoint) is no longer the master: \(message)"), context: context)
            }
        }
        switch head.reply {
        case .one(let promise):
            pending.removeFirst()
            promise.succeed(value)
        case .many(let promise, let count):
            if collected.isEmpty { collected.reserveCapacity(count) }
            collected.append(value)
            if collected.count == count {
                pending.removeFirst()
                promise.succeed(collected)
                collected = []
            }
        case .pong(let promise):
            if Self.isPong(value) {
                pending.removeFirst()
                if let pongError {
                    promise.fail(pongError)
                } else {
                    promise.succeed(())
                }
                pongError = nil
            } else if case .error(let message) = value, pongError == nil {
                pongError = .server(message)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // TLS reports a close without `close_notify` as an error: this client closing, or the server hanging up.
        // Either is a close, which `channelInactive` names as such.
        if closingByClient || RedisTLS.isUncleanShutdown(error) {
            context.close(promise: nil)
            return
        }
        let reason =
            if let error = error as? RESPError {
                RedisError.protocolViolation(error.description)
            } else {
                RedisError.connectionFailed(at: endpoint, RedisConnection.describe(error))
            }
        fail(reason, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error =
            failure
            ?? .connectionClosed(
                closingByClient
                    ? "the connection to redis at \(endpoint) was closed by the client"
                    : "redis at \(endpoint) closed the connection"
            )
        closedError = .connectionClosed("the connection to redis at \(endpoint) is closed")
        timer?.cancel()
        timer = nil
        let abandoned = pending
        pending.removeAll()
        collected = []
        if !abandoned.isEmpty {
            logger.debug(
                "connection closed with commands in flight",
                metadata: ["redis.endpoint": "\(endpoint)", "redis.pending": "\(abandoned.count)"]
            )
        }
        for request in abandoned { request.reply.fail(error) }
        context.fireChannelInactive()
    }

    private func fail(_ error: RedisError, context: ChannelHandlerContext) {
        if failure == nil { failure = error }
        logger.debug("closing the connection", metadata: ["redis.endpoint": "\(endpoint)", "error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: - Timeouts

    private func scheduleTimer(at deadline: NIODeadline, context: ChannelHandlerContext) {
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timerFired(context: context)
        }
    }

    /// Fails the requests past their deadline and closes the connection, failing the rest; with none past it,
    /// schedules the next check for the earliest deadline.
    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        timerDeadline = nil
        let now = context.eventLoop.now
        var next: NIODeadline?
        var unanswered: Duration?
        for index in pending.indices {
            guard let deadline = pending[index].deadline else { continue }
            if deadline <= now {
                let timeout = pending[index].timeout ?? .zero
                pending[index].reply.fail(RedisError.timedOut(after: timeout))
                pending[index].deadline = nil
                unanswered = timeout
            } else if next.map({ deadline < $0 }) ?? true {
                next = deadline
            }
        }
        if let unanswered {
            let seconds = RedisError.timedOut(after: unanswered).message.replacing("redis did not reply", with: "")
            fail(
                .connectionClosed(
                    "the connection to redis at \(endpoint) was closed: a command got no reply\(seconds)"),
                context: context)
        } else if let next {
            scheduleTimer(at: next, context: context)
        }
    }

    // MARK: - Pub/sub

    /// Sends a pub/sub message to the stream and drops a subscription confirmation.
    /// - Returns: whether `value` was either.
    private func routePubSub(_ value: RESPValue, to messages: AsyncStream<RedisMessage>.Continuation) -> Bool {
        let items: [RESPValue]
        switch value {
        case .array(let elements), .push(let elements): items = elements
        default: return false
        }
        guard case .bulkString(let kind)? = items.first else { return false }
        let view = kind.readableBytesView
        switch items.count {
        case 3 where view.elementsEqual("message".utf8):
            guard let channel = items[1].string, case .bulkString(let payload) = items[2] else { return false }
            messages.yield(RedisMessage(channel: channel, pattern: nil, payload: payload))
            return true
        case 4 where view.elementsEqual("pmessage".utf8):
            guard let pattern = items[1].string, let channel = items[2].string,
                case .bulkString(let payload) = items[3]
            else { return false }
            messages.yield(RedisMessage(channel: channel, pattern: pattern, payload: payload))
            return true
        case 3:
            return Self.confirmations.contains { view.elementsEqual($0.utf8) }
        default:
            return false
        }
    }

    private static let confirmations = ["subscribe", "unsubscribe", "psubscribe", "punsubscribe"]

    /// `PONG` as a plain reply, or `["pong", ""]` in RESP2's subscribed mode.
    private static func isPong(_ value: RESPValue) -> Bool {
        switch value {
        case .simpleString(let text):
            return text.readableBytesView.elementsEqual("PONG".utf8)
        case .array(let items) where items.count == 2:
            guard case .bulkString(let kind) = items[0] else { return false }
            return kind.readableBytesView.elementsEqual("pong".utf8)
        default:
            return false
        }
    }
}
