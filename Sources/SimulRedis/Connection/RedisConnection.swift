public import Logging
public import NIOCore
public import NIOPosix
import NIOSSL
import Synchronization
public import SimulRESP

#if canImport(Glibc)
    import Glibc
#endif

/// One TCP connection to Redis, on which any number of commands can be in flight at once (pipelining).
///
/// Concurrent ``send(_:)`` calls from many tasks share the connection: commands sent at about the same time leave
/// in one flush, and replies are matched to commands in order. ``pipeline(_:)`` writes a batch as one buffer.
///
/// A blocking command (`BLPOP`, `BRPOP`, `BLMOVE`, `XREAD BLOCK`, …) holds up every command sent after it on the
/// same connection until it returns, so run blocking commands on a connection of their own, never on one that
/// others share (such as a ``RedisConnectionPool``'s), and give it a ``RedisConfiguration/commandTimeout`` longer
/// than the block, or none.
///
/// Dropping the last reference closes the connection, but ``close()`` is the way to wait until it is closed.
///
/// ```swift
/// let redis = try await RedisConnection.connect(to: RedisConfiguration(url: "redis://127.0.0.1:6379"))
/// try await redis.send("SET", "greeting", "hello")
/// let greeting = try await redis.send("GET", "greeting").string  // "hello"
/// let counts = try await redis.pipeline([["INCR", "a"], ["INCR", "a"]])  // [.integer(1), .integer(2)]
/// await redis.close()
/// ```
public final class RedisConnection: Sendable {
    /// Whether this process has warned that a TLS connection does not check its server.
    private static let warnedUnverified = Atomic(false)

    let channel: any Channel
    /// The configuration the connection was opened with.
    public let configuration: RedisConfiguration

    private init(channel: any Channel, configuration: RedisConfiguration) {
        self.channel = channel
        self.configuration = configuration
    }

    /// A connection nobody holds any more closes its socket.
    deinit {
        channel.close(promise: nil)
    }

