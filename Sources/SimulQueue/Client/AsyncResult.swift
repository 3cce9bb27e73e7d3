public import SimulJSON

/// A handle on a sent task's result: its state now, or its value when it is ready.
public struct AsyncResult: Sendable {
    /// The task id.
    public let id: String
    let backend: any ResultBackend

    /// Creates a handle on the task `id`'s result in `backend`.
    public init(id: String, backend: any ResultBackend) {
        self.id = id
        self.backend = backend
    }

    /// The stored result, or `nil` while the task is PENDING.
    public func result() async throws -> TaskResult? { try await backend.results(for: [id])[id] }

    /// The state now.
    public func state() async throws -> TaskState { try await result()?.status ?? .pending }

    /// Waits for the task to finish and returns its value.
    /// - Parameter timeout: how long to wait; forever when `nil`.
    /// - Throws: the task's ``TaskError`` (with its type, message and traceback) when it failed or was revoked;
    ///   ``QueueError`` with ``QueueError/isTimeout`` when it did not finish in time.
    public func get(timeout: Duration? = nil) async throws -> JSONValue {
        let result = try await backend.waitForResult(id, timeout: timeout)
        guard let result, result.status.isReady else {
            let state = result?.status ?? .pending
            throw QueueError.timeout("task \(id) is still \(state.rawValue) after \(timeout.map { "\($0)" } ?? "")")
        }
        if let error = result.error { throw error }
        return result.result
    }

    /// Deletes the stored result.
    public func forget() async throws { try await backend.forget([id]) }
}
