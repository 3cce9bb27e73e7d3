public import Logging
import Simul
public import SimulQueue
import SimulRedisBroker
import SimulSQLite

/// A broker and a result backend, opened from their URLs: the one factory that the CLI, the dashboard, the bench
/// and users' apps call, so only this module knows each broker's type and each URL's options.
///
/// ```swift
/// let queue = try QueueConnection(broker: "redis://127.0.0.1:6379/0")
/// let client = QueueClient(broker: queue.broker, backend: queue.backend)
/// print(try await client.send("simul.add", args: [2, 3]).get(timeout: .seconds(10)))
/// await queue.close()
/// ```
///
/// URLs: `sqlite://PATH` (one machine, many processes; the file's folder is made if missing), `redis://…`
/// (see ``RedisBroker``), and `memory://` (this process only, for tests). When the backend URL is the broker's,
/// or is not given, one object serves both.
public struct QueueConnection: Sendable {
    /// The broker messages go through.
    public let broker: any Broker
    /// Where results are stored.
    public let backend: any ResultBackend
    private let closers: [@Sendable () async -> Void]

    /// How the connection is opened.
    public struct Options: Sendable {
        /// Seconds a stored result is kept; each backend's default (one day) when `nil`.
        public var resultExpiry: Double?
        /// Redis connections for commands: 1 serves a short-lived client; a worker, a beat or a dashboard keeps
        /// more. Waiting for results adds one pub/sub connection.
        public var connections: Int
        /// Where the brokers report.
        public var logger: Logger
        /// The brokers' time: the system's, or a ``ManualClock`` in tests.
        public var clock: any QueueClock

        /// Options with the defaults: each backend's result expiry, 4 connections, the system's clock.
        public init(
            resultExpiry: Double? = nil, connections: Int = 4, logger: Logger = Logger(label: "simul.broker"),
            clock: any QueueClock = .system
        ) {
            self.resultExpiry = resultExpiry
            self.connections = connections
            self.logger = logger
            self.clock = clock
        }
    }

    /// Opens the broker at `broker`, and the backend at `backend` (the broker's URL by default).
    /// - Throws: ``QueueError`` for a bad URL or a broker that cannot be opened (an SQLite file that cannot be
    ///   created or opened names it), ``SecondsError`` for a result expiry out of range.
    public init(broker: String, backend: String? = nil, options: Options = .init()) throws {
        if let expiry = options.resultExpiry { _ = try Seconds.check(expiry, "the result expiry") }
        let brokerURL = try BrokerURL(broker)
        let backendURL = try backend.map(BrokerURL.init) ?? brokerURL
        let opened = try Self.open(brokerURL, options)
        self.broker = opened.broker
        guard backendURL != brokerURL else {
            self.backend = opened.backend
            closers = [opened.close]
            return
        }
        guard backendURL != .memory else {
            throw QueueError.badURL(backend ?? broker, "memory:// can be a backend only for a memory:// broker")
        }
        let separate = try Self.open(backendURL, options)
        self.backend = separate.backend
        closers = [opened.close, separate.close]
    }

    /// One store, which is both a broker and a result backend.
    private static func open(_ url: BrokerURL, _ options: Options) throws
        -> (broker: any Broker, backend: any ResultBackend, close: @Sendable () async -> Void)
    {
        switch url {
        case .memory:
            let memory = MemoryBroker(clock: options.clock)
            return (memory, memory, { await memory.close() })
        case .sqlite(let path):
            let sqlite = try SQLiteBroker(
                path: path, resultExpiry: options.resultExpiry ?? 86_400, logger: options.logger, clock: options.clock)
            return (sqlite, sqlite, { await sqlite.close() })
        case .redis(let url):
            let redis = try RedisBroker(
                url: url, resultExpiry: options.resultExpiry.map { Int($0.rounded()) } ?? 86_400,
                connections: options.connections, logger: options.logger, clock: options.clock)
            return (redis, redis, { await redis.close() })
        }
    }

    /// Closes the broker and the backend.
    public func close() async {
        for close in closers { await close() }
    }
}
