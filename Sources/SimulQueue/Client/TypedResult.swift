import Simul
import SimulJSON

/// A handle on a typed task's result: its state now, or its ``TaskDefinition/Output`` when it is ready.
///
/// ```swift
/// let thumbnail = try await client.send(Resize.self, .init(path: "a.png", width: 64))
/// print(try await thumbnail.get(timeout: .seconds(30)).bytes)
/// ```
public struct TypedResult<Output: Decodable & Sendable>: Sendable {
    /// The untyped handle, for what only it has.
    public let untyped: AsyncResult

    /// The handle on `untyped`'s result, read as `Output`.
    public init(_ untyped: AsyncResult) { self.untyped = untyped }

    /// The task id.
    public var id: String { untyped.id }

    /// The state now.
    public func state() async throws -> TaskState { try await untyped.state() }

    /// Waits for the task to finish and returns its result.
    /// - Parameter timeout: how long to wait; forever when `nil`.
    /// - Throws: the task's ``TaskError`` when it failed or was revoked, with the exception's type, message, module and
    ///   traceback, from a Swift or a Python worker; a ``TaskError`` `TypeError` when the result is not an `Output`;
    ///   ``QueueError`` with ``QueueError/isTimeout`` when it did not finish in time.
    public func get(timeout: Duration? = nil) async throws -> Output {
        try Self.output(try await untyped.get(timeout: timeout), of: id)
    }

    /// The task `id`'s result `value`, as an `Output`.
    /// - Throws: ``TaskError`` `TypeError` when it is not one.
    static func output(_ value: JSONValue, of id: String) throws(TaskError) -> Output {
        do {
            return try value.decode(as: Output.self)
        } catch {
            throw .typeError(
                "the result of task \(id), \(value.jsonText), is not a \(Output.self): \(DecodingError.describe(error))"
            )
        }
    }

    /// Deletes the stored result.
    public func forget() async throws { try await untyped.forget() }
}
