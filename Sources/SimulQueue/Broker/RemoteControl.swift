public import SimulJSON

/// A broker that carries remote-control commands to workers: Celery's pidbox, which `celery inspect`,
/// `celery control` and Flower use to ping workers, read their state and revoke tasks.
public protocol RemoteControlBroker: Broker {
    /// Starts listening for the commands addressed to `node` or to every worker.
    /// - Parameter node: the worker's node name, such as `simul@host`.
    /// - Returns: the commands, in the order they arrive, until the broker closes.
    /// - Throws: ``QueueError`` when the broker cannot be reached.
    func controlRequests(for node: String) async throws -> AsyncStream<ControlRequest>

    /// Sends `node`'s answer to `request`; does nothing for a cast, which wants none.
    /// - Throws: ``QueueError`` when the broker cannot be reached.
    func reply(to request: ControlRequest, from node: String, with answer: JSONValue) async throws

    /// Sends a command to the workers, as `celery inspect` and `celery control` do, and collects their answers.
    ///
    /// Answers are collected until `timeout` passes with none arriving (each answer restarts it, as kombu's
    /// collection does), or until `limit` answers came. Python and Swift workers answer alike.
    /// - Parameters:
    ///   - method: the command, such as `ping` or `rate_limit`.
    ///   - arguments: its arguments, as Celery names them.
    ///   - destination: the node names to ask; every worker when `nil`.
    ///   - reply: whether to wait for answers; a cast (`false`) returns none at once.
    ///   - timeout: how long to wait for the next answer.
    ///   - limit: stop after this many answers; the destination's size when it is given.
    /// - Returns: each answer with the node that gave it, in the order they came.
    /// - Throws: ``QueueError`` when the broker cannot be reached.
    func broadcast(
        _ method: String, arguments: [String: JSONValue], destination: [String]?, reply: Bool, timeout: Duration,
        limit: Int?
    ) async throws -> [ControlAnswer]

    /// What `inspect stats` shows of the broker connection (Celery's `stats.broker`): host, port, transport.
    var connectionDescription: [String: JSONValue] { get }
}

extension RemoteControlBroker {
    public var remoteControl: (any RemoteControlBroker)? { self }
}

/// One worker's answer to a remote-control command.
public struct ControlAnswer: Sendable, Equatable {
    /// The worker's node name.
    public var node: String
    /// Its answer, such as `{"ok": "pong"}` or `{"error": "unknown task"}`.
    public var reply: JSONValue

    /// Creates an answer.
    public init(node: String, reply: JSONValue) {
        self.node = node
        self.reply = reply
    }
}

/// One remote-control command, as Celery sends it: a method name and its arguments.
public struct ControlRequest: Sendable, Equatable {
    /// The method, such as `ping`, `stats` or `revoke`.
    public var method: String
    /// The method's arguments.
    public var arguments: [String: JSONValue]
    /// Where the answer goes; `nil` for a cast.
    public var replyTo: ReplyAddress?
    /// The request's ticket, which the answer carries back.
    public var ticket: String?
    /// The sender's Lamport clock (Celery's `clock` header), if it sent one.
    public var clock: Int?

    /// Where a remote-control answer goes.
    public struct ReplyAddress: Sendable, Equatable {
        /// The exchange, `reply.celery.pidbox` for Celery.
        public var exchange: String
        /// The routing key: the asking client's id.
        public var routingKey: String

        /// Creates an address.
        public init(exchange: String, routingKey: String) {
            self.exchange = exchange
            self.routingKey = routingKey
        }
    }

    /// Creates a request.
    public init(
        method: String, arguments: [String: JSONValue] = [:], replyTo: ReplyAddress? = nil, ticket: String? = nil,
        clock: Int? = nil
    ) {
        self.method = method
        self.arguments = arguments
        self.replyTo = replyTo
        self.ticket = ticket
        self.clock = clock
    }
}
