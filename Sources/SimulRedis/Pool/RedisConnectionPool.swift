public import Logging
public import NIOCore
public import NIOPosix
public import SimulRESP

/// A few shared, pipelined connections to one Redis server that come back by themselves after the server
/// restarts.
///
/// Each command goes to the next connected connection, round-robin, and many commands share one connection at a
/// time (pipelining), so a handful of connections serve any number of tasks. The first command opens the
/// connections. When the server goes away, commands in flight throw ``RedisError/connectionClosed(_:)`` (Redis may
/// or may not have run them; the pool never retries them), and each connection is made again, at once and then
/// with ``RedisConfiguration/reconnectBackoff`` between failed attempts. While no connection is up, commands throw
/// the last connection error at once rather than queue.
///
/// Blocking commands (`BLPOP`, …) hold up every command behind them on a connection: run them on a
/// ``RedisConnection`` of their own. A `MULTI` … `EXEC` transaction goes in one ``pipeline(_:)``.
///
/// ```swift
/// let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: "redis://127.0.0.1:6379"))
/// let visits = try await pool.send("INCR", "visits").int
/// await pool.close()
/// ```
public final class RedisConnectionPool: Sendable {
    private let storage: Storage

    /// Creates a pool; it connects on first use.
    /// - Parameters:
    ///   - configuration: where Redis is, how to log in, and the timeouts and backoff.
    ///   - size: how many connections to keep, at least 1; 4 by default.
    ///   - eventLoopGroup: the event loops to run the connections on; NIO's shared singleton by default.
    ///   - logger: where the pool reports connections lost and made.
    public init(
        configuration: RedisConfiguration,
        size: Int = 4,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "simul.redis.pool")
    ) {
        storage = Storage(configuration: configuration, size: size, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// The configuration the pool's connections use.
    public var configuration: RedisConfiguration { storage.configuration }

    /// A connected connection from the pool, round-robin, for ``RedisConnection/send(_:timeout:)`` and the like.
    ///
    /// Other tasks share it: do not close it, and do not run blocking commands on it.
    /// - Returns: a connection; the first call waits until one is made.
    /// - Throws: the last connection error (such as ``RedisError/cannotConnect(to:_:)``) while Redis is
    ///   unreachable, or ``RedisError/poolClosed``.
    public func connection() async throws -> RedisConnection {
        try await storage.connection()
    }

    /// Sends a command on one of the pool's connections; see ``RedisConnection/send(_:)``.
    /// - Parameter command: the command's name and arguments.
    /// - Returns: the reply; an error reply is thrown as ``RedisError/server(_:)``.
    /// - Throws: as ``RedisConnection/send(_:)`` and ``connection()`` do.
    public func send(_ command: [RedisArgument]) async throws -> RESPValue {
        try await storage.connection().send(command)
    }

    /// Sends a command given as separate arguments, such as `send("INCR", "visits")`; see ``send(_:)``.
    /// - Parameter command: the command's name and arguments.
    /// - Returns: the reply.
    /// - Throws: as ``send(_:)`` does.
    @discardableResult
    public func send(_ command: RedisArgument...) async throws -> RESPValue {
        try await storage.connection().send(command)
    }

    /// Sends commands in one write on one of the pool's connections; see ``RedisConnection/pipeline(_:)``.
    /// - Parameter commands: the commands, each its name and arguments.
    /// - Returns: one reply per command, in order, error replies included as ``RESPValue/error(_:)``.
    /// - Throws: as ``RedisConnection/pipeline(_:)`` and ``connection()`` do.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RESPValue] {
        try await storage.connection().pipeline(commands)
    }

    /// Closes the connections and stops reconnecting; later commands throw ``RedisError/poolClosed``.
    public func close() async {
        await storage.close()
    }
}
