public import SimulJSON

/// An error a task raised, as it travels in results: a type name, a message and a traceback.
///
/// The type names follow Python's so Celery clients rebuild a real exception: a Swift task that throws
/// ``TaskError/valueError(_:)`` is a `ValueError` to a Python caller.
public struct TaskError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The exception type, such as `ValueError` or `NotRegistered`.
    public var type: String
    /// The message.
    public var message: String
    /// The module Python should find `type` in: `builtins` or `celery.exceptions`.
    public var module: String
    /// Where it happened, as text.
    public var traceback: String?

    /// Creates an error.
    public init(type: String, message: String, module: String = "builtins", traceback: String? = nil) {
        self.type = type
        self.message = message
        self.module = module
        self.traceback = traceback
    }

    /// A `ValueError`: the input was the right type but a bad value.
    public static func valueError(_ message: String) -> TaskError { TaskError(type: "ValueError", message: message) }

    /// A `TypeError`: the arguments do not fit the task.
    public static func typeError(_ message: String) -> TaskError { TaskError(type: "TypeError", message: message) }

    /// An `OverflowError`: a number does not fit, such as an integer past 64 bits.
    public static func overflowError(_ message: String) -> TaskError {
        TaskError(type: "OverflowError", message: message)
    }

    /// Celery's `NotRegistered`: no task of that name here.
    public static func notRegistered(_ name: String) -> TaskError {
        TaskError(type: "NotRegistered", message: name, module: "celery.exceptions")
    }

    /// Celery's `TaskRevokedError`, with the reason `revoked`, `terminated` or `expired`.
    public static func revoked(_ reason: String) -> TaskError {
        TaskError(type: "TaskRevokedError", message: reason, module: "celery.exceptions")
    }

    /// Celery's `TimeLimitExceeded`, for the hard limit.
    public static func timeLimitExceeded(_ seconds: Double) -> TaskError {
        TaskError(type: "TimeLimitExceeded", message: "\(seconds)", module: "billiard.exceptions")
    }

    /// Celery's `SoftTimeLimitExceeded`, for the soft limit.
    public static let softTimeLimitExceeded = TaskError(
        type: "SoftTimeLimitExceeded", message: "SoftTimeLimitExceeded()", module: "billiard.exceptions")

    /// Wraps any error, keeping its type name and description.
    public static func from(_ error: any Error) -> TaskError {
        if let error = error as? TaskError { return error }
        return TaskError(type: String(describing: Swift.type(of: error)), message: "\(error)", module: "swift")
    }

    /// The error as a result value: `{"exc_type", "exc_message": [message], "exc_module"}`.
    public var resultValue: JSONValue {
        .object(["exc_type": .string(type), "exc_message": .array([.string(message)]), "exc_module": .string(module)])
    }

    /// Reads an error from a stored result value.
    public init(resultValue: JSONValue, traceback: String?) {
        type = resultValue["exc_type"]?.stringValue ?? "Error"
        module = resultValue["exc_module"]?.stringValue ?? "builtins"
        switch resultValue["exc_message"] {
        case .array(let parts): message = parts.map { $0.stringValue ?? $0.jsonText }.joined(separator: ", ")
        case .some(let other): message = other.stringValue ?? other.jsonText
        case nil: message = resultValue.jsonText
        }
        self.traceback = traceback
    }

    /// `Type: message`, as Python prints the last line of a traceback.
    public var description: String { "\(type): \(message)" }
}
