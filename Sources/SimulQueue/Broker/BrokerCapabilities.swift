/// A broker that keeps revocations, so a worker that starts later still skips a revoked task.
public protocol RevocationStore: Broker {
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
}

/// A broker that keeps the messages no worker could run, with the reason, and can send them back.
public protocol DeadLetterStore: Broker {
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
}

/// A broker whose events (those of ``BrokerCommit/events``) can be read back in order, from a cursor: what monitors
/// and the dashboard follow.
public protocol EventFeed: Broker {
    /// Events after `cursor`, oldest first, and the cursor to ask from next time.
    func events(after cursor: Int64, limit: Int) async throws -> (events: [QueueEvent], cursor: Int64)
}

/// A broker that gives each periodic slot to one sender, so two beats send each slot once.
public protocol SlotClaiming: Broker {
    /// Claims `slot` for one sender and, for the first caller, sends `message` in the same write: either both
    /// happen or neither does, so a sender that dies between the two cannot leave a slot claimed and unsent.
    ///
    /// `simul beat` claims `"<entry>@<slot time>"` with the slot's message.
    /// - Returns: true for the first caller, false (nothing sent) for every later one.
    func claim(_ slot: String, sending message: OutgoingMessage) async throws -> Bool
}

/// A broker that counts and purges its queues.
public protocol QueueAdministration: Broker {
    /// Deletes the waiting messages of `queue`.
    /// - Returns: how many were deleted.
    func purge(queue: String) async throws -> Int

    /// Waiting (not leased) messages per queue.
    func queueLengths() async throws -> [String: Int]

    /// The backlog of each of `queues`: how many messages wait, and since when the oldest has waited (a worker's
    /// `simul_queue_depth` and `simul_queue_oldest_age_seconds`). Every queue asked for is in the answer, empty or
    /// not.
    ///
    /// A message waits from when it was sent, or from its ETA when the broker holds it until then. Brokers that
    /// store no send time read the `simul_sent_at` header of the oldest message, and for a message without one
    /// (from Python Celery) the first time this broker object saw it oldest: a later time than the truth.
    func backlogs(of queues: [String]) async throws -> [String: QueueBacklog]
}

extension DeadLetterStore {
    /// None: a broker without dead-letter limits drops none.
    public func droppedDeadLetters() async throws -> Int64 { 0 }
    public var deadLetterStore: (any DeadLetterStore)? { self }
}

extension RevocationStore {
    public var revocationStore: (any RevocationStore)? { self }
}

extension EventFeed {
    public var eventFeed: (any EventFeed)? { self }
}

extension SlotClaiming {
    public var slotClaims: (any SlotClaiming)? { self }
}

extension QueueAdministration {
    public var queueAdministration: (any QueueAdministration)? { self }
}

/// A capability that ``Broker/require(_:)`` asks a broker for: its name, for the error when the broker lacks it,
/// and how to find it.
public struct BrokerCapability<Adopted>: Sendable {
    /// What the capability is, as ``QueueError/unsupported(transport:capability:)`` says "the sqlite broker has no …".
    public let name: String
    let adopted: @Sendable (any Broker) -> Adopted?
}

extension BrokerCapability where Adopted == any RevocationStore {
    /// Keeping revocations (``RevocationStore``).
    public static var revocations: Self { Self(name: "stored revocations") { $0.revocationStore } }
}

extension BrokerCapability where Adopted == any DeadLetterStore {
    /// Keeping dead letters (``DeadLetterStore``).
    public static var deadLetters: Self { Self(name: "dead letters") { $0.deadLetterStore } }
}

extension BrokerCapability where Adopted == any EventFeed {
    /// Reading events back (``EventFeed``).
    public static var events: Self { Self(name: "an event feed") { $0.eventFeed } }
}

extension BrokerCapability where Adopted == any SlotClaiming {
    /// Claiming periodic slots (``SlotClaiming``).
    public static var slotClaims: Self { Self(name: "periodic-slot claims") { $0.slotClaims } }
}

extension BrokerCapability where Adopted == any QueueAdministration {
    /// Counting and purging queues (``QueueAdministration``).
    public static var queueAdministration: Self { Self(name: "queue counts or purges") { $0.queueAdministration } }
}

extension BrokerCapability where Adopted == any RemoteControlBroker {
    /// Remote control (``RemoteControlBroker``): `inspect`, `control` and broadcast revokes.
    public static var remoteControl: Self {
        Self(name: "remote control (inspect, control and broadcast revokes need one that broadcasts, such as Redis)") {
            $0.remoteControl
        }
    }
}
