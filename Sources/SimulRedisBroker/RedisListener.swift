import DequeModule
import Foundation
import Logging
import NIOCore
import SimulJSON
import SimulQueue
import SimulRedis
import Synchronization
import SimulRESP

/// The broker's one pub/sub connection, shared by everything that listens: result waiters, the event feed and
/// remote control. It subscribes on first use and hands each message to whoever waits for it.
final class RedisListener: Sendable {
    private struct State {
        var subscriber: Task<RedisSubscriber, any Error>?
        var waiters: [String: [ResultWaiter]] = [:]
        var events = Deque<(cursor: Int64, event: QueueEvent)>()
        var lastCursor: Int64 = 0
        var listeningForEvents = false
        var control: (node: String, continuation: AsyncStream<ControlRequest>.Continuation)?
        var isClosed = false
    }

    /// Events kept for ``events(after:limit:)``; older ones are dropped.
    static let eventCapacity = 50_000
    /// How long the first look at the events listens: longer than a worker's heartbeat interval, so every worker
    /// that is up has spoken.
    static let firstListen = Duration.milliseconds(2_500)

    private let configuration: RedisConfiguration
    private let kombu: Kombu
    private let pool: RedisConnectionPool
    private let logger: Logger
    private let clock: any QueueClock
    private let state = Mutex(State())

    init(
        configuration: RedisConfiguration, kombu: Kombu, pool: RedisConnectionPool, logger: Logger,
        clock: any QueueClock
    ) {
        self.configuration = configuration
        self.kombu = kombu
        self.pool = pool
        self.logger = logger
        self.clock = clock
    }

    private var eventPattern: String {
        kombu.fanoutChannel(database: configuration.database, exchange: "celeryev") + "/*"
    }
    private var controlChannel: String {
        kombu.fanoutChannel(database: configuration.database, exchange: "celery.pidbox")
    }

    private func subscriber() async throws -> RedisSubscriber {
        let task = try state.withLock { state throws(QueueError) -> Task<RedisSubscriber, any Error> in
            guard !state.isClosed else { throw QueueError.unavailable("the redis broker is closed") }
            if let task = state.subscriber { return task }
            let task = Task {
                let subscriber = try await RedisSubscriber.connect(
                    to: configuration, logger: logger, onResubscribe: { [weak self] in self?.resubscribed() })
                Task { [weak self] in
                    for await message in subscriber.messages { self?.dispatch(message) }
                }
                return subscriber
            }
            state.subscriber = task
            return task
        }
        do {
            return try await task.value
        } catch {
            state.withLock { if $0.subscriber == task { $0.subscriber = nil } }
            throw QueueError.unavailable("cannot listen on redis at \(configuration.endpoint): \(error)")
        }
    }

    // MARK: Results

    /// Starts listening for the result of task `id`; read it with ``ResultWaiter/next(timeout:)``.
    func waitForResult(_ id: String) async throws -> ResultWaiter {
        let subscriber = try await subscriber()
        let waiter = ResultWaiter(id: id)
        let first = state.withLock { state in
            defer { state.waiters[id, default: []].append(waiter) }
            return state.waiters[id] == nil
        }
        if first {
            do {
                try await subscriber.subscribe(to: [kombu.resultKey(id)])
            } catch let error as RedisError where !error.hasSameKind(as: .poolClosed) {
                // The connection went away meanwhile: the subscription is recorded and made again when the
                // subscriber reconnects, and the result is read again then (``resubscribed()``).
                logger.debug("subscribing to a result while redis reconnects: \(error)")
            }
        }
        return waiter
    }

    func stopWaiting(_ waiter: ResultWaiter) {
        waiter.finish()
        let subscription = state.withLock { state -> Task<RedisSubscriber, any Error>? in
            state.waiters[waiter.id]?.removeAll { $0 === waiter }
            guard state.waiters[waiter.id]?.isEmpty == true else { return nil }
            state.waiters[waiter.id] = nil
            return state.subscriber
        }
        guard let subscription else { return }
        Task {
            guard let subscriber = try? await subscription.value,
                self.state.withLock({ $0.waiters[waiter.id] == nil })
            else { return }
            try? await subscriber.unsubscribe(from: [kombu.resultKey(waiter.id)])
        }
    }

