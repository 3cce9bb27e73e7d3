public import Foundation
import Simul
public import SimulJSON

/// One task message: Celery protocol v2's headers, body and delivery properties in one value.
///
/// ``MessageCodec`` turns it into the JSON envelope kombu stores in Redis, byte-compatible with Celery, and the
/// SQLite broker stores the same bytes, so both brokers share one codec and one model.
public struct TaskMessage: Sendable, Equatable {
    /// The task id (`headers.id`), also the result's key.
    public var id: String
    /// The task name (`headers.task`).
    public var task: String
    /// Positional arguments.
    public var args: [JSONValue]
    /// Keyword arguments.
    public var kwargs: [String: JSONValue]
    /// The queue it is routed to (`properties.delivery_info.routing_key`).
    public var queue: String
    /// 0 to 9; on Redis, and so here, 0 is served first.
    public var priority: Int
    /// Not before this time (countdown and ETA).
    public var eta: Date?
    /// Not after this time: an expired task is not run and becomes REVOKED.
    public var expires: Date?
    /// How many times the task has been retried.
    public var retries: Int
    /// The first task of the workflow.
    public var rootId: String?
    /// The task that sent this one.
    public var parentId: String?
    /// The group (or chord header) this task belongs to.
    public var groupId: String?
    /// Its index in the group.
    public var groupIndex: Int?
    /// Seconds after which the task is killed.
    public var hardTimeLimit: Double?
    /// Seconds after which the task is asked to stop.
    public var softTimeLimit: Double?
    /// Whether the worker skips storing the result.
    public var ignoreResult: Bool
    /// Tasks to send with the result on success (`link`).
    public var callbacks: [Signature]
    /// Tasks to send with the task id on failure (`link_error`).
    public var errbacks: [Signature]
    /// The rest of a chain, next step last, as Celery stores it.
    public var chain: [Signature]
    /// The chord body to send when every task of this group has returned.
    public var chord: Signature?
    /// Who sent it: `gen<pid>@<host>` or a worker's name.
    public var origin: String
    /// The broker's handle for this copy of the message; new on every send.
    public var deliveryTag: String
    /// Whether the broker delivered it before (restored after a lease ran out).
    public var redelivered: Bool
    /// How many leases on it ran out before, as a Redis broker counts them in the `simul_lapsed_leases` header when
    /// it restores the message (other brokers count in ``Delivery/lapsedLeases``).
    public var lapsedLeases: Int
    /// When it was made for sending, if the sender says: Simul's senders write it in the `simul_sent_at` header (Unix
    /// seconds), for the worker's queue-wait metric; Celery's protocol has no such field.
    public var sentAt: Date?
    /// The headers this codec does not read, kept as they came so that a hop drops no other tool's fields: a trace
    /// context (`traceparent`, `tracestate`, `baggage`), Sentry's, Celery's stamps. A retry carries them on.
    public var otherHeaders: [String: JSONValue]

    /// Creates a message for a first send.
    /// - Parameters:
    ///   - task: the task name.
    ///   - id: the task id; a new one by default.
    ///   - args: positional arguments.
    ///   - kwargs: keyword arguments.
    ///   - queue: the queue.
    public init(
        task: String, id: String = TaskID.make(), args: [JSONValue] = [], kwargs: [String: JSONValue] = [:],
        queue: String = "celery"
    ) {
        self.id = id
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.queue = queue
        priority = 0
        eta = nil
        expires = nil
        retries = 0
        rootId = id
        parentId = nil
        groupId = nil
        groupIndex = nil
        hardTimeLimit = nil
        softTimeLimit = nil
        ignoreResult = false
        callbacks = []
        errbacks = []
        chain = []
        chord = nil
        origin = MessageCodec.origin
        deliveryTag = TaskID.make()
        redelivered = false
        lapsedLeases = 0
        sentAt = nil
        otherHeaders = [:]
    }

    /// The message a signature sends, as a child of `parent` when there is one.
    /// - Parameters:
    ///   - signature: the task call; its `task_id` option is used, or a new id.
    ///   - queue: the queue, when the signature names none.
    ///   - parent: the message whose task sends this one.
    ///   - now: the time a `countdown` or a relative `expires` counts from.
    /// - Throws: ``MessageError`` when an option is out of range: a `countdown`, `expires`, `time_limit` or
    ///   `soft_time_limit` that is negative, not finite or over `Seconds.limit`, an `eta` that is not ISO-8601,
    ///   or a `priority` outside 0 to 255; or when the task name is empty.
    public init(_ signature: Signature, queue: String, parent: TaskMessage? = nil, now: Date) throws(MessageError) {
        self.init(
            task: signature.task, id: signature.taskId ?? TaskID.make(), args: signature.args,
            kwargs: signature.kwargs, queue: signature.queue ?? queue)
        sentAt = now
        let options = signature.options
        let id = self.id
        guard !signature.task.isEmpty else { throw MessageError("the task name is empty", taskId: id) }
        func seconds(_ name: String, allowZero: Bool = true) throws(MessageError) -> Double? {
            guard let value = options[name], value != .null, let number = value.doubleValue else { return nil }
            do {
                return try Seconds.check(number, name, allowZero: allowZero)
            } catch {
                throw MessageError("\(error)", taskId: id, taskName: signature.task)
            }
        }
        if let value = options["priority"], value != .null {
            guard let priority = value.intValue, (0...255).contains(priority) else {
                throw MessageError(
                    "priority must be 0 to 255, got \(value.jsonText)", taskId: id,
                    taskName: signature.task)
            }
            self.priority = priority
        }
        if let countdown = try seconds("countdown") { eta = now.addingTimeInterval(countdown) }
        if let text = options["eta"]?.stringValue {
            guard let eta = ISODate.parse(text) else {
                throw MessageError("eta '\(text.prefix(64))' is not ISO-8601", taskId: id, taskName: signature.task)
            }
            self.eta = eta
        }
        if let seconds = try seconds("expires") {
            expires = now.addingTimeInterval(seconds)
        } else if let text = options["expires"]?.stringValue {
            guard let expires = ISODate.parse(text) else {
                throw MessageError(
                    "expires '\(text.prefix(64))' is not ISO-8601", taskId: id,
                    taskName: signature.task)
            }
            self.expires = expires
        }
        hardTimeLimit = try seconds("time_limit", allowZero: false)
        softTimeLimit = try seconds("soft_time_limit", allowZero: false)
        groupId = options["group_id"]?.stringValue
        groupIndex = options["group_index"]?.intValue
        if let chord = options["chord"], let body = try? chord.decode(as: Signature.self) { self.chord = body }
        callbacks = (try? options["link"]?.decode(as: [Signature].self)) ?? []
        errbacks = (try? options["link_error"]?.decode(as: [Signature].self)) ?? []
        if let parent {
            parentId = parent.id
            rootId = parent.rootId ?? parent.id
        }
    }
}
