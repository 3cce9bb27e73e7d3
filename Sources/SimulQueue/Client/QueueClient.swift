public import SimulJSON

/// Sends tasks and canvases to a broker and hands back their ``AsyncResult``s: Celery's `delay`, `apply_async`,
/// `chain`, `group` and `chord`.
///
/// ```swift
/// let client = QueueClient(broker: broker, backend: broker)
/// let sum = try await client.send("simul.add", args: [2, 3])
/// print(try await sum.get(timeout: .seconds(10)))                       // 5
/// let total = try await client.chain([Signature("simul.add", args: [1, 2]), Signature("simul.mul", args: [10])])
/// print(try await total.get())                                          // 30
/// ```
public final class QueueClient: Sendable {
    /// Where messages go.
    private let clock: any QueueClock
    public let broker: any Broker
    /// Where results are read.
    public let backend: any ResultBackend
    private let routes: TaskRoutes

    /// Creates a client.
    /// - Parameters:
    ///   - broker: where messages go.
    ///   - backend: where results are read.
    ///   - routes: the queue for each task name; tasks not listed go to `celery`.
    ///   - clock: the time a countdown counts from.
    public init(
        broker: any Broker, backend: any ResultBackend, routes: TaskRoutes = TaskRoutes(),
        clock: any QueueClock = .system
    ) {
        self.broker = broker
        self.backend = backend
        self.routes = routes
        self.clock = clock
    }

    /// Sends one task.
    /// - Parameters:
    ///   - task: its registered name; a name this program does not know is allowed, another worker may know it.
    ///   - args: positional arguments.
    ///   - kwargs: keyword arguments.
    ///   - options: queue, countdown, ETA, expiry, priority, callbacks.
    /// - Returns: its result handle.
    @discardableResult
    public func send(
        _ task: String, args: [JSONValue] = [], kwargs: [String: JSONValue] = [:], options: SendOptions = .init()
    ) async throws -> AsyncResult {
        try await apply(Signature(task, args: args, kwargs: kwargs, options: options.signatureOptions))
    }

    /// Sends a signature.
    @discardableResult
    public func apply(_ signature: Signature) async throws -> AsyncResult {
        var signature = signature
        let id = signature.freeze()
        try await broker.send([message(for: signature)])
        return AsyncResult(id: id, backend: backend)
    }

    /// Sends a chain: each step's result becomes the next step's first argument.
    /// - Returns: the last step's result handle.
    @discardableResult
    public func chain(_ steps: [Signature]) async throws -> AsyncResult {
        guard var first = steps.first else { throw QueueError.invalidArgument("a chain needs at least one task") }
        var rest = Array(steps.dropFirst())
        for index in rest.indices { _ = rest[index].freeze() }
        let firstId = first.freeze()
        var message = try message(for: first)
        message.chain = rest.reversed()
        try await broker.send([message])
        return AsyncResult(id: rest.last?.taskId ?? firstId, backend: backend)
    }

    /// Sends a group: its tasks run in parallel.
    /// - Returns: every member's result handle, in order.
    @discardableResult
    public func group(_ members: [Signature]) async throws -> [AsyncResult] {
        let (messages, _) = try groupMessages(members, chord: nil)
        try await broker.send(messages)
        return messages.map { AsyncResult(id: $0.id, backend: backend) }
    }

    /// Sends a chord: the header runs as a group, then the body runs with the list of their results.
    /// - Returns: the body's result handle.
    @discardableResult
    public func chord(_ header: [Signature], body: Signature) async throws -> AsyncResult {
        guard !header.isEmpty else { throw QueueError.invalidArgument("a chord needs at least one header task") }
        var body = body
        let bodyId = body.freeze()
        let (messages, groupId) = try groupMessages(header, chord: body)
        try await backend.setChordSize(groupId, size: messages.count)
        try await broker.send(messages)
        return AsyncResult(id: bodyId, backend: backend)
    }

    /// Revokes tasks: workers skip them, and stop them if they are running and `terminate` is set.
    /// - Throws: ``QueueError/unsupported(transport:capability:)`` when the broker keeps no revocations
    ///   (``RevocationStore``), or ``QueueError`` when it cannot be written.
    public func revoke(_ ids: [String], terminate: Bool = false) async throws {
        try await broker.require(.revocations).revoke(ids, terminate: terminate)
    }

    /// The handle on the result of the task `id`.
    public func result(_ id: String) -> AsyncResult { AsyncResult(id: id, backend: backend) }

    /// The message that sends `signature`: routed, its countdown counted from the client's clock.
    func message(for signature: Signature) throws(MessageError) -> TaskMessage {
        try TaskMessage(signature, queue: routes.queue(for: signature.task) ?? "celery", now: clock.now)
    }

    private func groupMessages(_ members: [Signature], chord: Signature?) throws(MessageError)
        -> ([TaskMessage], String)
    {
        let groupId = TaskID.make()
        let messages = try members.enumerated().map { (index, member) throws(MessageError) in
            var member = member
            _ = member.freeze()
            var message = try message(for: member)
            message.groupId = groupId
            message.groupIndex = index
            message.chord = chord
            return message
        }
        return (messages, groupId)
    }
}
