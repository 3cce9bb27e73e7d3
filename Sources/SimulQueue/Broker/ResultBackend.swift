public import SimulJSON

/// Where task results are kept until a client reads them or they expire.
///
/// A stored `SUCCESS` is never overwritten, as in Celery: a redelivered task that ran twice keeps its first result.
public protocol ResultBackend: AnyObject, Sendable {
    /// Stores results.
    func store(_ results: [TaskResult]) async throws

    /// The stored results of `ids`; a missing id is PENDING.
    func results(for ids: [String]) async throws -> [String: TaskResult]

    /// Waits until the task is ready (success, failure or revoked), up to `timeout` (forever when `nil`).
    /// - Returns: the ready result, or the latest one when the time ran out (`nil` if none).
    func waitForResult(_ id: String, timeout: Duration?) async throws -> TaskResult?

    /// Deletes results.
    func forget(_ ids: [String]) async throws

    /// Records how many header tasks the chord `groupId` waits for.
    func setChordSize(_ groupId: String, size: Int) async throws

    /// Records one header task's result. The call that records the last one receives all of them, ordered by
    /// index, and must send the chord body; every other call receives `nil`. Repeats of a part count once.
    func addChordPart(_ groupId: String, index: Int, result: TaskResult) async throws -> [TaskResult]?

    /// Saves a group's result tuple under its id (``GroupResult/save()``), as Celery's `save_group` stores
    /// `{"result": tuple}`, for as long as results are kept.
    func saveGroup(_ groupId: String, tuple: JSONValue) async throws

    /// The result tuple saved under `groupId`, or `nil`.
    func savedGroup(_ groupId: String) async throws -> JSONValue?

    /// Deletes the group saved under `groupId`.
    func deleteGroup(_ groupId: String) async throws
}

/// A broker that is its own result backend and stores results and applies a commit in one atomic step.
///
/// A worker uses it to store a batch of results and acknowledge their messages together: one write instead of two,
/// and no window in which a message is acknowledged but its result not yet stored.
public protocol ResultCommitting: Broker, ResultBackend {
    /// Stores `results` and applies `commit`, all or nothing.
    func commit(_ commit: BrokerCommit, storing results: [TaskResult]) async throws
}

extension ResultCommitting {
    public func commit(_ commit: BrokerCommit, storing results: [TaskResult], in backend: any ResultBackend)
        async throws
    {
        if backend === self {
            try await self.commit(commit, storing: results)
        } else {
            if !results.isEmpty { try await backend.store(results) }
            try await self.commit(commit)
        }
    }
}
