import SimulJSON

/// Binds one call's Celery `args` and `kwargs` to a task's parameters the way Python binds a call, as the task's
/// decoding asks for them.
///
/// The first parameter asked for takes the first positional argument, the second the second, and so on; a parameter
/// past the positional arguments takes its keyword argument. ``finish()`` then refuses what no parameter took. Every
/// error is a ``TaskError`` `TypeError` with Python's wording.
final class ArgumentBinding {
    let task: String
    private let args: [JSONValue]
    private let kwargs: [String: JSONValue]
    /// The parameters asked for so far, in order: their positions.
    private var parameters: [String] = []

    init(task: String, args: [JSONValue], kwargs: [String: JSONValue]) {
        self.task = task
        self.args = args
        self.kwargs = kwargs
    }

    /// The keyword arguments' names, sorted.
    var keywords: [String] { kwargs.keys.sorted() }

    /// The argument bound to the parameter `name`, or `nil` when the call leaves it out.
    /// - Throws: `TypeError` when it is given both by position and by keyword.
    func value(for name: String) throws(TaskError) -> JSONValue? {
        let position: Int
        if let known = parameters.firstIndex(of: name) {
            position = known
        } else {
            position = parameters.count
            parameters.append(name)
        }
        guard position < args.count else { return kwargs[name] }
        guard kwargs[name] == nil else { throw .typeError("\(task)() got multiple values for argument '\(name)'") }
        return args[position]
    }

    /// The parameter `name`'s argument, decoded; an `Optional` left out is `nil`.
    /// - Throws: `TypeError` when it is missing or does not decode as `T`.
    func decode<T: Decodable>(_ type: T.Type, for name: String) throws(TaskError) -> T {
        let given = try value(for: name)
        guard let value = given ?? (T.self is any ExpressibleByNilLiteral.Type ? JSONValue.null : Optional.none) else {
            throw .typeError("\(task)() missing required argument: '\(name)'")
        }
        do {
            return try value.decode(as: T.self)
        } catch {
            throw .typeError("\(task)() argument '\(name)' must be \(T.self), got \(value.jsonText)")
        }
    }

    /// Checks that every argument was taken.
    /// - Throws: `TypeError` for more positional arguments than parameters, or a keyword no parameter has.
    func finish() throws(TaskError) {
        guard args.count <= parameters.count else {
            throw .typeError(
                "\(task)() takes \(parameters.count) positional argument\(parameters.count == 1 ? "" : "s") "
                    + "but \(args.count) \(args.count == 1 ? "was" : "were") given")
        }
        if let unknown = keywords.first(where: { !parameters.contains($0) }) {
            throw .typeError("\(task)() got an unexpected keyword argument '\(unknown)'")
        }
    }
}
