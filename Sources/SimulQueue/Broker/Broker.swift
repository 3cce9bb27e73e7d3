public import Foundation
public import SimulJSON

/// Where task messages wait for workers: a durable queue with leases and acknowledgements.
///
/// Delivery is at least once. ``receive(from:limit:lease:timeout:)`` hands out messages under a lease; a message
/// that is neither acknowledged nor renewed before its lease ends goes to another worker. Writes go through
/// ``commit(_:)``, which applies a whole ``BrokerCommit`` at once, so a worker acknowledges a task and sends its
/// follow-ups (the next step of a chain, a retry) in one step.
///
/// This is the core every broker provides. The rest are capabilities, each a protocol a broker adopts:
/// ``RevocationStore``, ``DeadLetterStore``, ``EventFeed``, ``SlotClaiming``, ``QueueAdministration`` and
/// ``RemoteControlBroker``. Code that needs one takes it in its signature, or asks a broker for it with
/// ``require(_:)``, which names the broker and the capability when the broker lacks it.
public protocol Broker: AnyObject, Sendable {
    /// The broker's kind, as Celery names transports: `redis`, `sqlite`, `memory`.
    var transport: String { get }

    /// Applies `commit`: sends, acknowledgements, requeues, dead letters and events together.
    /// - Throws: ``QueueError`` when the broker cannot be reached or written.
    func commit(_ commit: BrokerCommit) async throws

    /// Stores `results` in `backend` and applies `commit`. A broker that is itself `backend` and can do both in one
    /// atomic write (``ResultCommitting``) does; otherwise the results are stored first, then the commit applied,
    /// so a message is never acknowledged before its result is stored.
    /// - Throws: ``QueueError`` when the broker or the backend cannot be written.
    func commit(_ commit: BrokerCommit, storing results: [TaskResult], in backend: any ResultBackend) async throws

    /// Takes up to `limit` due messages from `queues`, waiting up to `timeout` for the first.
    ///
    /// Lower priority numbers come first, then older messages. Each is leased for `lease`.
    /// - Returns: the deliveries; empty when none arrived in time.
    func receive(from queues: [String], limit: Int, lease: Duration, timeout: Duration) async throws -> [Delivery]

    /// Extends the leases of messages a worker still holds.
    func renew(_ tags: [String], lease: Duration) async throws

    /// Releases the broker's connections or files.
    func close() async

    /// The broker as a ``RevocationStore``, or `nil` when it keeps no revocations.
    var revocationStore: (any RevocationStore)? { get }
    /// The broker as a ``DeadLetterStore``, or `nil` when it keeps no dead letters.
    var deadLetterStore: (any DeadLetterStore)? { get }
    /// The broker as an ``EventFeed``, or `nil` when its events cannot be read back.
    var eventFeed: (any EventFeed)? { get }
    /// The broker as a ``SlotClaiming``, or `nil` when it cannot claim periodic slots.
    var slotClaims: (any SlotClaiming)? { get }
    /// The broker as a ``QueueAdministration``, or `nil` when it cannot count or purge its queues.
    var queueAdministration: (any QueueAdministration)? { get }
    /// The broker's remote control (Celery's pidbox), or `nil` when it carries none.
    var remoteControl: (any RemoteControlBroker)? { get }
}

extension Broker {
    /// Sends `messages`; durable once this returns.
    public func send(_ messages: [TaskMessage]) async throws {
        try await commit(BrokerCommit(send: messages.map(OutgoingMessage.init)))
    }

    public func commit(_ commit: BrokerCommit, storing results: [TaskResult], in backend: any ResultBackend)
        async throws
    {
        if !results.isEmpty { try await backend.store(results) }
        try await self.commit(commit)
    }

    /// The broker as `capability`.
    /// - Throws: ``QueueError/unsupported(transport:capability:)`` when the broker does not adopt it.
    public func require<Adopted>(_ capability: BrokerCapability<Adopted>) throws(QueueError) -> Adopted {
        guard let adopted = capability.adopted(self) else {
            throw QueueError.unsupported(transport: transport, capability: capability.name)
        }
        return adopted
    }

