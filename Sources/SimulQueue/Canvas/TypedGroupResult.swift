/// A handle on the results of a group of typed calls that return the same `Output`.
///
/// ```swift
/// let sizes = try await client.group(paths.map { try TypedSignature(Resize.self, .init(path: $0, width: 64)) })
/// for thumbnail in try await sizes.join(timeout: .seconds(60)) { print(thumbnail.bytes) }
/// ```
public struct TypedGroupResult<Output: Decodable & Sendable>: Sendable {
    /// The untyped handle, for what only it has (``GroupResult/save()``, ``GroupResult/completedCount()``).
    public let untyped: GroupResult

    /// The handle on `untyped`'s results, read as `Output`.
    public init(_ untyped: GroupResult) { self.untyped = untyped }

    /// The group id.
    public var id: String { untyped.id }

    /// Waits for every task and returns their results in order.
    /// - Parameter timeout: how long to wait for the whole group; forever when `nil`.
    /// - Throws: the first failed task's ``TaskError``, in the group's order; a ``TaskError`` `TypeError` when a
    ///   result is not an `Output`; ``QueueError`` with ``QueueError/isTimeout`` when the time runs out.
    public func join(timeout: Duration? = nil) async throws -> [Output] {
        let values = try await untyped.join(timeout: timeout)
        return try zip(untyped.results, values).map { result, value throws(TaskError) in
            try TypedResult<Output>.output(value, of: result.id)
        }
    }
}
