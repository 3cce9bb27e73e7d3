public import Foundation
public import Simul

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
    }

    /// The message a signature sends, as a child of `parent` when there is one.
    /// - Parameters:
    ///   - signature: the task call; its `task_id` option is used, or a new id.
    ///   - queue: the queue, when the signature names none.
    ///   - parent: the message whose task sends this one.
    public init(_ signature: Signature, queue: String, parent: TaskMessage? = nil) {
        self.init(task: signature.task, id: signature.taskId ?? TaskID.make(), args: signature.args,
                  kwargs: signature.kwargs, queue: signature.queue ?? queue)
        let options = signature.options
        priority = options["priority"]?.intValue ?? 0
        if let countdown = options["countdown"]?.doubleValue { eta = Date(timeIntervalSinceNow: countdown) }
        if let eta = options["eta"]?.stringValue.flatMap(ISODate.parse) { self.eta = eta }
        if let expires = options["expires"] {
            self.expires = expires.doubleValue.map { Date(timeIntervalSinceNow: $0) }
                ?? expires.stringValue.flatMap(ISODate.parse)
        }
        hardTimeLimit = options["time_limit"]?.doubleValue
        softTimeLimit = options["soft_time_limit"]?.doubleValue
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
