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
}

extension RemoteControlBroker {
    public var remoteControl: (any RemoteControlBroker)? { self }
}

/// One remote-control command, as Celery sends it: a method name and its arguments.
public struct ControlRequest: Sendable {
    /// The method, such as `ping`, `stats` or `revoke`.
    public var method: String
    /// The method's arguments.
    public var arguments: [String: JSONValue]
    /// Where the answer goes; `nil` for a cast.
    public var replyTo: ReplyAddress?
    /// The request's ticket, which the answer carries back.
    public var ticket: String?

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
        method: String, arguments: [String: JSONValue] = [:], replyTo: ReplyAddress? = nil, ticket: String? = nil
    ) {
        self.method = method
        self.arguments = arguments
        self.replyTo = replyTo
        self.ticket = ticket
    }
}
