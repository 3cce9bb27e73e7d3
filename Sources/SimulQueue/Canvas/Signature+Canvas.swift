public import SimulJSON

extension Signature {
    /// A chain as Celery writes it inside messages (`subtask_type` `chain`, the steps in `kwargs.tasks`): each
    /// step's result becomes the next step's first argument. A step may be a canvas of its own.
    ///
    /// ```swift
    /// let flow = Signature.chain([
    ///     Signature("tasks.add", args: [1, 1]),
    ///     .chord([Signature("tasks.mul", args: [2]), Signature("tasks.mul", args: [3])], body: Signature("tasks.xsum")),
    /// ])
    /// print(try await client.apply(flow).get())      // xsum([2 * 2, 2 * 3]) = 10
    /// ```
    public static func chain(_ steps: [Signature]) -> Signature {
        canvas("celery.chain", type: "chain", kwargs: ["tasks": .array(steps.map(\.jsonValue))])
    }

    /// A group (`subtask_type` `group`, the members in `kwargs.tasks`): its members run in parallel.
    public static func group(_ members: [Signature]) -> Signature {
        canvas("celery.group", type: "group", kwargs: ["tasks": .array(members.map(\.jsonValue))])
    }

    /// A chord (`subtask_type` `chord`, `kwargs.header` and `kwargs.body`): the header runs as a group, then the
    /// body runs with the list of the header's results, in order.
    public static func chord(_ header: [Signature], body: Signature) -> Signature {
        canvas(
            "celery.chord", type: "chord",
            kwargs: ["header": .array(header.map(\.jsonValue)), "body": body.jsonValue, "kwargs": [:]])
    }

    /// Celery's `task.map(items)`: one `celery.map` task that calls `task` with each item as its one argument, in
    /// the worker, one after the other, and returns the list of results.
    public static func map(_ task: Signature, over items: [JSONValue]) -> Signature {
        Signature("celery.map", kwargs: ["task": task.jsonValue, "it": .array(items)], immutable: true)
    }

    /// Celery's `task.starmap(items)`: as ``map(_:over:)``, each item being the list of the call's arguments.
    public static func starmap(_ task: Signature, over items: [[JSONValue]]) -> Signature {
        Signature(
            "celery.starmap", kwargs: ["task": task.jsonValue, "it": .array(items.map(JSONValue.array))],
            immutable: true)
    }

    /// Celery's `task.chunks(items, size)`: one `celery.chunks` task that splits `items` (each the list of a call's
    /// arguments) into parts of `size` and sends each part as a `celery.starmap` task, all in one group. Its result
    /// is that group's, as Celery's result tuple, which ``GroupResult/init(tuple:backend:)`` reads.
    public static func chunks(_ task: Signature, over items: [[JSONValue]], size: Int) -> Signature {
        Signature(
            "celery.chunks",
            kwargs: ["task": task.jsonValue, "it": .array(items.map(JSONValue.array)), "n": .integer(Int64(size))],
            immutable: true)
    }

    private static func canvas(_ task: String, type: String, kwargs: [String: JSONValue]) -> Signature {
        var signature = Signature(task, kwargs: kwargs)
        signature.subtaskType = type
        return signature
    }
}

extension Signature {
    /// The id of the task whose result stands for this signature: its own; a chain's last step's; a chord's
    /// body's. A group's is its group id.
    var resultId: String? {
        switch subtaskType {
        case "chain": kwargs["tasks"]?.arrayValue?.last.flatMap { try? Signature(json: $0) }?.resultId
        case "chord": kwargs["body"].flatMap { try? Signature(json: $0) }?.resultId ?? taskId
        default: taskId
        }
    }

    /// A group's members, each group among them replaced by its own members, in order, as Celery's
    /// `group.apply_async` sends them; parts that are not signatures are left for ``CanvasPlan`` to refuse.
    var flattenedMembers: [Signature] {
        (kwargs["tasks"]?.arrayValue ?? []).compactMap { try? Signature(json: $0) }.flatMap {
            $0.subtaskType == "group" ? $0.flattenedMembers : [$0]
        }
    }

    /// Whether applying it gives many results rather than one: a group, or a chain that ends in one.
    var endsInGroup: Bool {
        switch subtaskType {
        case "group": true
        case "chain": kwargs["tasks"]?.arrayValue?.last.flatMap { try? Signature(json: $0) }?.endsInGroup ?? false
        default: false
        }
    }

    /// The signature with an id for every task in it and a group id for every group, as Celery's `freeze`, so a
    /// client knows every result's id before it sends. Parts that are not signatures are left for
    /// ``CanvasPlan`` to refuse.
    func frozen() -> Signature {
        var copy = self
        func frozenList(_ value: JSONValue?) -> JSONValue? {
            guard let items = value?.arrayValue else { return value }
            return .array(items.map { item in (try? Signature(json: item))?.frozen().jsonValue ?? item })
        }
        switch subtaskType {
        case "chain":
            copy.kwargs["tasks"] = frozenList(kwargs["tasks"])
        case "group":
            _ = copy.freeze()
            copy.kwargs["tasks"] = frozenList(kwargs["tasks"])
        case "chord":
            if let header = kwargs["header"], header.arrayValue != nil { copy.kwargs["header"] = frozenList(header) }
            if let body = kwargs["body"].flatMap({ try? Signature(json: $0) }) {
                copy.kwargs["body"] = body.frozen().jsonValue
            }
        default:
            _ = copy.freeze()
        }
        return copy
    }
}
