public import Foundation
public import SimulJSON

/// Where task messages wait for workers: a durable queue with leases, acknowledgements and dead letters.
///
/// Delivery is at least once. ``receive(from:limit:lease:timeout:)`` hands out messages under a lease; a message
/// that is neither acknowledged nor renewed before its lease ends goes to another worker. Writes go through
/// ``commit(_:)``, which applies a whole ``BrokerCommit`` at once, so a worker acknowledges a task and sends its
/// follow-ups (the next step of a chain, a retry) in one step.
public protocol Broker: AnyObject, Sendable {
    /// Applies `commit`: sends, acknowledgements, requeues, dead letters and events together.
    /// - Throws: ``QueueError`` when the broker cannot be reached or written.
    func commit(_ commit: BrokerCommit) async throws

    /// Stores `results` in `backend` and applies `commit`. A broker that is itself `backend` and can do both in one
    /// atomic write (``ResultCommitting``) does; otherwise the results are stored first, then the commit applied,
    /// so a message is never acknowledged before its result is stored.
    /// - Throws: ``QueueError`` when the broker or the backend cannot be written.
    func commit(_ commit: BrokerCommit, storing results: [TaskResult], in backend: any ResultBackend) async throws

    /// The broker's remote control (Celery's pidbox), or `nil` when it carries none: ``RemoteControlBroker``
    /// provides it.
    var remoteControl: (any RemoteControlBroker)? { get }

    /// Takes up to `limit` due messages from `queues`, waiting up to `timeout` for the first.
    ///
    /// Lower priority numbers come first, then older messages. Each is leased for `lease`.
    /// - Returns: the deliveries; empty when none arrived in time.
    func receive(from queues: [String], limit: Int, lease: Duration, timeout: Duration) async throws -> [Delivery]

    /// Extends the leases of messages a worker still holds.
    func renew(_ tags: [String], lease: Duration) async throws

    /// The dead letters, newest first.
    func deadLetters(limit: Int) async throws -> [DeadLetter]

    /// Sends dead letters back to their queues; all of them when `ids` is `nil`.
    ///
    /// A letter that keeps only the head of its envelope (``DeadLetter/isTruncated``) cannot go back: naming one
    /// throws and replays nothing, and `nil` leaves such letters where they are.
    /// - Returns: how many went back.
    /// - Throws: ``QueueError`` when an id names a truncated letter, or the broker cannot be written.
    func replayDeadLetters(_ ids: [Int64]?) async throws -> Int

    /// How many dead letters the broker dropped, oldest first, to stay within its ``DeadLetterLimits``.
    func droppedDeadLetters() async throws -> Int64

    /// Deletes the waiting messages of `queue`.
    /// - Returns: how many were deleted.
    func purge(queue: String) async throws -> Int

    /// Waiting (not leased) messages per queue.
    func queueLengths() async throws -> [String: Int]

    /// Marks tasks revoked; workers skip them, and stop them if running and `terminate` is set.
    ///
    /// The broker keeps the newest ``RevokedSet/Limits/maxCount`` revocations for ``RevokedSet/Limits/maxAge``
    /// seconds each (Celery's 50,000 for three hours by default), and drops the oldest first when it revokes.
    func revoke(_ ids: [String], terminate: Bool) async throws

    /// The revocations stored after `cursor`, oldest first, and the cursor to read from next time.
    ///
    /// Without a cursor it returns every stored revocation that has not expired (at most the broker's
    /// ``RevokedSet/Limits/maxCount``); with one, only those stored since, so a worker that polls reads each
    /// revocation once. A task revoked again comes again, with `terminate` set if either revocation set it.
    /// - Parameter cursor: the cursor a previous call returned, or `nil` for the first call.
    /// - Returns: the revocations, and the cursor to pass next time.
    func revocations(after cursor: RevocationCursor?) async throws
        -> (revocations: [Revocation], cursor: RevocationCursor)

    /// Events after `cursor`, oldest first, and the cursor to ask from next time.
    func events(after cursor: Int64, limit: Int) async throws -> (events: [QueueEvent], cursor: Int64)

    /// Claims `slot` for one sender: true for the first caller, false for every later one.
    ///
    /// `simul beat` claims `"<entry>@<slot time>"` before sending, so two beats send each slot once.
    func claim(_ slot: String) async throws -> Bool

    /// Releases the broker's connections or files.
    func close() async
}

extension Broker {
    /// None: a broker without dead-letter limits drops none.
    public func droppedDeadLetters() async throws -> Int64 { 0 }

    /// Sends `messages`; durable once this returns.
    public func send(_ messages: [TaskMessage]) async throws {
        try await commit(BrokerCommit(send: messages.map(OutgoingMessage.init)))
    }
}

extension Broker {
    public func commit(_ commit: BrokerCommit, storing results: [TaskResult], in backend: any ResultBackend)
        async throws
    {
        if !results.isEmpty { try await backend.store(results) }
        try await self.commit(commit)
    }

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

    /// Creates a delivery.
    public init(tag: String, queue: String, body: Data, redelivered: Bool) {
        self.tag = tag
        self.queue = queue
        self.body = body
        self.redelivered = redelivered
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

    /// Creates an event stamped now.
    public init(_ type: String, hostname: String, _ fields: [String: JSONValue] = [:]) {
        self.type = type
        var fields = fields
        fields["type"] = .string(type)
        fields["hostname"] = .string(hostname)
        fields["timestamp"] = .number(Date().timeIntervalSince1970)
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
