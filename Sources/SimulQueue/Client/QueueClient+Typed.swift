extension QueueClient {
    /// Sends one typed task, its arguments as keyword arguments, which a Python worker's `def` with the same
    /// parameter names accepts too.
    ///
    /// ```swift
    /// let thumbnail = try await client.send(Resize.self, .init(path: "a.png", width: 64))
    /// print(try await thumbnail.get(timeout: .seconds(30)))          // a Resize.Output
    /// ```
    /// - Parameters:
    ///   - task: the task; its ``TaskDefinition/options`` queue is used when `options` names none.
    ///   - arguments: its arguments.
    ///   - options: queue, countdown, ETA, expiry, priority, callbacks.
    /// - Returns: its typed result handle.
    /// - Throws: ``QueueError/invalidArgument(_:)``, with nothing sent, when the arguments cannot be encoded as
    ///   keyword arguments; ``QueueError`` when the broker cannot take the message.
    @discardableResult
    public func send<T: TaskDefinition>(_ task: T.Type, _ arguments: T.Arguments, options: SendOptions = .init())
        async throws -> TypedResult<T.Output>
    {
        try await apply(TypedSignature(task, arguments, options: options))
    }

    /// Sends a typed signature: one task, or a typed chain.
    /// - Returns: the typed handle on the result it stands for: a chain's last step's.
    @discardableResult
    public func apply<Output>(_ signature: TypedSignature<Output>) async throws -> TypedResult<Output> {
        TypedResult(try await apply(signature.signature))
    }

    /// Sends a group of typed calls, run in parallel.
    /// - Returns: their typed results, in order.
    @discardableResult
    public func group<Output>(_ members: [TypedSignature<Output>]) async throws -> TypedGroupResult<Output> {
        TypedGroupResult(try await group(members.map(\.signature)))
    }

    /// Sends a typed chord: the header runs as a group, then `body` runs with the list of the header's results as its
    /// first argument, so its task takes ``ChainedArguments`` of `[Output]`, which the compiler checks.
    ///
    /// ```swift
    /// let total = try await client.chord(sizes, body: Total.self, .init(unit: "KiB"))   // Total.Output
    /// ```
    /// - Parameters:
    ///   - header: the calls whose results the body receives, in order.
    ///   - body: the task that receives them.
    ///   - rest: the body's other arguments, sent as keyword arguments.
    ///   - options: the body's send options.
    /// - Returns: the typed handle on the body's result.
    /// - Throws: ``QueueError/invalidArgument(_:)`` for an empty header or a `rest` that cannot be encoded, with
    ///   nothing sent.
    @discardableResult
    public func chord<Output, T: TaskDefinition, Rest>(
        _ header: [TypedSignature<Output>], body: T.Type, _ rest: Rest, options: SendOptions = .init()
    ) async throws -> TypedResult<T.Output> where T.Arguments == ChainedArguments<[Output], Rest> {
        let body = try TypedSignature<Output>.step(T.self, rest, options: options)
        return TypedResult(try await chord(header.map(\.signature), body: body))
    }

    /// The typed handle on the result of the task `id`, sent earlier as `task`.
    public func result<T: TaskDefinition>(_ id: String, of task: T.Type) -> TypedResult<T.Output> {
        TypedResult(result(id))
    }
}