    public var revocationStore: (any RevocationStore)? { nil }
    public var deadLetterStore: (any DeadLetterStore)? { nil }
    public var eventFeed: (any EventFeed)? { nil }
    public var slotClaims: (any SlotClaiming)? { nil }
    public var queueAdministration: (any QueueAdministration)? { nil }
    public var remoteControl: (any RemoteControlBroker)? { nil }
}

/// A message as a worker receives it: the raw envelope, which may not decode, and the lease's handle.
public struct Delivery: Sendable {
    /// The lease's handle: the message's delivery tag.
    public let tag: String
    /// The queue it came from.
    public let queue: String
    /// The envelope, as sent.
    public let body: Data
    /// Whether the broker knows it was delivered before. Redis marks redelivery inside the envelope instead, where
    /// ``TaskMessage/redelivered`` reads it.
    public let redelivered: Bool
    /// How many leases on it ran out before this delivery: each time, a worker took it and never finished it
    /// (killed, frozen or cut off). A message given back on purpose, as a warm shutdown does, does not count. Redis
    /// counts inside the envelope instead, where ``TaskMessage/lapsedLeases`` reads it.
    public let lapsedLeases: Int

    /// Creates a delivery.
    public init(tag: String, queue: String, body: Data, redelivered: Bool, lapsedLeases: Int = 0) {
        self.tag = tag
        self.queue = queue
        self.body = body
        self.redelivered = redelivered
        self.lapsedLeases = lapsedLeases
    }
}

/// A message ready to store: its encoded envelope and where it goes.
public struct OutgoingMessage: Sendable {
    /// The task id.
    public let taskId: String
    /// The delivery tag, the handle of this copy.
    public let tag: String
    /// The queue.
    public let queue: String
    /// 0 to 9, lower first.
    public let priority: Int
    /// Not delivered before this time.
    public let eta: Date?
    /// The envelope.
    public let body: Data

    /// Encodes `message`.
    public init(_ message: TaskMessage) {
        taskId = message.id
        tag = message.deliveryTag
        queue = message.queue
        priority = min(9, max(0, message.priority))
        eta = message.eta
        body = MessageCodec.encode(message)
    }
}

extension OutgoingMessage {
    /// A stored envelope sent again as it is (a dead letter's replay), under a new delivery tag.
    public init(raw body: Data, queue: String) {
        taskId = MessageCodec.identify(body).id ?? ""
        tag = TaskID.make()
        self.queue = queue
        priority = 0
        eta = nil
        self.body = body
    }
}

/// Writes a broker applies together.
public struct BrokerCommit: Sendable {
    /// Messages to send.
    public var send: [OutgoingMessage]
    /// Delivery tags to acknowledge: done, never to be delivered again.
    public var ack: [String]
    /// Delivery tags to put back in their queue now.
    public var requeue: [String]
    /// Deliveries to move to the dead letters, each with its reason (this acknowledges them).
    public var deadLetter: [(delivery: Delivery, reason: String)]
    /// Events for monitors.
    public var events: [QueueEvent]

    /// A commit.
    public init(
        send: [OutgoingMessage] = [], ack: [String] = [], requeue: [String] = [],
        deadLetter: [(delivery: Delivery, reason: String)] = [], events: [QueueEvent] = []
    ) {
        self.send = send
        self.ack = ack
        self.requeue = requeue
        self.deadLetter = deadLetter
        self.events = events
    }

    /// Whether there is nothing to write.
    public var isEmpty: Bool {
        send.isEmpty && ack.isEmpty && requeue.isEmpty && deadLetter.isEmpty && events.isEmpty
    }

    /// Adds `other`'s writes after this commit's.
    public mutating func append(_ other: BrokerCommit) {
        send += other.send
        ack += other.ack
        requeue += other.requeue
        deadLetter += other.deadLetter
        events += other.events
    }
}

