import Foundation
public import Logging
import Simul
public import SimulJSON
import Synchronization

/// A broker and result backend in this process's memory: for tests and for trying things out.
///
/// It keeps every promise of the ``Broker`` protocol except durability. Time comes from `now`, so tests can move
/// a manual clock past an ETA or a lease.
public final class MemoryBroker: ResultCommitting, RevocationStore, DeadLetterStore, EventFeed, SlotClaiming,
    QueueAdministration
{
    public var transport: String { "memory" }

    private struct Stored {
        var queue: String
        var priority: Int
        var eta: Date?
        /// When it began to wait: when it was sent, or its ETA if later.
        var queuedAt: Date
        var body: Data
        var sequence: Int
        var leaseUntil: Date?
        var deliveries: Int
        var lapsedLeases = 0
    }

    private struct State {
        var messages: [String: Stored] = [:]
        var sequence = 0
        var deadLetters: [DeadLetter] = []
        var lastDeadLetterId: Int64 = 0
        var deadLetterBytes = 0
        var deadLettersDropped: Int64 = 0
        var revoked: RevokedSet
        var events: [QueueEvent] = []
        var eventsDropped: Int64 = 0
        var claims: Set<String> = []
        var results: [String: TaskResult] = [:]
        var chordSizes: [String: Int] = [:]
        var chordParts: [String: [Int: TaskResult]] = [:]
        var chordsFired: Set<String> = []
        var groups: [String: JSONValue] = [:]
    }

    private let state: Mutex<State>
    private let messagesChanged = ChangeSignal()
    private let resultsChanged = ChangeSignal()
    private let clock: any QueueClock
    private let maxEvents = 10_000
    private let deadLetterLimits: DeadLetterLimits
    private let logger: Logger

    /// Creates an empty broker.
    /// - Parameters:
    ///   - clock: the clock for ETAs, leases, waits and the age of revocations.
    ///   - deadLetterLimits: how much of its dead letters it keeps.
    ///   - revocationLimits: how many revocations it keeps, and for how long.
    ///   - logger: where it reports dropped dead letters.
    public init(
        clock: any QueueClock = .system, deadLetterLimits: DeadLetterLimits = .init(),
        revocationLimits: RevokedSet.Limits = .celery, logger: Logger = Logger(label: "simul.memory")
    ) {
        self.clock = clock
        self.deadLetterLimits = deadLetterLimits
        self.logger = logger
        state = Mutex(State(revoked: RevokedSet(limits: revocationLimits)))
    }

    public func commit(_ commit: BrokerCommit) async throws {
        let time = clock.now
        let letters = commit.deadLetter.map { deadLetterLimits.bound($0.delivery.body, reason: $0.reason) }
        let dropped = state.withLock { state -> (count: Int, total: Int64) in
            for message in commit.send {
                state.sequence += 1
                state.messages[message.tag] = Stored(
                    queue: message.queue, priority: message.priority, eta: message.eta,
                    queuedAt: max(time, message.eta ?? time), body: message.body, sequence: state.sequence,
                    leaseUntil: nil, deliveries: 0)
            }
            for tag in commit.ack { state.messages[tag] = nil }
            for tag in commit.requeue { state.messages[tag]?.leaseUntil = nil }
            for ((delivery, _), letter) in zip(commit.deadLetter, letters) {
                state.messages[delivery.tag] = nil
                // Ids are never reused, even after a replay removed letters.
                state.lastDeadLetterId += 1
                state.deadLetters.append(
                    DeadLetter(
                        id: state.lastDeadLetterId, queue: delivery.queue, reason: letter.reason, at: time,
                        body: letter.body, size: letter.size, sha256: letter.sha256, taskId: letter.taskId,
                        task: letter.task))
                state.deadLetterBytes += Self.storedBytes(state.deadLetters.last!)
            }
            var dropped = 0
            while !state.deadLetters.isEmpty,
                state.deadLetters.count > deadLetterLimits.maxCount
                    || state.deadLetterBytes > deadLetterLimits.maxTotalBytes
            {
                state.deadLetterBytes -= Self.storedBytes(state.deadLetters.removeFirst())
                dropped += 1
            }
            state.deadLettersDropped += Int64(dropped)
            state.events += commit.events
            if state.events.count > maxEvents {
                let extra = state.events.count - maxEvents
                state.events.removeFirst(extra)
                state.eventsDropped += Int64(extra)
            }
            return (dropped, state.deadLettersDropped)
        }
        if dropped.count > 0 { logger.warning("\(deadLetterLimits.dropMessage(dropped.count, total: dropped.total))") }
        if !commit.send.isEmpty || !commit.requeue.isEmpty { messagesChanged.signal() }
    }

    public func commit(_ commit: BrokerCommit, storing results: [TaskResult]) async throws {
        try await store(results)
        try await self.commit(commit)
    }

    public func receive(from queues: [String], limit: Int, lease: Duration, timeout: Duration) async throws
        -> [Delivery]
    {
        let deadline = clock.now.addingTimeInterval(timeout.seconds)
        while true {
            let generation = messagesChanged.generation
            let time = clock.now
            let (taken, nextDue) = state.withLock { state -> ([Delivery], Date?) in
                var due: [(key: String, value: Stored)] = []
                var nextDue: Date?
                for (tag, message) in state.messages where queues.contains(message.queue) {
                    let visible = max(message.eta ?? .distantPast, message.leaseUntil ?? .distantPast)
                    if visible <= time {
                        due.append((tag, message))
                    } else {
                        nextDue = min(nextDue ?? visible, visible)
                    }
                }
                let chosen = due.sorted {
                    ($0.value.priority, $0.value.sequence) < ($1.value.priority, $1.value.sequence)
                }
                .prefix(limit)
                let taken = chosen.map { tag, message in
                    let lapsed = message.lapsedLeases + (message.leaseUntil == nil ? 0 : 1)
                    state.messages[tag]?.leaseUntil = time.addingTimeInterval(lease.seconds)
                    state.messages[tag]?.deliveries += 1
                    state.messages[tag]?.lapsedLeases = lapsed
                    return Delivery(
                        tag: tag, queue: message.queue, body: message.body,
                        redelivered: message.deliveries > 0, lapsedLeases: lapsed)
                }
                return (taken, nextDue)
            }
            if !taken.isEmpty || clock.now >= deadline || Task.isCancelled { return taken }
            // Wake on a send or a requeue, or when the next ETA or lease comes due.
            await messagesChanged.wait(after: generation, until: min(deadline, nextDue ?? deadline), on: clock)
        }
    }

    public func renew(_ tags: [String], lease: Duration) async throws {
        let until = clock.now.addingTimeInterval(lease.seconds)
        state.withLock { state in
            for tag in tags where state.messages[tag]?.leaseUntil != nil { state.messages[tag]?.leaseUntil = until }
        }
    }

    public func deadLetters(limit: Int) async throws -> [DeadLetter] {
        state.withLock { Array($0.deadLetters.reversed().prefix(limit)) }
    }

    public func replayDeadLetters(_ ids: [Int64]?) async throws -> Int {
        let replayed = try state.withLock { state throws(QueueError) -> [DeadLetter] in
            let chosen = state.deadLetters.filter { ids?.contains($0.id) ?? !$0.isTruncated }
            if let refusal = chosen.lazy.compactMap(\.replayRefusal).first { throw refusal }
            let replayed = Set(chosen.map(\.id))
            state.deadLetters.removeAll { replayed.contains($0.id) }
            state.deadLetterBytes -= chosen.map(Self.storedBytes).reduce(0, +)
            return chosen
        }
        try await commit(
            BrokerCommit(
                send: replayed.map { letter in
                    OutgoingMessage(raw: letter.body, queue: letter.queue)
                }))
        return replayed.count
    }

    public func droppedDeadLetters() async throws -> Int64 { state.withLock { $0.deadLettersDropped } }

    /// What a letter counts against ``DeadLetterLimits/maxTotalBytes``: its envelope and its reason.
    private static func storedBytes(_ letter: DeadLetter) -> Int { letter.body.count + letter.reason.utf8.count }

    public func purge(queue: String) async throws -> Int {
        let time = clock.now
        return state.withLock { state in
            // Waiting as `queueLengths` counts it: never leased, or its lease ran out.
            let doomed = state.messages.filter { _, message in
                message.queue == queue && (message.leaseUntil ?? .distantPast) <= time
            }.keys
            for tag in doomed { state.messages[tag] = nil }
            return doomed.count
        }
    }

    public func queueLengths() async throws -> [String: Int] {
        let time = clock.now
        return state.withLock { state in
            var lengths: [String: Int] = [:]
            for message in state.messages.values where (message.leaseUntil ?? .distantPast) <= time {
                lengths[message.queue, default: 0] += 1
            }
            return lengths
        }
    }

    public func backlogs(of queues: [String]) async throws -> [String: QueueBacklog] {
        let time = clock.now
        return state.withLock { state in
            var backlogs = Dictionary(queues.map { ($0, QueueBacklog.empty) }) { first, _ in first }
            for message in state.messages.values
            where (message.leaseUntil ?? .distantPast) <= time && backlogs[message.queue] != nil {
                backlogs[message.queue]?.length += 1
                if message.queuedAt <= time {
                    let oldest = backlogs[message.queue]?.oldestSince ?? message.queuedAt
                    backlogs[message.queue]?.oldestSince = min(oldest, message.queuedAt)
                }
            }
            return backlogs
        }
    }

    public func revoke(_ ids: [String], terminate: Bool) async throws {
        let time = clock.now
        state.withLock { state in
            for id in ids { state.revoked.insert(Revocation(id: id, terminate: terminate, at: time), now: time) }
        }
    }

    /// The cursor is the ``RevokedSet`` sequence of the newest revocation read.
    public func revocations(after cursor: RevocationCursor?) async throws
        -> (revocations: [Revocation], cursor: RevocationCursor)
    {
        let after =
            cursor.map { cursor in
                guard let sequence = Int(cursor.position) else {
                    preconditionFailure("'\(cursor)' is not a revocation cursor of a memory broker")
                }
                return sequence
            } ?? 0
        let time = clock.now
        return state.withLock { state in
            (state.revoked.revocations(after: after, now: time), RevocationCursor(String(state.revoked.lastSequence)))
        }
    }

    public func events(after cursor: Int64, limit: Int) async throws -> (events: [QueueEvent], cursor: Int64) {
        state.withLock { state in
            let first = max(0, Int(cursor - state.eventsDropped))
            let slice = state.events.dropFirst(first).prefix(limit)
            return (Array(slice), state.eventsDropped + Int64(first + slice.count))
        }
    }

    public func claim(_ slot: String, sending message: OutgoingMessage) async throws -> Bool {
        guard state.withLock({ $0.claims.insert(slot).inserted }) else { return false }
        // One process holds both: nothing can come between the claim and the send but the process's end.
        try await commit(BrokerCommit(send: [message]))
        return true
    }

    public func close() async {}

    // MARK: ResultBackend

    public func store(_ results: [TaskResult]) async throws {
        state.withLock { state in
            for result in results where state.results[result.taskId]?.status != .success {
                state.results[result.taskId] = result
            }
        }
        resultsChanged.signal()
    }

    public func results(for ids: [String]) async throws -> [String: TaskResult] {
        state.withLock { state in state.results.filter { ids.contains($0.key) } }
    }

    public func waitForResult(_ id: String, timeout: Duration?) async throws -> TaskResult? {
        let deadline = timeout.map { clock.now.addingTimeInterval($0.seconds) }
        while true {
            let generation = resultsChanged.generation
            let result = state.withLock { $0.results[id] }
            if let result, result.status.isReady { return result }
            if let deadline, clock.now >= deadline { return result }
            try Task.checkCancellation()
            await resultsChanged.wait(after: generation, until: deadline, on: clock)
        }
    }

    public func forget(_ ids: [String]) async throws {
        state.withLock { state in for id in ids { state.results[id] = nil } }
    }

    public func setChordSize(_ groupId: String, size: Int) async throws {
        state.withLock { $0.chordSizes[groupId] = size }
    }

    public func saveGroup(_ groupId: String, tuple: JSONValue) async throws {
        state.withLock { $0.groups[groupId] = ["result": tuple] }
    }

    public func savedGroup(_ groupId: String) async throws -> JSONValue? {
        state.withLock { $0.groups[groupId]?["result"] }
    }

    public func deleteGroup(_ groupId: String) async throws {
        state.withLock { $0.groups[groupId] = nil }
    }

    public func addChordPart(_ groupId: String, index: Int, result: TaskResult) async throws -> [TaskResult]? {
        state.withLock { state in
            state.chordParts[groupId, default: [:]][index] = result
            guard let size = state.chordSizes[groupId], let parts = state.chordParts[groupId], parts.count == size,
                state.chordsFired.insert(groupId).inserted
            else { return nil }
            state.chordParts[groupId] = nil
            return parts.sorted { $0.key < $1.key }.map(\.value)
        }
    }
}
