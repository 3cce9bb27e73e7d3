public import SimulJSON

/// The tasks this program can run, by name: one registration serves in-process calls, the process pool and queue
/// workers.
///
/// A task is a type, a ``QueueTask`` or a ``BlockingQueueTask``: its name, its `Codable` arguments and output, and its
/// work. Celery's positional `args` and keyword `kwargs` bind to the arguments' properties by position and by name,
/// as in Python; a call that does not fit fails the task with a `TypeError`.
///
/// ```swift
/// struct Add: BlockingQueueTask {
///     static let name = "tasks.add"
///     struct Arguments: Codable, Sendable { var x: Double; var y: Double }
///     func run(_ arguments: Arguments) -> Double { arguments.x + arguments.y }
/// }
/// var catalog = TaskCatalog()
/// catalog.register(Add())
/// let five = try await catalog.call("tasks.add", args: [2, 3])   // .number(5)
/// ```
///
/// A closure with named parameters registers a quick task the same way, binding its `args` and `kwargs` by the
/// parameter names: `catalog.register("tasks.mul", parameters: ["x", "y"]) { (x: Int, y: Int) in x * y }`.
public struct TaskCatalog: Sendable {
    private(set) var tasks: [String: RegisteredTask] = [:]

    /// An empty catalog.
    public init() {}

    /// The registered names, sorted.
    public var names: [String] { tasks.keys.sorted() }

    /// The task registered as `name`.
    public subscript(name: String) -> RegisteredTask? { tasks[name] }

    /// Registers an asynchronous task under its ``TaskDefinition/name``. It runs on Swift's cooperative pool, so it
    /// must not block. Registering two tasks under one name traps, naming both.
    /// - Parameter task: the task, holding what its work depends on.
    public mutating func register<T: QueueTask>(_ task: T) {
        add(
            T.name, source: String(reflecting: T.self), options: T.options,
            body: .async { args, kwargs in
                let arguments = try ArgumentsDecoder.decode(
                    T.Arguments.self, task: T.name, args: args, kwargs: kwargs)
                return try JSONValue(encoding: try await task.run(arguments))
            })
    }

    /// Registers a synchronous task under its ``TaskDefinition/name``. It runs on a thread of the worker's pool, so
    /// it may block. Registering two tasks under one name traps, naming both.
    /// - Parameter task: the task, holding what its work depends on.
    public mutating func register<T: BlockingQueueTask>(_ task: T) {
        add(
            T.name, source: String(reflecting: T.self), options: T.options,
            body: .sync { args, kwargs in
                let arguments = try ArgumentsDecoder.decode(
                    T.Arguments.self, task: T.name, args: args, kwargs: kwargs)
                return try JSONValue(encoding: try task.run(arguments))
            })
    }

    /// Registers a synchronous closure as a task. It runs on a thread of the worker's pool, so it may block.
    /// - Parameters:
    ///   - name: the name senders use, such as `"tasks.add"`.
    ///   - parameters: the parameter names, in order, for binding `kwargs`; one per closure parameter.
    ///   - options: its queue, limits and retry policy.
    ///   - body: the work.
    public mutating func register<each Argument: Decodable & Sendable, Output: Encodable & Sendable>(
        _ name: String, parameters: [String] = [], options: TaskOptions = .init(),
        _ body: @escaping @Sendable (repeat each Argument) throws -> Output
    ) {
        let bind = Self.binder(name, parameters, repeat (each Argument).self)
        add(
            name, source: Self.signature(repeat (each Argument).self, returning: Output.self), options: options,
            body: .sync { args, kwargs in
                let arguments = try bind(args, kwargs)
                return try JSONValue(encoding: try body(repeat each arguments))
            })
    }

    /// Registers an asynchronous closure as a task. It runs on Swift's cooperative pool, so it must not block.
    /// - Parameters:
    ///   - name: the name senders use.
    ///   - parameters: the parameter names, in order; one per closure parameter.
    ///   - options: its queue, limits and retry policy.
    ///   - body: the work.
    public mutating func register<each Argument: Decodable & Sendable, Output: Encodable & Sendable>(
        _ name: String, parameters: [String] = [], options: TaskOptions = .init(),
        _ body: @escaping @Sendable (repeat each Argument) async throws -> Output
    ) {
        let bind = Self.binder(name, parameters, repeat (each Argument).self)
        add(
            name, source: Self.signature(repeat (each Argument).self, returning: Output.self), options: options,
            body: .async { args, kwargs in
                let arguments = try bind(args, kwargs)
                return try JSONValue(encoding: try await body(repeat each arguments))
            })
    }

    /// Runs the task `name` here and now, in this process.
    /// - Throws: ``TaskError`` `NotRegistered` or `TypeError`, or what the task throws.
    public func call(_ name: String, args: [JSONValue] = [], kwargs: [String: JSONValue] = [:]) async throws
        -> JSONValue
    {
        guard let task = tasks[name] else { throw TaskError.notRegistered(name) }
        return try await task.run(args: args, kwargs: kwargs)
    }

    private mutating func add(_ name: String, source: String, options: TaskOptions, body: RegisteredTask.Body) {
        if let existing = tasks[name] {
            preconditionFailure("two tasks are registered as '\(name)': \(existing.source) and \(source)")
        }
        tasks[name] = RegisteredTask(name: name, source: source, options: options, body: body)
    }

    /// Binds a call's `args` and `kwargs` to a closure's parameters, named `parameters`, through the same
    /// ``ArgumentBinding`` as a task type's properties.
    private static func binder<each Argument: Decodable & Sendable>(
        _ task: String, _ parameters: [String], _ types: repeat (each Argument).Type
    ) -> @Sendable ([JSONValue], [String: JSONValue]) throws -> (repeat each Argument) {
        var count = 0
        for _ in repeat each types { count += 1 }
        precondition(
            parameters.count == count,
            "task '\(task)' takes \(count) arguments but names \(parameters.count) parameters")
        precondition(Set(parameters).count == parameters.count, "task '\(task)' names a parameter twice")
        return { args, kwargs in
            let binding = ArgumentBinding(task: task, args: args, kwargs: kwargs)
            var index = 0
            func next<T: Decodable>(_ type: T.Type) throws(TaskError) -> T {
                defer { index += 1 }
                return try binding.decode(type, for: parameters[index])
            }
            let arguments = (repeat try next((each Argument).self))
            try binding.finish()
            return arguments
        }
    }

    /// A closure's type as Swift spells it, such as `a closure (Int, Int) -> Int`, to name it in errors.
    private static func signature<each Argument, Output>(
        _ types: repeat (each Argument).Type, returning output: Output.Type
    ) -> String {
        var names: [String] = []
        for type in repeat each types { names.append("\(type)") }
        return "a closure (\(names.joined(separator: ", "))) -> \(output)"
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
    /// The task type that registered it, or the closure's type: what a duplicate name's error shows.
    let source: String
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
