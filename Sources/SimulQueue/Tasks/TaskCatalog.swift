public import SimulJSON

/// The tasks this program can run, by name: one registration serves in-process calls, the process pool and queue
/// workers.
///
/// A task is a name, its parameter names, and a closure whose parameters are `Decodable` and whose result is
/// `Encodable`. Celery's positional `args` and keyword `kwargs` bind to the parameters by position and by name, as
/// in Python, and each is decoded to the closure's type; a mismatch fails the task with a `TypeError`.
///
/// ```swift
/// var catalog = TaskCatalog()
/// catalog.register("tasks.add", parameters: ["x", "y"]) { (x: Double, y: Double) in x + y }
/// catalog.register("tasks.fetch", parameters: ["url"]) { (url: String) async throws -> Int in
///     try await download(url).count
/// }
/// let five = try await catalog.call("tasks.add", args: [2, 3])   // .integer(5)
/// ```
public struct TaskCatalog: Sendable {
    private(set) var tasks: [String: RegisteredTask] = [:]

    /// An empty catalog.
    public init() {}

    /// The registered names, sorted.
    public var names: [String] { tasks.keys.sorted() }

    /// The task registered as `name`.
    public subscript(name: String) -> RegisteredTask? { tasks[name] }

    /// Registers a synchronous task. It runs on a thread of the worker's pool, so it may block.
    /// - Parameters:
    ///   - name: the name senders use, such as `"tasks.add"`.
    ///   - parameters: the parameter names, in order, for binding `kwargs`; one per closure parameter.
    ///   - options: its queue, limits and retry policy.
    ///   - body: the work.
    public mutating func register<each Argument: Decodable & Sendable, Output: Encodable & Sendable>(
        _ name: String, parameters: [String] = [], options: TaskOptions = .init(),
        _ body: @escaping @Sendable (repeat each Argument) throws -> Output
    ) {
        let binder = ArgumentBinder(task: name, parameters: parameters, types: repeat (each Argument).self)
        let run: RegisteredTask.SyncBody = { args, kwargs in
            let values = try binder.bind(args: args, kwargs: kwargs)
            let decoded = try binder.decodeAll(values, as: repeat (each Argument).self)
            let output = try body(repeat each decoded)
            return try JSONValue(encoding: output)
        }
        add(RegisteredTask(name: name, parameters: parameters, options: options, body: .sync(run)))
    }

    /// Registers an asynchronous task. It runs on Swift's cooperative pool, so it must not block.
    /// - Parameters:
    ///   - name: the name senders use.
    ///   - parameters: the parameter names, in order; one per closure parameter.
    ///   - options: its queue, limits and retry policy.
    ///   - body: the work.
    public mutating func register<each Argument: Decodable & Sendable, Output: Encodable & Sendable>(
        _ name: String, parameters: [String] = [], options: TaskOptions = .init(),
        _ body: @escaping @Sendable (repeat each Argument) async throws -> Output
    ) {
        let binder = ArgumentBinder(task: name, parameters: parameters, types: repeat (each Argument).self)
        let run: RegisteredTask.AsyncBody = { args, kwargs in
            let values = try binder.bind(args: args, kwargs: kwargs)
            let decoded = try binder.decodeAll(values, as: repeat (each Argument).self)
            let output = try await body(repeat each decoded)
            return try JSONValue(encoding: output)
        }
        add(RegisteredTask(name: name, parameters: parameters, options: options, body: .async(run)))
    }

    /// Runs the task `name` here and now, in this process.
    /// - Throws: ``TaskError`` `NotRegistered` or `TypeError`, or what the task throws.
    public func call(_ name: String, args: [JSONValue] = [], kwargs: [String: JSONValue] = [:]) async throws
        -> JSONValue
    {
        guard let task = tasks[name] else { throw TaskError.notRegistered(name) }
        return try await task.run(args: args, kwargs: kwargs)
    }

    private mutating func add(_ task: RegisteredTask) {
        precondition(tasks[task.name] == nil, "two tasks are registered as '\(task.name)'")
        tasks[task.name] = task
    }
}

/// One registered task, its types erased: what a worker looks up by name.
public struct RegisteredTask: Sendable {
    typealias SyncBody = @Sendable ([JSONValue], [String: JSONValue]) throws -> JSONValue
    typealias AsyncBody = @Sendable ([JSONValue], [String: JSONValue]) async throws -> JSONValue
    enum Body: Sendable {
        case sync(SyncBody)
        case async(AsyncBody)
    }

    /// The name.
    public let name: String
    /// The parameter names.
    public let parameters: [String]
    /// Its queue, limits and retry policy.
    public let options: TaskOptions
    let body: Body

    /// Whether the task is `async` (and so runs on the cooperative pool rather than a thread).
    public var isAsync: Bool {
        if case .async = body { return true }
        return false
    }

    /// Runs the task on the current task or thread.
    public func run(args: [JSONValue], kwargs: [String: JSONValue]) async throws -> JSONValue {
        switch body {
        case .sync(let run): return try run(args, kwargs)
        case .async(let run): return try await run(args, kwargs)
        }
    }

    /// Runs a synchronous task on the calling thread; `nil` for an async task.
    func runBlocking(args: [JSONValue], kwargs: [String: JSONValue]) throws -> JSONValue? {
        guard case .sync(let run) = body else { return nil }
        return try run(args, kwargs)
    }
}
