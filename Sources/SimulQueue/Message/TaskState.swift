/// Where a task is in its life, with Celery's names.
///
/// Celery's states are the static members; a task may also store a state of its own, such as `PROGRESS`
/// (``TaskContext/updateState(_:meta:)``, or Python's `self.update_state(state='PROGRESS', meta=…)`). Such a state
/// is kept as its string, never turned into PENDING, and is not ready, as in Celery.
///
/// ```swift
/// let state = try await result.state()
/// if state == "PROGRESS" { print(try await result.result()?.result ?? .null) }
/// ```
public struct TaskState: RawRepresentable, Hashable, Codable, Sendable, CaseIterable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    /// The state's name, such as `"SUCCESS"` or `"PROGRESS"`.
    public let rawValue: String

    /// The state named `rawValue`, Celery's or a custom one.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The state named `value`, Celery's or a custom one.
    public init(stringLiteral value: String) { self.init(rawValue: value) }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    /// Unknown to the result backend: not sent, not yet received, or forgotten.
    public static let pending = TaskState(rawValue: "PENDING")
    /// A worker has it.
    public static let received = TaskState(rawValue: "RECEIVED")
    /// A worker is running it.
    public static let started = TaskState(rawValue: "STARTED")
    /// It returned a result.
    public static let success = TaskState(rawValue: "SUCCESS")
    /// It failed; the result holds the error.
    public static let failure = TaskState(rawValue: "FAILURE")
    /// It failed and will run again.
    public static let retry = TaskState(rawValue: "RETRY")
    /// It was revoked or expired before it finished.
    public static let revoked = TaskState(rawValue: "REVOKED")

    /// Celery's own states, in the order above; custom states are not listed.
    public static let allCases: [TaskState] = [.pending, .received, .started, .success, .failure, .retry, .revoked]

    /// Whether the task is done: success, failure or revoked. A custom state is not.
    public var isReady: Bool { self == .success || self == .failure || self == .revoked }

    /// Whether this is a state Celery does not define, such as `PROGRESS`.
    public var isCustom: Bool { !Self.allCases.contains(self) }
}
