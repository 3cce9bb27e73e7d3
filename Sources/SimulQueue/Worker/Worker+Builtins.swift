import SimulJSON

extension Worker {
    /// Celery's built-in tasks (`celery/app/builtins.py`), which every Celery worker registers and Python clients
    /// send by name: `celery.map`, `celery.starmap` and `celery.chunks` (`task.map`, `task.starmap`,
    /// `task.chunks`), and `celery.group`, `celery.chord` and `celery.chain` as older clients send nested canvases.
    static let builtinTasks: Set<String> = [
        "celery.map", "celery.starmap", "celery.chunks", "celery.group", "celery.chord", "celery.chain",
    ]

    /// Runs one of ``builtinTasks``: the outcome, and the messages it sends when it succeeds.
    ///
    /// `celery.map` and `celery.starmap` call their task once per item, one after the other, on this worker's pool,
    /// as Celery calls them in its worker process; the others send canvases. A malformed call fails with a
    /// `TypeError` or `ValueError` naming what is wrong.
    func runBuiltin(_ message: TaskMessage, _ context: TaskContext) async -> (Outcome, [TaskMessage]) {
        do {
            let call = BuiltinCall(message)
            switch message.task {
            case "celery.map", "celery.starmap":
                let starred = message.task == "celery.starmap"
                let task = try call.signature("task")
                let items = try call.items("it", starred: starred)
                guard let registered = catalog[task.task] else { return (.failure(.notRegistered(task.task)), []) }
                var values: [JSONValue] = []
                for item in items {
                    var run = message
                    run.task = task.task
                    run.args = starred ? item.arrayValue ?? [] : [item]
                    run.kwargs = [:]
                    do {
                        values.append(try await executor.run(registered, run, context))
                    } catch {
                        return (Self.classify(error, context: context), [])
                    }
                }
                return (.success(.array(values)), [])
            case "celery.chunks":
                let task = try call.signature("task")
                let items = try call.items("it", starred: true)
                let size = try call.positiveInteger("n")
                let parts = stride(from: 0, to: items.count, by: size).map { start in
                    Signature.starmap(
                        task, over: items[start..<min(start + size, items.count)].map { $0.arrayValue ?? [] })
                }
                let group = Signature.group(parts).frozen()
                let messages = try await plan(group, args: [], parent: message)
                let ids = messages.map { JSONValue.array([[.string($0.id), nil], nil]) }
                return (.success([[.string(group.taskId ?? ""), nil], .array(ids)]), messages)
            case "celery.group":
                let tasks = try call.value("tasks")
                let partial = try call.optionalList("partial_args")
                var group = Signature.group([])
                group.kwargs["tasks"] = tasks
                group.taskId = try call.optionalString("group_id")
                let messages = try await plan(group.frozen(), args: partial, parent: message)
                return (.success(call.optionalValue("result") ?? .null), messages)
            case "celery.chord":
                var chord = Signature.chord([], body: try call.signature("body"))
                chord.kwargs["header"] = try call.value("header")
                let partial = try call.optionalList("partial_args")
                chord = chord.frozen()
                let messages = try await plan(chord, args: partial, parent: message)
                return (.success([[.string(chord.resultId ?? ""), nil], nil]), messages)
            default:
                return (.failure(TaskError(type: "NotImplementedError", message: "chain is not a real task")), [])
            }
        } catch let error as TaskError {
            return (.failure(error), [])
        } catch let error as MessageError {
            return (.failure(TaskError(type: "ValueError", message: "\(message.task)(): \(error.reason)")), [])
        } catch {
            return (.failure(.from(error)), [])
        }
    }

    /// The messages `signature` sends, with the sizes of its chords recorded.
    private func plan(_ signature: Signature, args: [JSONValue], parent: TaskMessage) async throws -> [TaskMessage] {
        var plan = CanvasPlan(route: route, parent: parent, now: clock.now)
        try plan.add(signature, args: args)
        for (groupId, size) in plan.chordSizes { try await backend.setChordSize(groupId, size: size) }
        return plan.messages
    }
}

/// A built-in task's arguments, bound as Python binds `def xstarmap(task, it)`: by position, then by name.
private struct BuiltinCall {
    let task: String
    let parameters: [String]
    let args: [JSONValue]
    let kwargs: [String: JSONValue]

    init(_ message: TaskMessage) {
        task = message.task
        parameters =
            switch message.task {
            case "celery.chunks": ["task", "it", "n"]
            case "celery.group": ["tasks", "result", "group_id", "partial_args"]
            case "celery.chord": ["header", "body", "partial_args"]
            default: ["task", "it"]
            }
        args = message.args
        kwargs = message.kwargs
    }

    func optionalValue(_ name: String) -> JSONValue? {
        if let index = parameters.firstIndex(of: name), index < args.count { return args[index] }
        return kwargs[name]
    }

    func value(_ name: String) throws(TaskError) -> JSONValue {
        guard let value = optionalValue(name) else {
            throw .typeError("\(task)() missing required argument: '\(name)'")
        }
        return value
    }

    func signature(_ name: String) throws(TaskError) -> Signature {
        let value = try value(name)
        do {
            return try Signature(json: value)
        } catch {
            throw .typeError(
                "\(task)(): '\(name)' must be a signature, an object with a task name, got \(Self.text(value))")
        }
    }

    /// The items of `name`: a list, each item itself a list of arguments when `starred`.
    func items(_ name: String, starred: Bool) throws(TaskError) -> [JSONValue] {
        let value = try value(name)
        guard let items = value.arrayValue else {
            throw .typeError("\(task)(): '\(name)' must be a list, got \(Self.text(value))")
        }
        if starred, let bad = items.enumerated().first(where: { $0.element.arrayValue == nil }) {
            throw .typeError(
                "\(task)(): item \(bad.offset) of '\(name)' must be a list of arguments, got \(Self.text(bad.element))")
        }
        return items
    }

    func positiveInteger(_ name: String) throws(TaskError) -> Int {
        let value = try value(name)
        guard let number = value.intValue, number > 0 else {
            throw .valueError("\(task)(): '\(name)' must be a positive integer, got \(Self.text(value))")
        }
        return number
    }

    func optionalList(_ name: String) throws(TaskError) -> [JSONValue] {
        guard let value = optionalValue(name), value != .null else { return [] }
        guard let list = value.arrayValue else {
            throw .typeError("\(task)(): '\(name)' must be a list, got \(Self.text(value))")
        }
        return list
    }

    func optionalString(_ name: String) throws(TaskError) -> String? {
        guard let value = optionalValue(name), value != .null else { return nil }
        guard let text = value.stringValue else {
            throw .typeError("\(task)(): '\(name)' must be a string, got \(Self.text(value))")
        }
        return text
    }

    private static func text(_ value: JSONValue) -> String {
        let text = value.jsonText
        return text.count > 100 ? text.prefix(100) + "…" : text
    }
}