    /// After a reconnect, reads the results that may have been published while the subscriber was away.
    ///
    /// The pool reconnects on its own schedule, so the read is tried again with backoff until it succeeds (for up to
    /// a minute, or until the listener closes): a waiter whose result was published during the outage must not wait
    /// forever for a message it missed.
    private func resubscribed() {
        guard state.withLock({ !$0.waiters.isEmpty }) else { return }
        Task {
            var failures = 0
            let deadline = ContinuousClock.now + .seconds(60)
            while true {
                let (ids, closed) = state.withLock { (Array($0.waiters.keys), $0.isClosed) }
                guard !ids.isEmpty, !closed else { return }
                do {
                    let reply = try await pool.send(["MGET"] + ids.map { RedisArgument(kombu.resultKey($0)) })
                    guard case .array(let values) = reply else { return }
                    for value in values {
                        if let result = RedisBroker.decodeResult(value) { deliver(result) }
                    }
                    return
                } catch {
                    failures += 1
                    guard ContinuousClock.now < deadline else {
                        logger.warning("cannot read the results missed while reconnecting: \(error)")
                        return
                    }
                    try? await Task.sleep(for: configuration.reconnectBackoff.delay(afterFailures: failures))
                }
            }
        }
    }

    private func deliver(_ result: TaskResult) {
        let waiters = state.withLock { $0.waiters[result.taskId] ?? [] }
        for waiter in waiters { waiter.yield(result) }
    }

    // MARK: Events

    func events(after cursor: Int64, limit: Int) async throws -> (events: [QueueEvent], cursor: Int64) {
        let start = state.withLock { state in
            defer { state.listeningForEvents = true }
            return !state.listeningForEvents
        }
        if start {
            try await subscriber().psubscribe(to: [eventPattern])
            try await Task.sleep(for: Self.firstListen)
        }
        return state.withLock { state in
            let events = state.events.filter { $0.cursor > cursor }.prefix(limit)
            return (events.map(\.event), events.last?.cursor ?? max(cursor, state.lastCursor))
        }
    }

    private func record(_ payload: ByteBuffer) {
        guard let (_, body) = Kombu.open(payload.readableBytesView) else { return }
        let bodies: [JSONValue] = if case .array(let list) = body { list } else { [body] }
        let events = bodies.compactMap { $0.objectValue.flatMap(QueueEvent.init(fields:)) }
        state.withLock { state in
            for event in events {
                state.lastCursor += 1
                state.events.append((state.lastCursor, event))
            }
            if state.events.count > Self.eventCapacity {
                state.events.removeFirst(state.events.count - Self.eventCapacity)
            }
        }
    }

    // MARK: Remote control

    func controlRequests(for node: String) async throws -> AsyncStream<ControlRequest> {
        let (stream, continuation) = AsyncStream.makeStream(of: ControlRequest.self)
        state.withLock { $0.control = (node, continuation) }
        _ = try await pool.send(
            "SADD", RedisArgument(kombu.bindingKey("celery.pidbox")),
            RedisArgument(Kombu.bindingMember(routingKey: "", queue: "\(node).celery.pidbox")))
        try await subscriber().psubscribe(to: [controlChannel])
        return stream
    }

    private func handleControl(_ payload: ByteBuffer) {
        guard let control = state.withLock({ $0.control }) else { return }
        switch Self.controlRequest(payload.readableBytesView, for: control.node, now: clock.now) {
        case .request(let request): control.continuation.yield(request)
        case .notForThisNode: break
        case .malformed(let reason):
            logger.warning("ignoring a remote-control message: \(reason)")
        }
    }

    /// What a pidbox message on the channel is for `node`.
    enum ControlMessage: Equatable {
        /// A command for this node.
        case request(ControlRequest)
        /// A command for other nodes, or one that has expired.
        case notForThisNode
        /// Not a command: logged and ignored, as kombu does.
        case malformed(String)
    }

