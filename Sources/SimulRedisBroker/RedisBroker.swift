import Foundation
public import Logging
import Simul
import SimulJSON
public import SimulQueue
public import SimulRedis
import NIOCore
import Synchronization
import SimulRESP

/// A broker and result backend on Redis, laid out as Celery's kombu lays it out, so Python Celery clients, workers
/// and Flower share the same Redis with Simul.
///
/// Messages are JSON envelopes in one list per queue and priority step (`celery`, `celery\x06\x163`, …): senders
/// `LPUSH`, workers pop from the other end. A received message is recorded in `unacked` and `unacked_index` in the
/// same atomic step that pops it, and deleted from there when acknowledged; a message whose worker died goes back
/// to its list when its lease (the `unacked_index` score, renewed while the worker holds it) is older than the
/// worker's lease. Results are `celery-task-meta-<id>` keys, stored with `SETEX` and published on the channel of
/// the same name; events go to `/<db>.celeryev/<type>` and remote control to `/<db>.celery.pidbox`. The design is
/// in `docs/redis.md`.
///
/// ```swift
/// let broker = try RedisBroker(url: "redis://127.0.0.1:6379/0")
/// let client = QueueClient(broker: broker, backend: broker)
/// let sum = try await client.send("simul.add", args: [2, 3]).get()
/// ```
public final class RedisBroker: ResultCommitting, RemoteControlBroker, RevocationStore, DeadLetterStore, EventFeed,
    SlotClaiming, QueueAdministration
{
    public var transport: String { "redis" }

    let configuration: RedisConfiguration
    /// The key and channel names, with the configuration's global key prefix.
    let kombu: Kombu
    let pool: RedisConnectionPool
    let listener: RedisListener
    let resultExpiry: Int
    let revocationLimits: RevokedSet.Limits
    let logger: Logger
    let deadLetterLimits: DeadLetterLimits
    /// Connections for blocking pops, one per receive in progress.
    private let idleBlocking = Mutex<[RedisConnection]>([])
    /// Queues whose bindings this process declared.
    private let declaredQueues = Mutex<Set<String>>([])
    private let lastRestore = Mutex<Date?>(nil)
    /// Per list whose oldest message has no `simul_sent_at` header: that message's id, and when ``backlogs(of:)``
    /// first saw it oldest.
    private let oldestSeen = Mutex<[String: (id: String, at: Date)]>([:])
    let clock: any QueueClock
    private let logicalClock = Atomic<Int>(0)
    /// Concurrent sends share one pipeline: one round trip and one `LPUSH` per list. When a write fails, every sender
    /// in it gets the error, and none of its messages were pushed in part (each list's `LPUSH` is one command inside
    /// `MULTI`).
    private let sends = GroupCommit<[OutgoingMessage], Void>()

    /// Connects (lazily, on first use) to the Redis at `configuration`.
    /// - Parameters:
    ///   - configuration: where Redis is and how to log in.
    ///   - resultExpiry: seconds a result is kept; one day by default, as in Celery; 0 keeps results forever.
    ///   - connections: how many pipelined connections to keep for commands: 4 by default, for a worker; a
    ///     short-lived client is served as well by 1. Waiting for results adds one pub/sub connection.
    ///   - deadLetterLimits: how much of its dead letters it keeps.
    ///   - revocationLimits: how many revocations are kept, and for how long; Celery's by default.
    ///   - logger: where the broker reports.
    ///   - clock: the time of leases, dead letters, revocation ages and remote-control expiries.
    public init(
        configuration: RedisConfiguration, resultExpiry: Int = 86_400, connections: Int = 4,
        deadLetterLimits: DeadLetterLimits = .init(), revocationLimits: RevokedSet.Limits = .celery,
        logger: Logger = Logger(label: "simul.redis"), clock: any QueueClock = .system
    ) {
        self.configuration = configuration
        kombu = Kombu(prefix: configuration.keyPrefix)
        self.clock = clock
        self.resultExpiry = resultExpiry
        self.deadLetterLimits = deadLetterLimits
        self.revocationLimits = revocationLimits
        self.logger = logger
        pool = RedisConnectionPool(configuration: configuration, size: connections, logger: logger)
        listener = RedisListener(
            configuration: configuration, kombu: kombu, pool: pool, logger: logger, clock: clock)
    }

    /// Connects to the Redis at `url`, `redis://[[user]:password@]host[:port][/db]`.
    /// - Throws: ``QueueError/badURL(_:_:)`` when the URL is malformed.
    public convenience init(
        url: String, resultExpiry: Int = 86_400, connections: Int = 4, deadLetterLimits: DeadLetterLimits = .init(),
        revocationLimits: RevokedSet.Limits = .celery,
        logger: Logger = Logger(label: "simul.redis"), clock: any QueueClock = .system
    ) throws {
        let configuration: RedisConfiguration
        do {
            configuration = try RedisConfiguration(url: url)
        } catch {
            throw QueueError.badURL(url, "\(error)")
        }
        self.init(
            configuration: configuration, resultExpiry: resultExpiry, connections: connections,
            deadLetterLimits: deadLetterLimits, revocationLimits: revocationLimits, logger: logger, clock: clock)
    }

    public func close() async {
        await listener.close()
        let connections = idleBlocking.withLock { connections in
            defer { connections.removeAll() }
            return connections
        }
        for connection in connections { await connection.close() }
        await pool.close()
    }

    // MARK: Sending and committing

    public func commit(_ commit: BrokerCommit) async throws {
        try await self.commit(commit, storing: [])
    }

    public func commit(_ commit: BrokerCommit, storing results: [TaskResult]) async throws {
        guard !commit.isEmpty || !results.isEmpty else { return }
        let onlySends =
            results.isEmpty && commit.ack.isEmpty && commit.requeue.isEmpty && commit.deadLetter.isEmpty
            && commit.events.isEmpty
        if onlySends {
            try await sends.submit(commit.send) { batches in
                try await self.write(BrokerCommit(send: batches.flatMap { $0 }), storing: [])
                return batches.map { _ in .success(()) }
            }
        } else {
            try await write(commit, storing: results)
        }
    }

    /// Writes a commit in one `MULTI` … `EXEC` pipeline.
    private func write(_ commit: BrokerCommit, storing results: [TaskResult]) async throws {
        var restored: [[RedisArgument]] = []
        if !commit.requeue.isEmpty { restored = try await restoreCommands(for: commit.requeue, lapsed: false) }
        var commands: [[RedisArgument]] = []
        if !results.isEmpty { commands.append(storeCommand(results)) }
        commands += sendCommands(commit.send)
        commands += ackCommands(commit.ack + commit.deadLetter.map(\.delivery.tag))
        commands += restored
        // The dead letters' replies inside EXEC's, to log what their limits dropped.
        let firstDeadLetterReply = commands.count
        commands += commit.deadLetter.map { deadLetterCommand($0.delivery, reason: $0.reason) }
        commands += eventCommands(commit.events)
        let replies = try await transaction(
            "a commit", commands, after: try await declareCommands(for: commit.send), replicated: true)
        if !commit.deadLetter.isEmpty {
            logDroppedDeadLetters(replies.dropFirst(firstDeadLetterReply).prefix(commit.deadLetter.count))
        }
    }

    /// Runs `commands` as one `MULTI`/`EXEC`, after `before` (sent ahead of it, in the same write), and returns
    /// `EXEC`'s replies. When `replicated` and the configuration asks for ``RedisConfiguration/waitReplicas``,
    /// returns only once that many replicas have the transaction too.
    /// - Throws: ``QueueError/storage(_:)`` naming `what` and the first command Redis refused (`NOPERM this user
    ///   has no permissions to run the 'xadd' command`), rather than `EXEC`'s `EXECABORT`;
    ///   ``QueueError/unavailable(_:)`` when the replicas did not all confirm within ``replicaPatience``, so the
    ///   caller writes again (at least once).
    func transaction(
        _ what: String, _ commands: [[RedisArgument]], after before: [[RedisArgument]] = [], replicated: Bool = false
    ) async throws -> [RESPValue] {
        let replicas = replicated ? configuration.waitReplicas : 0
        let wait: [[RedisArgument]] =
            replicas > 0
            ? [["WAIT", RedisArgument(replicas), RedisArgument(Int(Self.replicaPatience.seconds * 1_000))]] : []
        var replies = try await redis {
            try await self.pool.pipeline(before + [["MULTI"]] + commands + [["EXEC"]] + wait)
        }
        if replicas > 0, let confirmed = replies.popLast(), case .array = replies.last {
            guard let count = confirmed.int, count >= replicas else {
                throw QueueError.unavailable(
                    "only \(confirmed.int ?? 0) of \(replicas) replicas confirmed \(what) within \(Self.replicaPatience)"
                )
            }
        }
        // A command that fails inside EXEC (a wrong type, a script's error) fails alone, its error among the replies.
        let executed: [RESPValue]? = if case .array(let results)? = replies.last { results } else { nil }
        let refusal = (executed ?? replies).lazy.compactMap { reply -> String? in
            if case .error(let message) = reply { message } else { nil }
        }.first
        if let executed, refusal == nil { return executed }
        let reason = "redis refused \(what): \(refusal ?? "no reply to EXEC")"
        throw refusal.map { Self.passes(.server($0)) } == true ? QueueError.unavailable(reason) : .storage(reason)
    }

    private func logDroppedDeadLetters(_ replies: ArraySlice<RESPValue>) {
        var (dropped, total) = (0, 0)
        for case .array(let numbers) in replies where numbers.count == 3 {
            dropped += numbers[1].int ?? 0
            total = max(total, numbers[2].int ?? 0)
        }
        if dropped > 0 { logger.warning("\(deadLetterLimits.dropMessage(dropped, total: Int64(total)))") }
    }

    /// `SADD`s binding each new queue to its own name, as kombu declares a queue, so Python publishers that route
    /// by exchange and kombu's restore find it.
    private func declareCommands(for messages: [OutgoingMessage]) async throws -> [[RedisArgument]] {
        guard !messages.isEmpty else { return [] }
        let new = declaredQueues.withLock { declared in
            let new = Set(messages.map(\.queue)).subtracting(declared)
            declared.formUnion(new)
            return new
        }
        return new.sorted().flatMap(bindingCommands)
    }

    func bindingCommands(_ queue: String) -> [[RedisArgument]] {
        let member = RedisArgument(Kombu.bindingMember(routingKey: queue, queue: queue))
        return [
            ["SADD", RedisArgument(kombu.bindingKey(queue)), member],
            ["SADD", RedisArgument(kombu.permanentBindingKey(queue)), member],
        ]
    }

    private func sendCommands(_ messages: [OutgoingMessage]) -> [[RedisArgument]] {
        var byList: [String: [RedisArgument]] = [:]
        var order: [String] = []
        for message in messages {
            let key = kombu.listKey(message.queue, priority: message.priority)
            if byList[key] == nil { order.append(key) }
            byList[key, default: []].append(RedisArgument(bytes: message.body))
        }
        return order.map { ["LPUSH", RedisArgument($0)] + byList[$0]! }
    }

    private func ackCommands(_ tags: [String]) -> [[RedisArgument]] {
        guard !tags.isEmpty else { return [] }
        let arguments = tags.map { RedisArgument($0) }
        return [
            ["ZREM", RedisArgument(kombu.unackedIndex)] + arguments,
            ["HDEL", RedisArgument(kombu.unacked)] + arguments,
        ]
    }

    /// Adds a dead letter, bounded by ``deadLetterLimits``: `{queue, reason, at, body (base64), size, sha256}`, and
    /// `task_id` and `task` when the body is cut.
    private func deadLetterCommand(_ delivery: Delivery, reason: String) -> [RedisArgument] {
        let bounded = deadLetterLimits.bound(delivery.body, reason: reason)
        var letter: [String: JSONValue] = [
            "queue": .string(delivery.queue), "reason": .string(bounded.reason),
            "at": .number(clock.now.timeIntervalSince1970), "body": .string(bounded.body.base64EncodedString()),
            "size": .integer(Int64(bounded.size)), "sha256": .string(bounded.sha256),
        ]
        if let taskId = bounded.taskId { letter["task_id"] = .string(taskId) }
        if let task = bounded.task { letter["task"] = .string(task) }
        return RedisScripts.eval(
            RedisScripts.deadLetter,
            keys: [
                deadLetterSequence, deadLetters, deadLetterOrder, deadLetterBytes,
                deadLettersDropped,
            ],
            [
                RedisArgument(JSONValue.object(letter).jsonText), RedisArgument(deadLetterLimits.maxCount),
                RedisArgument(deadLetterLimits.maxTotalBytes),
            ])
    }

    /// A worker or task event, published as Celery's workers publish theirs.
    /// Publishes worker events one by one, and a batch's task events as one `task.multi` message whose body is
    /// their list, as a Celery worker with an event loop buffers them; Celery's event receivers, Flower's among
    /// them, read both.
    private func eventCommands(_ events: [QueueEvent]) -> [[RedisArgument]] {
        var taskEvents: [JSONValue] = []
        var commands: [[RedisArgument]] = []
        for event in events {
            var fields = event.fields
            fields["clock"] = .integer(Int64(logicalClock.add(1, ordering: .relaxed).newValue))
            if event.type.hasPrefix("task-") {
                taskEvents.append(.object(fields))
            } else {
                let (hostname, routingKey) = (fields["hostname"] ?? "", Self.routingKey(event.type))
                commands.append(publishEvent(.object(fields), hostname: hostname, routingKey: routingKey))
            }
        }
        if taskEvents.count == 1, let only = taskEvents.first, let type = only["type"]?.stringValue {
            commands.append(publishEvent(only, hostname: only["hostname"] ?? "", routingKey: Self.routingKey(type)))
        } else if let first = taskEvents.first {
            let hostname = first["hostname"] ?? ""
            commands.append(publishEvent(.array(taskEvents), hostname: hostname, routingKey: "task.multi"))
        }
        return commands
    }

    private func publishEvent(_ body: JSONValue, hostname: JSONValue, routingKey: String) -> [RedisArgument] {
        let envelope = Kombu.envelope(
            body: body, headers: ["hostname": hostname], exchange: "celeryev", routingKey: routingKey)
        let channel = kombu.fanoutChannel(
            database: configuration.database, exchange: "celeryev", routingKey: routingKey)
        return ["PUBLISH", RedisArgument(channel), RedisArgument(bytes: envelope)]
    }

    /// `task-succeeded` travels as `task.succeeded`.
    private static func routingKey(_ type: String) -> String {
        String(decoding: type.utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: ".") : $0 }, as: UTF8.self)
    }

    var deadLetters: String { kombu.own("dead_letters") }
    var deadLetterSequence: String { kombu.own("dead_letters.seq") }
    var deadLetterOrder: String { kombu.own("dead_letters.order") }
    var deadLetterBytes: String { kombu.own("dead_letters.bytes") }
    var deadLettersDropped: String { kombu.own("dead_letters.dropped") }
    /// A stream of revocations, one entry (`task_id`, `terminate`) per revoked id; its entry ids are the cursors.
    var revocationStream: String { kombu.own("revocations") }

    // MARK: Receiving

    public func receive(from queues: [String], limit: Int, lease: Duration, timeout: Duration) async throws
        -> [Delivery]
    {
        precondition(!queues.isEmpty, "receive needs at least one queue")
        try await restoreExpired(lease: lease)
        let keys = kombu.listKeys(queues)
        let taken = try await take(from: keys, limit: limit)
        if !taken.isEmpty { return taken }
        guard let popped = try await blockingPop(keys, timeout: timeout) else { return [] }
        let tag = try await holdRetrying(popped.message, from: popped.list)
        // The message that woke an idle worker starts at once, without another round trip to take more: the
        // worker's next receive takes the rest of a burst in one batch while this one runs.
        return [Delivery(tag: tag, queue: kombu.queue(ofList: popped.list), body: popped.message, redelivered: false)]
    }

    /// Pops and holds up to `limit` messages without waiting.
    private func take(from keys: [String], limit: Int) async throws -> [Delivery] {
        let arguments: [RedisArgument] =
            [RedisArgument(now), RedisArgument(limit), RedisArgument("simul-untagged-\(UUID().uuidString)-")]
            + keys.map { RedisArgument(kombu.queue(ofList: $0)) }
        let reply = try await redis {
            try await self.pool.send(
                RedisScripts.eval(RedisScripts.receive, keys: [kombu.unackedIndex, kombu.unacked] + keys, arguments))
        }
        guard case .array(let values) = reply else { return [] }
        var deliveries: [Delivery] = []
        deliveries.reserveCapacity(values.count / 3)
        var index = 0
        while index + 2 < values.count {
            guard let list = values[index].string, let tag = values[index + 1].string,
                case .bulkString(let bytes) = values[index + 2]
            else { break }
            let body = Data(bytes.readableBytesView)
            deliveries.append(
                Delivery(tag: tag, queue: kombu.queue(ofList: list), body: body, redelivered: false))
            index += 3
        }
        return deliveries
    }

    /// Waits up to `timeout` for a message on one of `keys`, on a connection of its own.
    private func blockingPop(_ keys: [String], timeout: Duration) async throws -> (list: String, message: Data)? {
        let connection = try await blockingConnection()
        let seconds = max(0.01, timeout.seconds)
        let reply: RESPValue
        do {
            reply = try await connection.send(
                ["BRPOP"] + keys.map { RedisArgument($0) } + [RedisArgument(String(format: "%.3f", seconds))],
                timeout: timeout + .seconds(10))
        } catch {
            await connection.close()
            throw QueueError.unavailable("cannot receive from redis at \(configuration.endpoint): \(error)")
        }
        idleBlocking.withLock { $0.append(connection) }
        guard case .array(let pair) = reply, pair.count == 2, let list = pair[0].string,
            case .bulkString(let bytes) = pair[1]
        else { return nil }
        return (list, Data(bytes.readableBytesView))
    }

    /// An idle blocking connection that is still open (one from before a Redis restart is not), or a new one.
    private func blockingConnection() async throws -> RedisConnection {
        while let idle = idleBlocking.withLock({ $0.popLast() }) {
            if idle.isOpen { return idle }
            await idle.close()
        }
        return try await redis { try await RedisConnection.connect(to: self.configuration, logger: self.logger) }
    }

    /// ``hold(_:from:)``, tried again with backoff while Redis is unavailable, for up to a minute: the popped message
    /// is only in this process, so giving up at the first failure (Redis restarting just after the pop) loses it.
    private func holdRetrying(_ message: Data, from list: String) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(60)
        var failures = 0
        while true {
            do {
                return try await hold(message, from: list)
            } catch let error as QueueError where error.isUnavailable && ContinuousClock.now < deadline {
                failures += 1
                logger.warning("cannot hold a received message (\(error)); trying again")
                try? await Task.sleep(for: configuration.reconnectBackoff.delay(afterFailures: failures))
            }
        }
    }

    /// Records a message taken by a blocking pop in `unacked`; returns its tag.
    ///
    /// Between the pop and this, the message is only in this process: the one moment a `kill -9` can lose a
    /// message, as with kombu. Busy workers take messages with ``take(from:limit:)``, which has no such moment.
    private func hold(_ message: Data, from list: String) async throws -> String {
        let arguments = [
            RedisArgument(now), RedisArgument(bytes: message), RedisArgument(kombu.queue(ofList: list)),
            RedisArgument("simul-untagged-\(UUID().uuidString)"),
        ]
        let reply = try await redis {
            try await self.pool.send(
                RedisScripts.eval(RedisScripts.hold, keys: [kombu.unackedIndex, kombu.unacked], arguments))
        }
        guard let tag = reply.string else { throw QueueError.storage("redis did not hold a received message") }
        return tag
    }

    public func renew(_ tags: [String], lease: Duration) async throws {
        guard !tags.isEmpty else { return }
        let now = RedisArgument(now)
        var command: [RedisArgument] = ["ZADD", RedisArgument(kombu.unackedIndex), "XX"]
        for tag in tags { command += [now, RedisArgument(tag)] }
        _ = try await redis { try await self.pool.send(command) }
    }

    /// Puts back in their lists the held messages whose lease is older than `lease`, as kombu's `restore_visible`
    /// does, under the same lock; at most once per half lease per process.
    private func restoreExpired(lease: Duration) async throws {
        let due = lastRestore.withLock { last -> Bool in
            let now = clock.now
            if let last, now.timeIntervalSince(last) < max(1, lease.seconds / 2) { return false }
            last = now
            return true
        }
        guard due else { return }
        let ceiling = clock.now.timeIntervalSince1970 - lease.seconds
        let expired = try await redis {
            try await self.pool.send(
                "ZRANGE", RedisArgument(kombu.unackedIndex), "-inf", RedisArgument(ceiling), "BYSCORE", "LIMIT", 0, 1000
            )
        }
        guard case .array(let values) = expired, !values.isEmpty else { return }
        let token = RedisArgument(UUID().uuidString)
        let locked = try await redis {
            try await self.pool.send(
                "SET", RedisArgument(kombu.unackedMutex), token, "NX", "PX",
                RedisArgument(Int(Self.restoreLockExpiry.seconds * 1_000)))
        }
        guard locked != .null else { return }
        let unlock = RedisScripts.eval(RedisScripts.unlock, keys: [kombu.unackedMutex], [token])
        let tags = values.compactMap(\.string)
        do {
            let commands = try await restoreCommands(for: tags, lapsed: true)
            _ = try await redis { try await self.pool.pipeline(commands + [unlock]) }
        } catch {
            // Each restore is atomic, so a half-done one is safe to do again: the next receive does, unless the lock
            // is left behind (released here if Redis answers, else when it expires).
            _ = try? await pool.send(unlock)
            throw error
        }
        logger.warning("put back \(tags.count) messages whose worker stopped renewing them")
    }

    /// How long a restore may hold `unacked_mutex` if it cannot release it (its connection lost midway). kombu's
    /// is 300 s; ours is shorter, so a lost connection delays the next restore by a minute, not five. Each message's
    /// restore is atomic, here as in kombu, so the lock only saves work twice done, never a message put back twice.
    static let restoreLockExpiry = Duration.seconds(60)

    /// The commands that put held messages back at the consuming end of their lists, marked redelivered, each only
    /// if it is still held when it runs; `lapsed` when their leases ran out, which each one's count of lapsed leases
    /// records.
    func restoreCommands(for tags: [String], lapsed: Bool) async throws -> [[RedisArgument]] {
        let reply = try await redis {
            try await self.pool.send(["HMGET", RedisArgument(kombu.unacked)] + tags.map { RedisArgument($0) })
        }
        guard case .array(let entries) = reply else { return [] }
        var commands: [[RedisArgument]] = []
        for (tag, entry) in zip(tags, entries) {
            guard case .bulkString(let bytes) = entry,
                let (list, message) = self.restorable(Data(bytes.readableBytesView), lapsed: lapsed)
            else { continue }
            commands.append(
                RedisScripts.eval(
                    RedisScripts.restore, keys: [kombu.unackedIndex, kombu.unacked, list],
                    [RedisArgument(tag), RedisArgument(bytes: message)]))
        }
        return commands
    }

    /// An `unacked` entry, `[envelope, exchange, routing key]`: the list it goes back to and the envelope marked
    /// redelivered, with one more lapsed lease if `lapsed` (a message that was not an envelope goes back as it came).
    func restorable(_ entry: Data, lapsed: Bool) -> (list: String, message: [UInt8])? {
        guard case .array(let parts)? = Kombu.json(entry), parts.count == 3, let routingKey = parts[2].stringValue
        else { return Self.unparsedEntry(entry).map { (kombu.listKey($0.routingKey, priority: 0), $0.message) } }
        switch parts[0] {
        case .string(let raw):
            return (kombu.listKey(routingKey, priority: 0), Array(raw.utf8))
        case .object(var envelope):
            var properties = envelope["properties"]?.objectValue ?? [:]
            var headers = envelope["headers"]?.objectValue ?? [:]
            var info = properties["delivery_info"]?.objectValue ?? [:]
            headers["redelivered"] = true
            info["redelivered"] = true
            if lapsed {
                let header = MessageCodec.lapsedLeasesHeader
                headers[header] = .integer(Int64((headers[header]?.intValue ?? 0) + 1))
            }
            properties["delivery_info"] = .object(info)
            envelope["headers"] = .object(headers)
            envelope["properties"] = .object(properties)
            let priority = Int(properties["priority"]?.intValue ?? 0)
            return (kombu.listKey(routingKey, priority: priority), JSONValue.object(envelope).jsonBytes)
        default:
            return nil
        }
    }

    /// The message and routing key of an entry that is not JSON because its message is not: the hold script
    /// wrote it as `[<message>,"<exchange>","<routing key>"]`, names without quotes. The message goes back as it is,
    /// for a worker to dead-letter with its reason.
    private static func unparsedEntry(_ entry: Data) -> (routingKey: String, message: [UInt8])? {
        let bytes = Array(entry)
        let quote = UInt8(ascii: "\"")
        guard bytes.first == UInt8(ascii: "["), bytes.suffix(2) == [quote, UInt8(ascii: "]")],
            let keyStart = bytes.dropLast(2).lastIndex(of: quote),
            let exchangeEnd = bytes[..<keyStart].lastIndex(of: quote),
            let exchangeStart = bytes[..<exchangeEnd].lastIndex(of: quote), exchangeStart > 1,
            bytes[exchangeStart - 1] == UInt8(ascii: ",")
        else { return nil }
        let routingKey = String(decoding: bytes[(keyStart + 1)..<(bytes.count - 2)], as: UTF8.self)
        return (routingKey, Array(bytes[1..<(exchangeStart - 1)]))
    }

    // MARK: Dead letters, queues, revocations, claims

    public func deadLetters(limit: Int) async throws -> [DeadLetter] {
        let reply = try await redis { try await self.pool.send("HGETALL", RedisArgument(deadLetters)) }
        guard case .array(let values) = reply else { return [] }
        var letters: [DeadLetter] = []
        var index = 0
        while index + 1 < values.count {
            defer { index += 2 }
            guard let id = values[index].int.map(Int64.init), let text = values[index + 1].string,
                let letter = Kombu.json(Data(text.utf8)), let queue = letter["queue"]?.stringValue,
                let body = letter["body"]?.stringValue.flatMap({ Data(base64Encoded: $0) })
            else { continue }
            let at = Date(timeIntervalSince1970: letter["at"]?.doubleValue ?? 0)
            letters.append(
                DeadLetter(
                    id: id, queue: queue, reason: letter["reason"]?.stringValue ?? "", at: at, body: body,
                    size: letter["size"]?.intValue.map { Int($0) }, sha256: letter["sha256"]?.stringValue,
                    taskId: letter["task_id"]?.stringValue, task: letter["task"]?.stringValue))
        }
        return Array(letters.sorted { $0.id > $1.id }.prefix(limit))
    }

    public func droppedDeadLetters() async throws -> Int64 {
        let reply = try await redis { try await self.pool.send("GET", RedisArgument(deadLettersDropped)) }
        return reply.string.flatMap { Int64($0) } ?? 0
    }

    public func replayDeadLetters(_ ids: [Int64]?) async throws -> Int {
        let letters = try await deadLetters(limit: .max).filter { ids?.contains($0.id) ?? !$0.isTruncated }
        if let refusal = letters.lazy.compactMap(\.replayRefusal).first { throw refusal }
        guard !letters.isEmpty else { return 0 }
        var commands: [[RedisArgument]] = []
        for letter in letters {
            commands.append(
                ["LPUSH", RedisArgument(kombu.listKey(letter.queue, priority: 0)), RedisArgument(bytes: letter.body)])
            commands.append(
                RedisScripts.eval(
                    RedisScripts.removeDeadLetter,
                    keys: [deadLetters, deadLetterOrder, deadLetterBytes],
                    [RedisArgument(letter.id)]))
        }
        _ = try await transaction("a replay of dead letters", commands)
        return letters.count
    }

    public func purge(queue: String) async throws -> Int {
        let lists = Kombu.prioritySteps.map { kombu.listKey(queue, priority: $0) }
        let counts = try await transaction(
            "a purge", lists.map { ["LLEN", RedisArgument($0)] } + [["DEL"] + lists.map { RedisArgument($0) }])
        return counts.prefix(lists.count).compactMap(\.int).reduce(0, +)
    }

    public func queueLengths() async throws -> [String: Int] {
        let queues = try await boundQueues()
        guard !queues.isEmpty else { return [:] }
        let lists = kombu.listKeys(queues)
        let replies = try await redis { try await self.pool.pipeline(lists.map { ["LLEN", RedisArgument($0)] }) }
        var lengths: [String: Int] = [:]
        for (list, reply) in zip(lists, replies) { lengths[kombu.queue(ofList: list), default: 0] += reply.int ?? 0 }
        return lengths
    }

    /// One pipeline for every queue: `LLEN` and `LINDEX -1` of each priority list. Senders `LPUSH` and workers pop
    /// from the right, so the last element is the oldest; it has waited since its `simul_sent_at` header, and one
    /// without (a Python Celery client's) since the first time this broker object saw it last in its list.
    public func backlogs(of queues: [String]) async throws -> [String: QueueBacklog] {
        var backlogs = Dictionary(queues.map { ($0, QueueBacklog.empty) }) { first, _ in first }
        let lists = kombu.listKeys(Array(backlogs.keys))
        guard !lists.isEmpty else { return backlogs }
        let replies = try await redis {
            try await self.pool.pipeline(
                lists.flatMap { [["LLEN", RedisArgument($0)], ["LINDEX", RedisArgument($0), "-1"]] })
        }
        // Each list's oldest message: its sent time, or else its id.
        let oldest = lists.indices.map { index -> (sentAt: Date?, id: String)? in
            guard case .bulkString(let bytes) = replies[2 * index + 1] else { return nil }
            let message = Data(bytes.readableBytesView)
            let headers = Kombu.json(message)?["headers"]
            return (
                headers?["simul_sent_at"]?.doubleValue.map(Date.init(timeIntervalSince1970:)),
                headers?["id"]?.stringValue ?? "\(message.count):\(message.hashValue)"
            )
        }
        let now = clock.now
        let since = oldestSeen.withLock { seen in
            zip(lists, oldest).map { list, oldest -> Date? in
                guard let oldest, oldest.sentAt == nil else {
                    seen[list] = nil
                    return oldest?.sentAt
                }
                let since = seen[list].flatMap { $0.id == oldest.id ? $0.at : nil } ?? now
                seen[list] = (oldest.id, since)
                return since
            }
        }
        for (index, list) in lists.enumerated() {
            let queue = kombu.queue(ofList: list)
            backlogs[queue]?.length += replies[2 * index].int ?? 0
            if let since = since[index] {
                let oldestSince = backlogs[queue]?.oldestSince ?? since
                backlogs[queue]?.oldestSince = min(oldestSince, since)
            }
        }
        return backlogs
    }

    /// The queues that some binding names: the task queues that kombu or Simul declared.
    private func boundQueues() async throws -> [String] {
        var cursor = "0"
        var tables: [String] = []
        repeat {
            let reply = try await redis {
                try await self.pool.send(
                    "SCAN", RedisArgument(cursor), "MATCH", RedisArgument(self.kombu.bindingKey("*")), "COUNT", 1000)
            }
            guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].string,
                case .array(let keys) = parts[1]
            else { break }
            tables += keys.compactMap(\.string)
            cursor = next
        } while cursor != "0"
        let taskTables = tables.filter { !$0.hasSuffix(".pidbox") && !$0.hasSuffix("celeryev") }
        guard !taskTables.isEmpty else { return [] }
        let replies = try await redis {
            try await self.pool.pipeline(taskTables.map { ["SMEMBERS", RedisArgument($0)] })
        }
        var queues: Set<String> = []
        for case .array(let members) in replies {
            for member in members.compactMap(\.string) {
                if let queue = member.components(separatedBy: Kombu.separator).last, !queue.isEmpty,
                    !queue.hasSuffix(".pidbox"), !queue.hasPrefix("celeryev.")
                {
                    queues.insert(queue)
                }
            }
        }
        return queues.sorted()
    }

    /// One `MULTI`: an `XADD` per id, then `XTRIM MAXLEN` and `XTRIM MINID` (stream ids are Redis's time in ms)
    /// drop the entries past the bound and the age, oldest first, in O(dropped); the key expires when the newest
    /// entry would. It also broadcasts Celery's `revoke`, which running workers, Python ones included, act on at once.
    public func revoke(_ ids: [String], terminate: Bool) async throws {
        guard !ids.isEmpty else { return }
        let key = RedisArgument(revocationStream)
        var commands: [[RedisArgument]] = []
        for id in ids {
            commands.append(["XADD", key, "*", "task_id", RedisArgument(id), "terminate", terminate ? "1" : "0"])
        }
        commands += [
            ["XTRIM", key, "MAXLEN", RedisArgument(revocationLimits.maxCount)],
            ["XTRIM", key, "MINID", RedisArgument(revocationCutoff)],
            ["EXPIRE", key, RedisArgument(Int(revocationLimits.maxAge.rounded(.up)))],
            controlCast("revoke", ["task_id": .array(ids.map(JSONValue.string)), "terminate": .bool(terminate)]),
        ]
        _ = try await transaction("a revoke", commands)
    }

    /// `XRANGE` from the cursor (exclusive) to the end; without one, from the oldest entry young enough to count.
    /// The cursor is the id of the newest entry read.
    public func revocations(after cursor: RevocationCursor?) async throws
        -> (revocations: [Revocation], cursor: RevocationCursor)
    {
        let cutoff = revocationCutoff
        let start = cursor.map { "(" + $0.position } ?? String(cutoff)
        let reply = try await redis {
            try await self.pool.send("XRANGE", RedisArgument(revocationStream), RedisArgument(start), "+")
        }
        guard case .array(let entries) = reply else { return ([], cursor ?? RevocationCursor("\(cutoff)-0")) }
        var revocations: [Revocation] = []
        var last = cursor
        for case .array(let entry) in entries {
            guard entry.count == 2, let id = entry[0].string else { continue }
            last = RevocationCursor(id)
            let fields: [RESPValue]
            switch entry[1] {
            case .array(let values), .map(let values): fields = values
            default: continue
            }
            var taskId: String?
            var terminate = false
            for index in stride(from: 0, to: fields.count - 1, by: 2) {
                switch fields[index].string {
                case "task_id": taskId = fields[index + 1].string
                case "terminate": terminate = fields[index + 1].string == "1"
                default: break
                }
            }
            guard let taskId, let milliseconds = Int64(id.prefix { $0 != "-" }), milliseconds >= cutoff else {
                continue
            }
            revocations.append(
                Revocation(
                    id: taskId, terminate: terminate, at: Date(timeIntervalSince1970: Double(milliseconds) / 1_000)))
        }
        return (revocations, last ?? RevocationCursor("\(cutoff)-0"))
    }

    /// The stream id (in ms) before which revocations have expired.
    private var revocationCutoff: Int64 {
        Int64(((clock.now.timeIntervalSince1970 - revocationLimits.maxAge) * 1_000).rounded(.down))
    }

    public func events(after cursor: Int64, limit: Int) async throws -> (events: [QueueEvent], cursor: Int64) {
        try await listener.events(after: cursor, limit: limit)
    }

    public func claim(_ slot: String, sending message: OutgoingMessage) async throws -> Bool {
        let claim = RedisScripts.eval(
            RedisScripts.claimAndSend,
            keys: [kombu.own("claim.\(slot)"), kombu.listKey(message.queue, priority: message.priority)],
            [86_400, RedisArgument(bytes: message.body)])
        let replies = try await transaction(
            "a periodic slot's claim and send", [claim], after: try await declareCommands(for: [message]),
            replicated: true)
        return replies.first?.int == 1
    }

    // MARK: Helpers

    /// The clock's time as kombu writes it: seconds since 1970.
    var now: String { String(clock.now.timeIntervalSince1970) }

    /// Runs `body`, turning Redis's errors into ``QueueError``s that say where Redis is.
    /// How long a write waits for its replicas (``RedisConfiguration/waitReplicas``) before it counts as failed.
    static let replicaPatience = Duration.seconds(1)

    /// Whether a refusal passes by itself, as Redis does when it is still loading its data after a restart, or is
    /// a replica that a failover is about to promote: then the broker is unavailable for a while, not refusing.
    static func passes(_ error: RedisError) -> Bool {
        ["LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN"].contains { error.message.hasPrefix($0 + " ") }
    }

    func redis<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RedisError where error.isServerError && !Self.passes(error) {
            // Redis answered, and said no (NOPERM for an ACL user without a command, OOM when full): trying again
            // at once would get the same answer.
            throw QueueError.storage("redis refused a command: \(error.message)")
        } catch let error as RedisError {
            throw QueueError.unavailable("\(error)")
        }
    }
}
