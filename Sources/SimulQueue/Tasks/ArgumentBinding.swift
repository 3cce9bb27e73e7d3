import SimulJSON

/// Binds Celery's `args` and `kwargs` to a task's parameters the way Python binds a call, and decodes each.
struct ArgumentBinder: Sendable {
    let task: String
    let parameters: [String]
    /// Which parameters may be left out (their type is optional).
    let optional: [Bool]

    init<each Argument>(task: String, parameters: [String], types: repeat (each Argument).Type) {
        var optional: [Bool] = []
        for type in repeat each types { optional.append(type is any ExpressibleByNilLiteral.Type) }
        precondition(
            parameters.count == optional.count,
            "task '\(task)' takes \(optional.count) arguments but names \(parameters.count) parameters")
        precondition(Set(parameters).count == parameters.count, "task '\(task)' names a parameter twice")
        self.task = task
        self.parameters = parameters
        self.optional = optional
    }

    /// One value per parameter, in order.
    /// - Throws: ``TaskError`` `TypeError` with Python's wording when the call does not fit.
    func bind(args: [JSONValue], kwargs: [String: JSONValue]) throws(TaskError) -> [JSONValue] {
        guard args.count <= parameters.count else {
            throw .typeError(
                "\(task)() takes \(parameters.count) positional argument\(parameters.count == 1 ? "" : "s") "
                    + "but \(args.count) \(args.count == 1 ? "was" : "were") given")
        }
        if let unknown = kwargs.keys.sorted().first(where: { !parameters.contains($0) }) {
            throw .typeError("\(task)() got an unexpected keyword argument '\(unknown)'")
        }
        if let twice = parameters.prefix(args.count).first(where: { kwargs[$0] != nil }) {
            throw .typeError("\(task)() got multiple values for argument '\(twice)'")
        }
        var values = args
        for (index, name) in parameters.enumerated().dropFirst(args.count) {
            if let value = kwargs[name] {
                values.append(value)
            } else if optional[index] {
                values.append(.null)
            } else {
                throw .typeError("\(task)() missing required argument: '\(name)'")
            }
        }
        return values
    }

    func decode<T: Decodable>(_ value: JSONValue, as type: T.Type, at index: Int) throws(TaskError) -> T {
        do {
            return try value.decode(as: T.self)
        } catch {
            throw .typeError("\(task)() argument '\(parameters[index])' must be \(T.self), got \(value.jsonText)")
        }
    }

    func decodeAll<each Argument: Decodable>(_ values: [JSONValue], as types: repeat (each Argument).Type)
        throws(TaskError) -> (repeat each Argument)
    {
        var index = 0
        func next<T: Decodable>(_ type: T.Type) throws(TaskError) -> T {
            defer { index += 1 }
            return try decode(values[index], as: type, at: index)
        }
        return (repeat try next(each types))
    }
}
