public import SimulJSON

/// The results of a group's tasks, in the group's order: Celery's `GroupResult`, with `join`, `completed_count`,
/// `save` and `restore` stored as Celery stores them (`celery-taskset-meta-<id>` on Redis), so a group saved in
/// Python restores in Swift and the other way round.
///
/// ```swift
/// let group = try await client.group([Signature("tasks.add", args: [1, 1]), Signature("tasks.add", args: [2, 2])])
/// try await group.save()
/// let again = try await GroupResult.restore(group.id, backend: backend)
/// print(try await again?.join(timeout: .seconds(10)) ?? [])      // [2, 4]
/// ```
public struct GroupResult: Sendable, RandomAccessCollection {
    /// The group id.
    public let id: String
    /// Each member's result handle, in the group's order.
    public let results: [AsyncResult]
    let backend: any ResultBackend

    /// A group result over the tasks `ids`, read from `backend`.
    public init(id: String, ids: [String], backend: any ResultBackend) {
        self.id = id
        results = ids.map { AsyncResult(id: $0, backend: backend) }
        self.backend = backend
    }

    /// Reads Celery's result tuple, `[[group id, parent], [[[task id, parent], null], …]]`, as `GroupResult.save`
    /// stores it and a `celery.chunks` task returns it.
    /// - Throws: ``MessageError`` when `tuple` is not a group's tuple, or one of its members is a group itself.
    public init(tuple: JSONValue, backend: any ResultBackend) throws(MessageError) {
        guard let pair = tuple.arrayValue, pair.count == 2, let id = Self.id(pair[0]), let members = pair[1].arrayValue
        else { throw MessageError("not a group result tuple: \(tuple.jsonText.prefix(200))") }
        var ids: [String] = []
        for member in members {
            guard let parts = member.arrayValue, parts.count == 2, let memberId = Self.id(parts[0]) else {
                throw MessageError("group \(id): not a result tuple: \(member.jsonText.prefix(200))")
            }
            guard parts[1] == .null else {
                throw MessageError("group \(id): member \(memberId) is a group; nested group results are not supported")
            }
            ids.append(memberId)
        }
        self.init(id: id, ids: ids, backend: backend)
    }

    /// Celery's result tuple of the group.
    public var tuple: JSONValue {
        [[.string(id), nil], .array(results.map { member -> JSONValue in [[.string(member.id), nil], nil] })]
    }

    public var startIndex: Int { results.startIndex }
    public var endIndex: Int { results.endIndex }
    public subscript(position: Int) -> AsyncResult { results[position] }

    /// How many of the tasks have succeeded (Celery's `completed_count`).
    public func completedCount() async throws -> Int {
        try await backend.results(for: results.map(\.id)).values.filter { $0.status == .success }.count
    }

    /// Whether every task is done: succeeded, failed or revoked.
    public func ready() async throws -> Bool {
        let stored = try await backend.results(for: results.map(\.id))
        return results.allSatisfy { stored[$0.id]?.status.isReady == true }
    }

    /// Waits for every task and returns their values in order (Celery's `join`).
    /// - Parameter timeout: how long to wait for the whole group (the tasks are waited for together); forever when
    ///   `nil`.
    /// - Throws: the first failed task's ``TaskError``, in the group's order, or ``QueueError`` with
    ///   ``QueueError/isTimeout`` when the time runs out.
    public func join(timeout: Duration? = nil) async throws -> [JSONValue] {
        let outcomes = await withTaskGroup(of: (Int, Result<JSONValue, any Error>).self) { group in
            for (index, result) in results.enumerated() {
                group.addTask {
                    do {
                        return (index, .success(try await result.get(timeout: timeout)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var outcomes = [Result<JSONValue, any Error>?](repeating: nil, count: results.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
        return try outcomes.map { try $0!.get() }
    }

    /// Saves the group under its id, for ``restore(_:backend:)`` here or `GroupResult.restore` in Python.
    public func save() async throws { try await backend.saveGroup(id, tuple: tuple) }

    /// Deletes the saved group (Celery's `delete`); the tasks' results stay.
    public func delete() async throws { try await backend.deleteGroup(id) }

    /// The group saved as `id`, or `nil` if none is (never saved, deleted or expired).
    /// - Throws: ``MessageError`` when what is stored is not a group result; what `backend` throws.
    public static func restore(_ id: String, backend: any ResultBackend) async throws -> GroupResult? {
        guard let tuple = try await backend.savedGroup(id) else { return nil }
        return try GroupResult(tuple: tuple, backend: backend)
    }

    /// The id in `[id, parent]`, or a bare id as Celery's oldest tuples have it.
    private static func id(_ value: JSONValue) -> String? {
        value.stringValue ?? value.arrayValue?.first?.stringValue
    }
}
