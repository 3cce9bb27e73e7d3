public import Simul

/// A task call that has not been sent yet: Celery's signature (`add.s(2, 3)`), as it travels inside messages.
///
/// Chains, chord bodies and callbacks are signatures carried in a message's `embed`. Field names and shapes are
/// Celery's, so a Python worker can run a signature a Swift client wrote and the other way round.
public struct Signature: Codable, Sendable, Equatable {
    /// The registered task name, such as `"simul.add"`.
    public var task: String
    /// Positional arguments.
    public var args: [JSONValue]
    /// Keyword arguments.
    public var kwargs: [String: JSONValue]
    /// Send options: `task_id`, `queue`, `priority`, `countdown`, `group_id`, … Unknown keys pass through.
    public var options: [String: JSONValue]
    /// `nil` for a plain task; `"chain"`, `"group"` or `"chord"` for a nested canvas.
    public var subtaskType: String?
    /// An immutable signature does not receive its parent's result as its first argument.
    public var immutable: Bool

    /// Creates a signature.
    /// - Parameters:
    ///   - task: the task name.
    ///   - args: positional arguments.
    ///   - kwargs: keyword arguments.
    ///   - options: send options in Celery's spelling.
    ///   - immutable: whether a parent's result is left out of the arguments.
    public init(
        _ task: String, args: [JSONValue] = [], kwargs: [String: JSONValue] = [:],
        options: [String: JSONValue] = [:], immutable: Bool = false
    ) {
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.options = options
        self.subtaskType = nil
        self.immutable = immutable
    }

    enum CodingKeys: String, CodingKey {
        case task, args, kwargs, options, immutable
        case subtaskType = "subtask_type"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        task = try container.decode(String.self, forKey: .task)
        args = try container.decodeIfPresent([JSONValue].self, forKey: .args) ?? []
        kwargs = try container.decodeIfPresent([String: JSONValue].self, forKey: .kwargs) ?? [:]
        options = try container.decodeIfPresent([String: JSONValue].self, forKey: .options) ?? [:]
        subtaskType = try container.decodeIfPresent(String.self, forKey: .subtaskType)
        immutable = try container.decodeIfPresent(Bool.self, forKey: .immutable) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(task, forKey: .task)
        try container.encode(args, forKey: .args)
        try container.encode(kwargs, forKey: .kwargs)
        try container.encode(options, forKey: .options)
        try container.encode(subtaskType, forKey: .subtaskType)
        try container.encode(immutable, forKey: .immutable)
    }

    /// The id the task will run under (`options.task_id`), assigned when the signature is frozen.
    public var taskId: String? {
        get { options["task_id"]?.stringValue }
        set { options["task_id"] = newValue.map(JSONValue.string) }
    }

    /// The queue named in the options, if any; otherwise the route table decides.
    public var queue: String? {
        get { options["queue"]?.stringValue }
        set { options["queue"] = newValue.map(JSONValue.string) }
    }

    /// Gives the signature a task id if it has none, and returns it.
    public mutating func freeze() -> String {
        if let taskId { return taskId }
        let id = TaskID.make()
        taskId = id
        return id
    }
}
