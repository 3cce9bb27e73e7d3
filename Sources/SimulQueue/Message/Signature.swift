public import SimulJSON

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

    public init(from decoder: any Decoder) throws {
        try self.init(json: JSONValue(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws { try jsonValue.encode(to: encoder) }

    /// Reads a signature from Celery's JSON form.
    /// - Throws: ``MessageError`` when `json` is not an object with a `task` name, or a field has the wrong type.
    public init(json: JSONValue) throws(MessageError) {
        guard case .object(let fields) = json, let task = fields["task"]?.stringValue else {
            throw MessageError("a signature is an object with a task name, got \(json.jsonText)")
        }
        func field<T>(_ name: String, _ read: (JSONValue) -> T?, default empty: T) throws(MessageError) -> T {
            guard let value = fields[name], value != .null else { return empty }
            guard let typed = read(value) else { throw MessageError("signature \(task): '\(name)' has the wrong type") }
            return typed
        }
        self.task = task
        args = try field("args", \.arrayValue, default: [])
        kwargs = try field("kwargs", \.objectValue, default: [:])
        options = try field("options", \.objectValue, default: [:])
        subtaskType = try field("subtask_type", \.stringValue, default: nil)
        immutable = try field("immutable", { if case .bool(let flag) = $0 { flag } else { nil } }, default: false)
    }

    /// The signature in Celery's JSON form.
    public var jsonValue: JSONValue {
        [
            "task": .string(task), "args": .array(args), "kwargs": .object(kwargs), "options": .object(options),
            "subtask_type": subtaskType.map(JSONValue.string) ?? .null, "immutable": .bool(immutable),
        ]
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
