public import Foundation
public import Simul

/// A task's state and outcome as the result backend stores it: Celery's result meta, field for field.
public struct TaskResult: Codable, Sendable, Equatable {
    /// The state.
    public var status: TaskState
    /// The return value; for a failure, `{"exc_type", "exc_message", "exc_module"}`.
    public var result: JSONValue
    /// The error's traceback text, for failures and retries.
    public var traceback: String?
    /// Tasks this task sent, as Celery's result tuples.
    public var children: [JSONValue]
    /// When it finished; `nil` while not ready.
    public var dateDone: Date?
    /// The task id.
    public var taskId: String
    /// The group it belongs to.
    public var groupId: String?
    /// The task that sent it.
    public var parentId: String?
    /// The task name (Celery's extended result).
    public var name: String?
    /// The worker that ran it.
    public var worker: String?
    /// How many retries it took.
    public var retries: Int?
    /// The queue it came from.
    public var queue: String?

    enum CodingKeys: String, CodingKey {
        case status, result, traceback, children, name, worker, retries, queue
        case dateDone = "date_done"
        case taskId = "task_id"
        case groupId = "group_id"
        case parentId = "parent_id"
    }

    /// Creates a result.
    public init(taskId: String, status: TaskState, result: JSONValue = .null, traceback: String? = nil) {
        self.status = status
        self.result = result
        self.traceback = traceback
        children = []
        dateDone = status.isReady ? Date() : nil
        self.taskId = taskId
    }

    /// A failure carrying `error`.
    public static func failure(taskId: String, _ error: TaskError) -> TaskResult {
        TaskResult(taskId: taskId, status: .failure, result: error.resultValue, traceback: error.traceback)
    }

    /// The error, when this is a failure, a retry or a revocation.
    public var error: TaskError? {
        guard status == .failure || status == .revoked || status == .retry else { return nil }
        return TaskError(resultValue: result, traceback: traceback)
    }

    /// The result as Celery stores it, as JSON bytes; the fast path for backends (same keys as `Codable`).
    public var jsonBytes: [UInt8] {
        var object: [String: JSONValue] = [
            "status": .string(status.rawValue), "result": result, "traceback": traceback.map(JSONValue.string) ?? .null,
            "children": .array(children), "date_done": dateDone.map { .string(ISODate.format($0)) } ?? .null,
            "task_id": .string(taskId),
        ]
        if let groupId { object["group_id"] = .string(groupId) }
        if let parentId { object["parent_id"] = .string(parentId) }
        if let name { object["name"] = .string(name) }
        if let worker { object["worker"] = .string(worker) }
        if let retries { object["retries"] = .integer(Int64(retries)) }
        if let queue { object["queue"] = .string(queue) }
        return JSONValue.object(object).jsonBytes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        status = try container.decode(TaskState.self, forKey: .status)
        result = try container.decodeIfPresent(JSONValue.self, forKey: .result) ?? .null
        traceback = try container.decodeIfPresent(String.self, forKey: .traceback)
        children = try container.decodeIfPresent([JSONValue].self, forKey: .children) ?? []
        dateDone = try container.decodeIfPresent(String.self, forKey: .dateDone).flatMap(ISODate.parse)
        taskId = try container.decode(String.self, forKey: .taskId)
        groupId = try container.decodeIfPresent(String.self, forKey: .groupId)
        parentId = try container.decodeIfPresent(String.self, forKey: .parentId)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        worker = try container.decodeIfPresent(String.self, forKey: .worker)
        retries = try container.decodeIfPresent(Int.self, forKey: .retries)
        queue = try container.decodeIfPresent(String.self, forKey: .queue)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(result, forKey: .result)
        try container.encode(traceback, forKey: .traceback)
        try container.encode(children, forKey: .children)
        try container.encode(dateDone.map(ISODate.format), forKey: .dateDone)
        try container.encodeIfPresent(groupId, forKey: .groupId)
        try container.encodeIfPresent(parentId, forKey: .parentId)
        try container.encode(taskId, forKey: .taskId)
        try container.encodeIfPresent(name, forKey: .name)
        try container.encodeIfPresent(worker, forKey: .worker)
        try container.encodeIfPresent(retries, forKey: .retries)
        try container.encodeIfPresent(queue, forKey: .queue)
    }
}
