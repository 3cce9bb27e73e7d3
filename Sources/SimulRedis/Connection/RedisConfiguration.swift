public import SimulRESP

/// Where Redis is, how to log in, and the client's timeouts and limits.
///
/// ```swift
/// var configuration = try RedisConfiguration(url: "redis://:secret@127.0.0.1:6379/2")
/// configuration.commandTimeout = .seconds(5)
/// ```
public struct RedisConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// The server's host name or IP address.
    public var host: String
    /// The server's TCP port.
    public var port: Int
    /// The user name for `AUTH` (Redis 6 ACLs); `nil` logs in as `default` when a password is set.
    public var username: String?
    /// The password for `AUTH`; `nil` sends no `AUTH`.
    public var password: String?
    /// The database that each new connection selects with `SELECT`.
    public var database: Int
    /// TLS for every connection, as a `rediss://` URL asks; `nil` speaks plain TCP.
    public var tls: RedisTLS?
    /// The sentinels to ask where the server is, as a `sentinel://` URL gives them; then ``host`` and ``port`` are
    /// the first sentinel's, and each connection goes to the master they name.
    public var sentinel: RedisSentinel?
    /// What every key and pub/sub channel of a Celery broker on this server begins with: kombu's
    /// `global_keyprefix`, so that several applications can share one Redis; empty by default.
    public var keyPrefix: String
    /// After each write of messages, wait until this many replicas have it too (Redis's `WAIT`), so a failover
    /// cannot lose a message its sender was told was sent; 0, the default, does not wait.
    public var waitReplicas: Int
    /// How long a command may wait for its reply before it throws ``RedisError/timedOut(after:)``; `nil` waits
    /// forever. Give a connection that runs blocking commands (`BLPOP key 0`) a longer timeout or none.
    public var commandTimeout: Duration?
    /// How long opening a TCP connection may take.
    public var connectTimeout: Duration
    /// The delays between reconnection attempts of ``RedisConnectionPool`` and ``RedisSubscriber``.
    public var reconnectBackoff: RedisBackoff
    /// The bounds the reply parser enforces.
    public var parserLimits: RESPParser.Limits

    /// Creates a configuration.
    /// - Parameters:
    ///   - host: the server's host name or IP address.
    ///   - port: the server's TCP port, 6379 by default.
    ///   - username: the `AUTH` user name, if any.
    ///   - password: the `AUTH` password, if any.
    ///   - database: the database to `SELECT`, 0 by default.
    public init(host: String, port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        precondition((1...65535).contains(port), "a port is between 1 and 65535, got \(port)")
        precondition(database >= 0, "a redis database number is not negative, got \(database)")
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        waitReplicas = 0
        keyPrefix = ""
        commandTimeout = .seconds(30)
        connectTimeout = .seconds(10)
        reconnectBackoff = RedisBackoff()
        parserLimits = RESPParser.Limits()
    }

    /// `host:port`, with IPv6 addresses in brackets, as error messages show the server; through sentinels, the
    /// master's name.
    public var endpoint: String {
        if let sentinel { return "the master '\(sentinel.masterName)'" }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The configuration as a URL with the password masked, such as `redis://:***@127.0.0.1:6379/2`, or
    /// `rediss://…` with TLS (its files are not shown).
    public var description: String {
        var credentials = ""
        if password != nil {
            credentials = "\(username ?? ""):***@"
        }
        guard let sentinel else { return "\(tls == nil ? "redis" : "rediss")://\(credentials)\(endpoint)/\(database)" }
        let sentinels = sentinel.sentinels.map { "sentinel://\(credentials)\($0)" }.joined(separator: ";")
        return "\(sentinels)/\(database)?master_name=\(sentinel.masterName)"
    }
}
