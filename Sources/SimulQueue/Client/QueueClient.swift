public import SimulJSON
import Tracing

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

    /// Sends a signature: a task, or a canvas (``Signature/chain(_:)``, ``Signature/chord(_:body:)``, or
    /// ``Signature/map(_:over:)`` and its kin), nested as deep as Celery nests them.
    /// - Returns: the handle on the result that stands for it: a chain's last step's, a chord's body's.
    /// - Throws: ``QueueError/invalidArgument(_:)`` for a group or a chain that ends in one, which have many
    ///   results (send a group with `group(_:)`); ``MessageError`` for a malformed canvas.
    @discardableResult
    public func apply(_ signature: Signature) async throws -> AsyncResult {
        let signature = signature.frozen()
        guard !signature.endsInGroup else {
            throw QueueError.invalidArgument("\(signature.task) ends in a group, which has many results: use group(_:)")
        }
        try await dispatch(signature)
        guard let id = signature.resultId else {
            throw QueueError.invalidArgument("\(signature.task) has no task to wait for")
        }
        return AsyncResult(id: id, backend: backend)
    }

    /// Sends a chain: each step's result becomes the next step's first argument.
    /// - Returns: the last step's result handle.
    @discardableResult
    public func chain(_ steps: [Signature]) async throws -> AsyncResult {
        guard !steps.isEmpty else { throw QueueError.invalidArgument("a chain needs at least one task") }
        return try await apply(.chain(steps))
    }

    /// Sends a group: its members, tasks or canvases, run in parallel. A group among the members is flattened into
    /// this one, as Celery's `group(group(a, b), c)` runs as `group(a, b, c)`.
    /// - Returns: the group's results, one per task or canvas, in order (a chain's is its last step's).
    /// - Throws: ``QueueError/invalidArgument(_:)`` for a member that ends in a group (a chain whose last step is a
    ///   group), whose results cannot take one place in the list.
    @discardableResult
    public func group(_ members: [Signature]) async throws -> GroupResult {
        let group = Signature.group(members).frozen()
        let tasks = group.flattenedMembers
        if let nested = tasks.first(where: \.endsInGroup) {
            throw QueueError.invalidArgument(
                "\(nested.task) ends in a group, whose results cannot take one place in a group's results: "
                    + "send it on its own with group(_:), or end it with a task")
        }
        try await dispatch(group)
        return GroupResult(id: group.taskId ?? TaskID.make(), ids: tasks.compactMap(\.resultId), backend: backend)
    }

    /// Sends a chord: the header runs as a group, then the body runs with the list of their results.
    /// - Returns: the body's result handle.
    @discardableResult
    public func chord(_ header: [Signature], body: Signature) async throws -> AsyncResult {
        guard !header.isEmpty else { throw QueueError.invalidArgument("a chord needs at least one header task") }
        return try await apply(.chord(header, body: body))
    }

    /// Records the sizes of the chords `signature` starts, then sends its messages, each in a producer span
    /// `apply_async/<task>` (a child of the current trace context) whose context goes in its headers, as
    /// opentelemetry-instrumentation-celery sends them.
    private func dispatch(_ signature: Signature) async throws {
        var plan = CanvasPlan(route: { self.routes.queue(for: $0) ?? "celery" }, parent: nil, now: clock.now)
        try plan.add(signature, args: [])
        for (groupId, size) in plan.chordSizes { try await backend.setChordSize(groupId, size: size) }
        guard let tracer = MessageTracing.tracer else { return try await broker.send(plan.messages) }
        var messages = plan.messages
        let context = ServiceContext.current ?? .topLevel
        let spans = messages.indices.map {
            MessageTracing.startSend(&messages[$0], .send, tracer: tracer, context: context)
        }
        defer { for span in spans { span.end() } }
        do {
            try await broker.send(messages)
        } catch {
            for span in spans {
                span.recordError(error)
                span.setStatus(SpanStatus(code: .error, message: "\(error)"))
            }
            throw error
        }
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
}
