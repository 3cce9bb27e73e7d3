/// Where a task is in its life, with Celery's names.
public enum TaskState: String, Codable, Sendable, CaseIterable {
    /// Unknown to the result backend: not sent, not yet received, or forgotten.
    case pending = "PENDING"
    /// A worker has it.
    case received = "RECEIVED"
    /// A worker is running it.
    case started = "STARTED"
    /// It returned a result.
    case success = "SUCCESS"
    /// It failed; the result holds the error.
    case failure = "FAILURE"
    /// It failed and will run again.
    case retry = "RETRY"
    /// It was revoked or expired before it finished.
    case revoked = "REVOKED"

    /// Whether the task is done: success, failure or revoked.
    public var isReady: Bool { self == .success || self == .failure || self == .revoked }
}
