/// What a sender needs to know of a task: its name, the type of its arguments and the type of its result.
///
/// A task a Swift worker runs is a ``QueueTask`` or a ``BlockingQueueTask``, which add the work. A task that only a
/// Python worker runs can be declared as a bare `TaskDefinition`, so a Swift client sends it typed all the same:
///
/// ```swift
/// struct Fail: TaskDefinition {
///     static let name = "pytasks.fail"
///     struct Arguments: Codable, Sendable { var message: String }
///     typealias Output = String
/// }
/// let result = try await client.send(Fail.self, .init(message: "boom"))
/// ```
///
/// The arguments' stored properties are the task's parameters, bound to Celery's positional `args` in the order
/// `init(from:)` decodes them (declaration order, for synthesized `Codable`) and to its keyword `kwargs` by name,
/// as Python binds `def fail(message)`. An `Optional` property may be left out. docs/typed-tasks.md has the rules.
public protocol TaskDefinition: Sendable {
    /// The task's parameters: a struct whose stored properties are its positional and keyword arguments.
    associatedtype Arguments: Codable & Sendable
    /// What the task returns; JSON in the result backend, so a Python client reads it too.
    associatedtype Output: Codable & Sendable

    /// The name Celery knows the task by, such as `"shop.resize"`.
    static var name: String { get }

    /// Its queue, limits and retry policy; the defaults when not given.
    static var options: TaskOptions { get }
}

extension TaskDefinition {
    public static var options: TaskOptions { TaskOptions() }
}

/// A task whose work is `async`: it runs on Swift's cooperative pool and must not block.
///
/// ```swift
/// struct Fetch: QueueTask {
///     static let name = "shop.fetch"
///     struct Arguments: Codable, Sendable { var url: String }
///     let http: HTTPClient                                   // dependencies are the instance's
///     func run(_ arguments: Arguments) async throws -> Int { try await http.get(arguments.url).count }
/// }
/// catalog.register(Fetch(http: http))
/// ```
///
/// ``TaskContext/current`` is the running task's context: its id, its retries, and whether it should stop.
public protocol QueueTask: TaskDefinition {
    /// What the task returns; restated here so that Swift infers it from `run`.
    associatedtype Output

    /// Does the work.
    /// - Parameter arguments: the call's arguments, bound from Celery's `args` and `kwargs`.
    /// - Returns: the result, stored for ``TypedResult/get(timeout:)``.
    /// - Throws: ``TaskError`` to fail with a Python exception type (a `ValueError` for a bad value), a
    ///   ``RetryRequest`` to run again later, or any other error, stored under its Swift type name.
    func run(_ arguments: Arguments) async throws -> Output
}

/// A task whose work is synchronous and may block: a worker runs it on a thread of its `threads` pool, or in a
/// child process of its `processes` pool.
///
/// ```swift
/// struct Resize: BlockingQueueTask {
///     static let name = "shop.resize"
///     struct Arguments: Codable, Sendable { var path: String; var width: Int; var height: Int? }
///     struct Output: Codable, Sendable { var path: String; var bytes: Int }
///     func run(_ arguments: Arguments) throws -> Output { try Thumbnailer.resize(arguments) }
/// }
/// catalog.register(Resize())
/// ```
public protocol BlockingQueueTask: QueueTask {
    /// Does the work on the calling thread.
    /// - Parameter arguments: the call's arguments, bound from Celery's `args` and `kwargs`.
    /// - Returns: the result, stored for ``TypedResult/get(timeout:)``.
    /// - Throws: as ``QueueTask/run(_:)``.
    func run(_ arguments: Arguments) throws -> Output
}
