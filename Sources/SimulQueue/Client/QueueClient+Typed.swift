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

    /// The typed handle on the result of the task `id`, sent earlier as `task`.
    public func result<T: TaskDefinition>(_ id: String, of task: T.Type) -> TypedResult<T.Output> {
        TypedResult(result(id))
    }
}