    /// Reads a pidbox message as kombu's `Node.handle_message` does: run it iff the node is in `destination`, or
    /// `pattern` with `matcher` (`glob` or `pcre`) matches it, or neither is given.
    static func controlRequest(_ bytes: some Collection<UInt8>, for node: String, now: Date) -> ControlMessage {
        guard let (headers, body) = Kombu.open(bytes) else {
            return .malformed("not a kombu envelope with a JSON body (\(bytes.count) bytes)")
        }
        guard case .object(let fields) = body else { return .malformed("its body is not a JSON object") }
        guard let method = fields["method"]?.stringValue, !method.isEmpty else {
            return .malformed("its body has no method")
        }
        let arguments: [String: JSONValue]
        switch fields["arguments"] {
        case .object(let values)?: arguments = values
        case nil, .null?: arguments = [:]
        default: return .malformed("the arguments of '\(method)' are not a JSON object")
        }
        // `headers.expires` is ignored, as Python workers ignore it: a skewed clock would otherwise lose revokes.
        switch fields["destination"] {
        case .array(let destinations)? where !destinations.isEmpty:
            guard destinations.contains(.string(node)) else { return .notForThisNode }
        case nil, .null?, .array?:
            if let pattern = fields["pattern"]?.stringValue, let matcher = fields["matcher"]?.stringValue {
                guard Self.matches(node, pattern: pattern, matcher: matcher) else { return .notForThisNode }
            }
        default: return .malformed("the destination of '\(method)' is neither a list nor null")
        }
        var replyTo: ControlRequest.ReplyAddress?
        if let exchange = fields["reply_to"]?["exchange"]?.stringValue,
            let routingKey = fields["reply_to"]?["routing_key"]?.stringValue
        {
            replyTo = ControlRequest.ReplyAddress(exchange: exchange, routingKey: routingKey)
        }
        return .request(
            ControlRequest(
                method: method, arguments: arguments, replyTo: replyTo, ticket: fields["ticket"]?.stringValue,
                clock: headers["clock"]?.intValue))
    }

    /// kombu's matchers: `glob` is fnmatch, `pcre` a regular expression matched at the start.
    static func matches(_ node: String, pattern: String, matcher: String) -> Bool {
        switch matcher {
        case "glob": return fnmatch(pattern, node, 0) == 0
        case "pcre":
            guard let regex = try? NSRegularExpression(pattern: pattern) else { return false }
            let range = NSRange(node.startIndex..., in: node)
            return regex.firstMatch(in: node, options: .anchored, range: range) != nil
        default: return false
        }
    }

    // MARK: Dispatch

    private func dispatch(_ message: RedisMessage) {
        if message.channel.hasPrefix(kombu.resultKeyPrefix) {
            if let result = RedisBroker.decodeResult(.bulkString(message.payload)) { deliver(result) }
        } else if message.pattern == eventPattern {
            record(message.payload)
        } else if message.channel == controlChannel {
            handleControl(message.payload)
        }
    }

    func close() async {
        let (task, waiters, control) = state.withLock { state in
            state.isClosed = true
            defer {
                state.subscriber = nil
                state.waiters = [:]
                state.control = nil
            }
            return (state.subscriber, state.waiters.values.flatMap { $0 }, state.control)
        }
        for waiter in waiters { waiter.finish() }
        control?.continuation.finish()
        if let subscriber = try? await task?.value { await subscriber.close() }
    }
}

/// One task's result, as it is published.
final class ResultWaiter: Sendable {
    let id: String
    private let stream: AsyncStream<TaskResult>
    private let continuation: AsyncStream<TaskResult>.Continuation

    init(id: String) {
        self.id = id
        (stream, continuation) = AsyncStream.makeStream(of: TaskResult.self, bufferingPolicy: .bufferingNewest(16))
    }

    func yield(_ result: TaskResult) { continuation.yield(result) }
    func finish() { continuation.finish() }

    /// The first ready result published, waiting up to `timeout` (forever if `nil`); when the time runs out, the
    /// latest one published, if any.
    func next(timeout: Duration?) async throws -> TaskResult? {
        enum Outcome: Sendable {
            case seen(TaskResult?)
            case timedOut
        }
        return try await withThrowingTaskGroup(of: Outcome.self) { group in
            group.addTask {
                var latest: TaskResult?
                for await result in self.stream {
                    latest = result
                    if result.status.isReady { break }
                }
                return .seen(latest)
            }
            if let timeout {
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return .timedOut
                }
            }
            while let outcome = try await group.next() {
                group.cancelAll()
                // After a time-out, the listening child ends with the latest result it saw.
                if case .seen(let result) = outcome { return result }
            }
            return nil
        }
    }
}
