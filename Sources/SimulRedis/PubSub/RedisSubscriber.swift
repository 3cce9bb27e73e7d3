public import Logging
public import NIOCore
public import NIOPosix
import Synchronization
import SimulRESP

/// A dedicated connection that listens to pub/sub channels and patterns, and resubscribes after a reconnect.
///
/// Messages from every subscription arrive in ``messages``, in the order Redis sent them. If the server goes
/// away, the subscriber reconnects (at once, then with ``RedisConfiguration/reconnectBackoff``) and subscribes
/// again to everything it was subscribed to; messages published while it was disconnected are lost, as pub/sub
/// promises no more.
///
/// ```swift
/// let subscriber = try await RedisSubscriber.connect(to: RedisConfiguration(host: "127.0.0.1"))
/// try await subscriber.subscribe(to: ["orders"])
/// try await subscriber.psubscribe(to: ["metrics.*"])
/// for await message in subscriber.messages {
///     print(message.channel, message.pattern ?? "-", String(buffer: message.payload))
/// }
/// ```
public final class RedisSubscriber: Sendable {
    private struct State {
        var connection: RedisConnection?
        var channels: Set<String> = []
        var patterns: Set<String> = []
        var isClosed = false
        var reconnection: Task<Void, Never>?
    }

    /// The messages of every subscription, until ``close()``. Iterate it from one task; it buffers what is not
    /// read yet without bound, so read it steadily.
    public let messages: AsyncStream<RedisMessage>
    private let continuation: AsyncStream<RedisMessage>.Continuation
    private let state = Mutex(State())
    private let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let onResubscribe: @Sendable () -> Void

    private init(
        configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger,
        onResubscribe: @escaping @Sendable () -> Void
    ) {
        (messages, continuation) = AsyncStream.makeStream(of: RedisMessage.self)
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.onResubscribe = onResubscribe
    }