/// A message that could not be run, kept with the reason.
///
/// A broker keeps at most the head of a long envelope (see ``DeadLetterLimits``): then ``body`` is shorter than
/// ``size``, ``isTruncated`` is true, and ``sha256`` identifies the whole envelope.
public struct DeadLetter: Sendable, Codable, Equatable {
    /// Its id in the dead-letter store.
    public let id: Int64
    /// The queue it came from.
    public let queue: String
    /// Why it is here.
    public let reason: String
    /// When it arrived.
    public let at: Date
    /// The envelope as received, or its head when it was too long to keep whole.
    public let body: Data
    /// The size of the envelope as received, in bytes.
    public let size: Int
    /// The SHA-256 of the envelope as received, in lowercase hex.
    public let sha256: String
    /// The task id the envelope names, if it names one.
    public let taskId: String?
    /// The task name the envelope names, if it names one.
    public let task: String?

    /// Creates a dead letter.
    /// - Parameters:
    ///   - id: its number in the store.
    ///   - queue: the queue it came from.
    ///   - reason: why it could not be run.
    ///   - at: when it was set aside.
    ///   - body: the envelope, or its head.
    ///   - size: the size of the whole envelope; `body`'s size when `nil`.
    ///   - sha256: the whole envelope's SHA-256 in hex; `body`'s when `nil`.
    ///   - taskId: the task id the whole envelope names; read from `body` when this and `task` are `nil`.
    ///   - task: the task name the whole envelope names.
    public init(
        id: Int64, queue: String, reason: String, at: Date, body: Data, size: Int? = nil, sha256: String? = nil,
        taskId: String? = nil, task: String? = nil
    ) {
        self.id = id
        self.queue = queue
        self.reason = reason
        self.at = at
        self.body = body
        self.size = max(size ?? body.count, body.count)
        self.sha256 = sha256 ?? Self.hexSHA256(of: body)
        if taskId == nil && task == nil && self.size == body.count {
            (self.taskId, self.task) = MessageCodec.identify(body)
        } else {
            (self.taskId, self.task) = (taskId, task)
        }
    }

    /// Whether only the head of the envelope was kept: such a letter cannot be replayed.
    public var isTruncated: Bool { body.count < size }
}

/// A worker or task event, in Celery's event shape: a type such as `task-succeeded` and its fields.
///
/// It encodes as Celery's event body: one JSON object of its fields, `type` among them.
public struct QueueEvent: Sendable, Codable, Equatable {
    /// The event type, such as `worker-heartbeat` or `task-failed`.
    public var type: String
    /// The fields, Celery's names: `uuid`, `hostname`, `timestamp`, `runtime`, …
    public var fields: [String: JSONValue]

    /// Creates an event stamped `time`.
    public init(_ type: String, hostname: String, at time: Date, _ fields: [String: JSONValue] = [:]) {
        self.type = type
        var fields = fields
        fields["type"] = .string(type)
        fields["hostname"] = .string(hostname)
        fields["timestamp"] = .number(time.timeIntervalSince1970)
        fields["utcoffset"] = .number(0)
        fields["pid"] = .integer(Int64(getpid()))
        self.fields = fields
    }

    /// An event from its fields, as stored; `nil` if they name no type.
    public init?(fields: [String: JSONValue]) {
        guard let type = fields["type"]?.stringValue else { return nil }
        self.type = type
        self.fields = fields
    }

    public init(from decoder: any Decoder) throws {
        let fields = try [String: JSONValue](from: decoder)
        guard let event = QueueEvent(fields: fields) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "an event needs a type"))
        }
        self = event
    }

    public func encode(to encoder: any Encoder) throws { try fields.encode(to: encoder) }

    /// The event as JSON bytes, written directly.
    public var jsonBytes: [UInt8] { JSONValue.object(fields).jsonBytes }

    /// The task id, for task events.
    public var taskId: String? { fields["uuid"]?.stringValue }
    /// When it happened.
    public var timestamp: Date? { fields["timestamp"]?.doubleValue.map(Date.init(timeIntervalSince1970:)) }
    /// Who sent it.
    public var hostname: String? { fields["hostname"]?.stringValue }
}
