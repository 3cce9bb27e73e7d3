public import Foundation
public import SimulJSON

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

    /// Creates a result. A worker stamps `dateDone` on a ready result with its clock when it stores it.
    public init(
        taskId: String, status: TaskState, result: JSONValue = .null, traceback: String? = nil, dateDone: Date? = nil
    ) {
        self.status = status
        self.result = result
        self.traceback = traceback
        children = []
        self.dateDone = dateDone
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

    /// The result as Celery stores it: the meta object, with the same keys as `Codable`.
    public var jsonValue: JSONValue {
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
        return .object(object)
    }

    /// The result as JSON bytes, the form backends store.
    public var jsonBytes: [UInt8] { jsonValue.jsonBytes }

    /// Reads Celery's result meta.
    /// - Throws: ``MessageError`` when `json` has no `status` string or no `task_id`. Any status is kept, Celery's or
    ///   a custom one such as `PROGRESS`.
    public init(json: JSONValue) throws(MessageError) {
        guard let status = json["status"]?.stringValue, !status.isEmpty else {
            throw MessageError("a result needs a status, got \(json["status"]?.jsonText ?? "none")")
        }
        guard let taskId = json["task_id"]?.stringValue else { throw MessageError("a result needs a task_id") }
        self.status = TaskState(rawValue: status)
        self.taskId = taskId
        result = json["result"] ?? .null
        traceback = json["traceback"]?.stringValue
        children = json["children"]?.arrayValue ?? []
        dateDone = json["date_done"]?.stringValue.flatMap(ISODate.parse)
        groupId = json["group_id"]?.stringValue
        parentId = json["parent_id"]?.stringValue
        name = json["name"]?.stringValue
        worker = json["worker"]?.stringValue
        retries = json["retries"]?.intValue
        queue = json["queue"]?.stringValue
    }

    /// Reads a stored result from JSON bytes.
    /// - Throws: ``MessageError`` when the bytes are not a result.
    public init(jsonBytes: some Collection<UInt8>) throws(MessageError) {
        do {
            try self.init(json: JSONValue(parsing: jsonBytes))
        } catch let error as MessageError {
            throw error
        } catch {
            throw MessageError("a result is not JSON: \(error)")
        }
    }

    public init(from decoder: any Decoder) throws { try self.init(json: JSONValue(from: decoder)) }

    public func encode(to encoder: any Encoder) throws { try jsonValue.encode(to: encoder) }
}