    /// Opens a connection, then authenticates with `AUTH` and selects the database with `SELECT`, as configured.
    /// - Parameters:
    ///   - configuration: where Redis is and how to log in.
    ///   - eventLoopGroup: the event loops to run the connection on; NIO's shared singleton by default.
    ///   - logger: where the connection reports what it does (at debug level and below).
    /// - Returns: the open connection.
    /// - Throws: ``RedisError/cannotConnect(to:_:)``, ``RedisError/authenticationFailed(at:_:)`` or
    ///   ``RedisError/invalidDatabase(_:_:)``.
    public static func connect(
        to configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "simul.redis")
    ) async throws -> RedisConnection {
        try await connect(to: configuration, eventLoopGroup: eventLoopGroup, logger: logger, messages: nil)
    }

    /// Opens a connection whose pub/sub messages go to `messages`: to the server, or to the master the sentinels
    /// name.
    static func connect(
        to configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        messages: AsyncStream<RedisMessage>.Continuation?
    ) async throws -> RedisConnection {
        guard let sentinel = configuration.sentinel else {
            return try await connect(
                to: configuration, eventLoopGroup: eventLoopGroup, logger: logger, messages: messages, failover: false)
        }
        // The sentinels may still name the old master for a moment after a failover: ask again until the one they
        // name says it is the master, for as long as a connection may take.
        let deadline = ContinuousClock.now + configuration.connectTimeout
        while true {
            let master = try await sentinel.master(
                timeout: configuration.connectTimeout, eventLoopGroup: eventLoopGroup, logger: logger)
            var direct = configuration
            direct.sentinel = nil
            (direct.host, direct.port) = (master.host, master.port)
            let connection = try await connect(
                to: direct, eventLoopGroup: eventLoopGroup, logger: logger, messages: messages, failover: true)
            let role = try? await connection.send("ROLE")
            if case .array(let fields)? = role, fields.first?.string == "master" {
                RedisSentinelWatch.track(
                    connection, master: master, sentinel: sentinel, eventLoopGroup: eventLoopGroup, logger: logger)
                return connection
            }
            await connection.close()
            guard ContinuousClock.now < deadline else {
                throw RedisError.cannotConnect(
                    to: configuration.endpoint, "the sentinels name \(master) as the master, but it is not")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Opens a connection to `configuration`'s host; with `failover`, one that closes itself when the server says it
    /// is no longer the master (`READONLY`, `UNBLOCKED`), so that the next connection asks the sentinels again.
    private static func connect(
        to configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        messages: AsyncStream<RedisMessage>.Continuation?,
        failover: Bool
    ) async throws -> RedisConnection {
        let endpoint = configuration.endpoint
        let tls = try configuration.tls.map { tls throws(RedisError) in
            if tls.verification == .none, !warnedUnverified.exchange(true, ordering: .relaxed) {
                logger.warning(
                    "TLS to redis does not check the server's certificate (ssl_cert_reqs=none): anyone on the path can pose as the server",
                    metadata: ["redis.endpoint": "\(endpoint)"])
            }
            return try tls.makeContext()
        }
        // The server's name for SNI and the certificate check; an IP address is checked against the certificate's
        // IP addresses instead, and is not sent.
        let serverName = (try? SocketAddress(ipAddress: configuration.host, port: 0)) == nil ? configuration.host : nil
        let handshake = eventLoopGroup.any().makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandlers(
                            NIOSSLClientHandler(context: tls, serverHostname: serverName),
                            TLSHandshakeWatcher(done: handshake))
                    } else {
                        handshake.succeed(())
                    }
                    let decoder = ByteToMessageHandler(RESPDecoder(limits: configuration.parserLimits))
                    try channel.pipeline.syncOperations.addHandler(decoder)
                    let handler = RedisCommandHandler(
                        endpoint: endpoint, messages: messages, closesWhenDemoted: failover, logger: logger)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            handshake.fail(error)
            throw RedisError.cannotConnect(to: endpoint, describe(error))
        }
        // A server that takes the connection but never finishes the handshake gets the connect timeout too.
        let patience = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.connectTimeout)) {
            handshake.fail(ChannelError.connectTimeout(TimeAmount(configuration.connectTimeout)))
        }
        defer { patience.cancel() }
        do {
            try await handshake.futureResult.get()
        } catch {
            try? await channel.close()
            var reason = describe(error)
            if RedisTLS.isRefusalOfTheServer(error),
                let diagnosis = await configuration.tls?.diagnoseRefusal(
                    host: configuration.host, port: configuration.port, serverName: serverName,
                    eventLoopGroup: eventLoopGroup, timeout: configuration.connectTimeout)
            {
                reason = "TLS handshake failed: \(diagnosis)"
            }
            throw RedisError.cannotConnect(to: endpoint, reason)
        }
        let connection = RedisConnection(channel: channel, configuration: configuration)
        do {
            try await connection.handshake()
        } catch let error as RedisError where error.isConnectionClosed {
            // A server that hangs up before its first reply (or a TLS handshake that fails, which the first replies
            // wait for) is one that cannot be connected to.
            await connection.close()
            let closed =
                tls == nil
                ? "it closed the connection" : "it closed the connection (does it accept this client's certificate?)"
            throw RedisError.cannotConnect(to: endpoint, error.cause ?? closed)
        } catch {
            await connection.close()
            throw error
        }
        logger.debug("connected", metadata: ["redis.endpoint": "\(endpoint)"])
        return connection
    }

    /// Sends `AUTH` and `SELECT` in one write, as configured, or a `PING` when neither is, so that a server that
    /// wants a password says so here (`NOAUTH`) rather than on the first command.
    private func handshake() async throws {
        var commands: [[RedisArgument]] = []
        if let password = configuration.password {
            if let username = configuration.username {
                commands.append(["AUTH", RedisArgument(username), RedisArgument(password)])
            } else {
                commands.append(["AUTH", RedisArgument(password)])
            }
        }
        if configuration.database != 0 {
            commands.append(["SELECT", RedisArgument(configuration.database)])
        }
        if commands.isEmpty { commands.append(["PING"]) }
        let replies = try await pipeline(commands)
        if configuration.password != nil, case .error(let message) = replies[0] {
            throw RedisError.authenticationFailed(at: configuration.endpoint, message)
        }
        for case .error(let message) in replies where message.hasPrefix("NOAUTH") {
            throw RedisError.authenticationFailed(at: configuration.endpoint, message)
        }
        if configuration.database != 0, case .error(let message) = replies[replies.count - 1] {
            throw RedisError.invalidDatabase(configuration.database, message)
        }
    }

    /// Whether the connection is open; once closed, it stays closed.
    public var isOpen: Bool { channel.isActive }

    /// Sends a command and waits for its reply, within ``RedisConfiguration/commandTimeout``.
    ///
    /// ```swift
    /// let length = try await redis.send(["RPUSH", "queue", RedisArgument(jobBytes)]).int
    /// ```
    /// - Parameter command: the command's name and arguments.
    /// - Returns: the reply; never ``RESPValue/error(_:)``, which is thrown instead.
    /// - Throws: ``RedisError/server(_:)`` for an error reply, ``RedisError/timedOut(after:)``,
    ///   ``RedisError/connectionClosed(_:)``, or `CancellationError` if the task is cancelled while waiting.
    public func send(_ command: [RedisArgument]) async throws -> RESPValue {
        try await send(command, timeout: configuration.commandTimeout)
    }

    /// Sends a command given as separate arguments, such as `send("GET", "key")`; see ``send(_:)``.
    /// - Parameter command: the command's name and arguments.
    /// - Returns: the reply.
    /// - Throws: as ``send(_:)`` does.
    @discardableResult
    public func send(_ command: RedisArgument...) async throws -> RESPValue {
        try await send(command, timeout: configuration.commandTimeout)
    }

    /// Sends a command and waits for its reply, within `timeout`.
    ///
    /// A timeout closes the connection: a server that let one command go unanswered may be gone without a word.
    /// - Parameters:
    ///   - command: the command's name and arguments.
    ///   - timeout: how long to wait for the reply; `nil` waits as long as it takes.
    /// - Returns: the reply; never ``RESPValue/error(_:)``, which is thrown instead.
    /// - Throws: as ``send(_:)`` does.
    public func send(_ command: [RedisArgument], timeout: Duration?) async throws -> RESPValue {
        var bytes = channel.allocator.buffer(capacity: 64)
        bytes.writeRESPCommand(command)
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        write(RedisCommandHandler.Request(bytes: bytes, reply: .one(promise), timeout: timeout))
        let reply = try await result(of: promise)
        if case .error(let message) = reply { throw RedisError.server(message) }
        return reply
    }

    /// Sends commands in one write and one flush, and waits for all their replies, within
    /// ``RedisConfiguration/commandTimeout`` for the batch.
    ///
    /// Error replies are returned as ``RESPValue/error(_:)`` in their place, so each command's outcome shows.
    /// The batch reaches Redis unbroken by other tasks' commands, so `[["MULTI"], …, ["EXEC"]]` is a transaction.
    ///
    /// ```swift
    /// let replies = try await redis.pipeline((0..<1000).map { _ in ["INCR", "hits"] })
    /// ```
    /// - Parameter commands: the commands, each its name and arguments.
    /// - Returns: one reply per command, in order.
    /// - Throws: ``RedisError/timedOut(after:)``, ``RedisError/connectionClosed(_:)``, or `CancellationError`.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RESPValue] {
        try await pipeline(commands, timeout: configuration.commandTimeout)
    }

    /// Sends commands in one write and one flush, and waits for their replies within `timeout`; see
    /// ``pipeline(_:)``.
    /// - Parameters:
    ///   - commands: the commands, each its name and arguments.
    ///   - timeout: how long to wait for all the replies; `nil` waits as long as it takes.
    /// - Returns: one reply per command, in order.
    /// - Throws: as ``pipeline(_:)`` does.
    public func pipeline(_ commands: [[RedisArgument]], timeout: Duration?) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        var bytes = channel.allocator.buffer(capacity: 32 * commands.count)
        for command in commands { bytes.writeRESPCommand(command) }
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        write(RedisCommandHandler.Request(bytes: bytes, reply: .many(promise, count: commands.count), timeout: timeout))
        return try await result(of: promise)
    }

    /// Writes pub/sub commands followed by a `PING`.
    /// - Returns: a future that succeeds on the `PONG`, or fails with the first error reply before it.
    func sendPubSub(_ commands: [[RedisArgument]]) -> EventLoopFuture<Void> {
        var bytes = channel.allocator.buffer(capacity: 64)
        for command in commands { bytes.writeRESPCommand(command) }
        bytes.writeRESPCommand(["PING"])
        let promise = channel.eventLoop.makePromise(of: Void.self)
        write(RedisCommandHandler.Request(bytes: bytes, reply: .pong(promise), timeout: configuration.commandTimeout))
        return promise.futureResult
    }

    /// Closes the connection; commands still waiting for replies throw ``RedisError/connectionClosed(_:)``.
    public func close() async {
        channel.close(promise: nil)
        try? await channel.closeFuture.get()
    }

    /// Succeeds when the connection closes, whoever closed it.
    var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    private func write(_ request: RedisCommandHandler.Request) {
        let reply = request.reply
        let endpoint = configuration.endpoint
        channel.write(request).whenFailure { error in
            switch error {
            case let error as RedisError:
                reply.fail(error)
            case ChannelError.ioOnClosedChannel, ChannelError.alreadyClosed:
                reply.fail(RedisError.connectionClosed("the connection to redis at \(endpoint) is closed"))
            default:
                reply.fail(RedisError.connectionFailed(at: endpoint, Self.describe(error)))
            }
        }
    }

    private func result<Value: Sendable>(of promise: EventLoopPromise<Value>) async throws -> Value {
        try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            promise.fail(CancellationError())
        }
    }

    /// A short cause for a connection failure, such as `connection refused`.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as NIOConnectionError:
            if let failure = error.connectionErrors.first { return describe(failure.error) }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve '\(error.host)': \(dns)" }
            return "cannot resolve '\(error.host)'"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode)).lowercased()
        case ChannelError.connectTimeout(let timeout):
            return "no connection within \(Duration.nanoseconds(timeout.nanoseconds))"
        case ChannelError.eof:
            return "the server closed the connection"
        case is NIOSSLError, is BoringSSLError:
            return RedisTLS.reason(error)
        default:
            return "\(error)"
        }
    }
}