    /// Opens the subscriber's connection.
    /// - Parameters:
    ///   - configuration: where Redis is, how to log in, and the reconnection backoff.
    ///   - eventLoopGroup: the event loops to run the connection on; NIO's shared singleton by default.
    ///   - logger: where the subscriber reports connections lost and made.
    ///   - onResubscribe: called after a reconnect has subscribed again, so the caller can read what was published
    ///     while it was away.
    /// - Returns: a subscriber with no subscriptions yet.
    /// - Throws: as ``RedisConnection/connect(to:eventLoopGroup:logger:)`` does.
    public static func connect(
        to configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "simul.redis.subscriber"),
        onResubscribe: @escaping @Sendable () -> Void = {}
    ) async throws -> RedisSubscriber {
        let subscriber = RedisSubscriber(
            configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger, onResubscribe: onResubscribe)
        let connection = try await subscriber.openConnection()
        _ = subscriber.adopt(connection)
        return subscriber
    }

    /// Subscribes to channels (`SUBSCRIBE`).
    /// - Parameter channels: the channel names; at least one.
    /// - Throws: ``RedisError/server(_:)`` if Redis refuses, ``RedisError/connectionClosed(_:)`` if the connection
    ///   is lost meanwhile (the subscription is made on reconnect all the same), or ``RedisError/poolClosed``.
    public func subscribe(to channels: [String]) async throws {
        precondition(!channels.isEmpty, "subscribe(to:) needs at least one channel")
        try await change("SUBSCRIBE", channels) { $0.channels.formUnion(channels) }
    }

    /// Subscribes to channel patterns such as `news.*` (`PSUBSCRIBE`); their messages carry the pattern.
    /// - Parameter patterns: the glob-style patterns; at least one.
    /// - Throws: as ``subscribe(to:)`` does.
    public func psubscribe(to patterns: [String]) async throws {
        precondition(!patterns.isEmpty, "psubscribe(to:) needs at least one pattern")
        try await change("PSUBSCRIBE", patterns) { $0.patterns.formUnion(patterns) }
    }

    /// Unsubscribes from channels (`UNSUBSCRIBE`).
    /// - Parameter channels: the channel names; none, the default, means every channel.
    /// - Throws: as ``subscribe(to:)`` does.
    public func unsubscribe(from channels: [String] = []) async throws {
        try await change("UNSUBSCRIBE", channels) {
            if channels.isEmpty { $0.channels.removeAll() } else { $0.channels.subtract(channels) }
        }
    }

    /// Unsubscribes from channel patterns (`PUNSUBSCRIBE`).
    /// - Parameter patterns: the patterns; none, the default, means every pattern.
    /// - Throws: as ``subscribe(to:)`` does.
    public func punsubscribe(from patterns: [String] = []) async throws {
        try await change("PUNSUBSCRIBE", patterns) {
            if patterns.isEmpty { $0.patterns.removeAll() } else { $0.patterns.subtract(patterns) }
        }
    }

    /// Closes the connection, stops reconnecting, and ends ``messages``.
    public func close() async {
        let (connection, reconnection) = state.withLock { state in
            state.isClosed = true
            defer {
                state.connection = nil
                state.reconnection = nil
            }
            return (state.connection, state.reconnection)
        }
        reconnection?.cancel()
        await connection?.close()
        continuation.finish()
    }

    /// Records the change, so a reconnect repeats it, and sends it if connected. The command is written while
    /// the lock is held, so changes reach Redis in the order they were recorded, after any resubscription.
    private func change(_ command: RedisArgument, _ names: [String], update: (inout State) -> Void) async throws {
        let confirmation = try state.withLock { state throws(RedisError) in
            guard !state.isClosed else { throw RedisError.poolClosed }
            update(&state)
            return state.connection?.sendPubSub([[command] + names.map { RedisArgument($0) }])
        }
        try await confirmation?.get()
    }

    private func openConnection() async throws -> RedisConnection {
        try await RedisConnection.connect(
            to: configuration, eventLoopGroup: eventLoopGroup, logger: logger, messages: continuation
        )
    }

    /// Makes `connection` the subscriber's and subscribes it to everything recorded.
    /// - Returns: the subscriptions' confirmation, or `nil` if there was nothing to subscribe to or the subscriber
    ///   is closed (then the connection is closed too).
    private func adopt(_ connection: RedisConnection) -> EventLoopFuture<Void>? {
        let (adopted, confirmation) = state.withLock { state -> (Bool, EventLoopFuture<Void>?) in
            guard !state.isClosed else { return (false, nil) }
            state.connection = connection
            var commands: [[RedisArgument]] = []
            if !state.channels.isEmpty { commands.append(["SUBSCRIBE"] + state.channels.map { RedisArgument($0) }) }
            if !state.patterns.isEmpty { commands.append(["PSUBSCRIBE"] + state.patterns.map { RedisArgument($0) }) }
            return (true, commands.isEmpty ? nil : connection.sendPubSub(commands))
        }
        guard adopted else {
            connection.channel.close(promise: nil)
            return nil
        }
        connection.closeFuture.whenComplete { _ in self.lost(connection) }
        return confirmation
    }

    private func lost(_ connection: RedisConnection) {
        let reconnecting = state.withLock { state in
            guard !state.isClosed, state.connection === connection else { return false }
            state.connection = nil
            state.reconnection = Task { await self.reconnect() }
            return true
        }
        if reconnecting {
            logger.warning(
                "lost the connection, reconnecting", metadata: ["redis.endpoint": "\(configuration.endpoint)"])
        }
    }

    /// Connects again, with backoff between failed attempts, and resubscribes. Once a connection is adopted, its
    /// close handler takes over, should it be lost too.
    private func reconnect() async {
        var failures = 0
        while !Task.isCancelled {
            let connection: RedisConnection
            do {
                connection = try await openConnection()
            } catch {
                failures += 1
                let delay = configuration.reconnectBackoff.delay(afterFailures: failures)
                logger.debug(
                    "reconnection attempt failed",
                    metadata: [
                        "redis.endpoint": "\(configuration.endpoint)", "error": "\(error)", "retry-in": "\(delay)",
                    ]
                )
                do { try await Task.sleep(for: delay) } catch { return }
                continue
            }
            do {
                try await adopt(connection)?.get()
                logger.info("reconnected and resubscribed", metadata: ["redis.endpoint": "\(configuration.endpoint)"])
                onResubscribe()
            } catch {
                logger.warning(
                    "resubscribing after a reconnect failed",
                    metadata: ["redis.endpoint": "\(configuration.endpoint)", "error": "\(error)"]
                )
            }
            return
        }
    }
}
