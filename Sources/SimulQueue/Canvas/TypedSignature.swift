import SimulJSON

/// A typed task call that has not been sent yet, or a chain of them: what `QueueClient.apply(_:)`
/// sends, and the type of the result it stands for.
///
/// ``then(_:_:options:)`` appends a chain step that receives this call's result as its first argument. The step's task
/// takes ``ChainedArguments`` whose `Input` is this call's `Output`, so the compiler rejects a step that does not fit:
///
/// ```swift
/// let flow = try TypedSignature(Resize.self, .init(path: "a.png", width: 64))
///     .then(Upload.self, .init(bucket: "thumbnails"))      // Upload.Arguments == ChainedArguments<Resize.Output, …>
/// let url = try await client.apply(flow).get()              // an Upload.Output
/// ```
public struct TypedSignature<Output: Codable & Sendable>: Sendable {
    /// The untyped signature it lowers to: one task, or a chain.
    public private(set) var signature: Signature

    /// A call of `task` with `arguments`, sent as keyword arguments.
    /// - Parameters:
    ///   - task: the task; its ``TaskDefinition/options`` queue is used when `options` names none.
    ///   - arguments: its arguments.
    ///   - options: queue, countdown, ETA, expiry, priority, callbacks.
    /// - Throws: ``QueueError/invalidArgument(_:)`` when the arguments cannot be encoded as keyword arguments.
    public init<T: TaskDefinition>(_ task: T.Type, _ arguments: T.Arguments, options: SendOptions = .init())
        throws(QueueError) where T.Output == Output
    {
        signature = try Self.call(T.self, keywords: Self.keywords(arguments, of: T.name), options: options)
    }

    private init(signature: Signature) { self.signature = signature }

    /// This call, then `task` with this call's result as its first argument and `rest` as its other arguments.
    /// - Parameters:
    ///   - task: the next step, whose arguments are ``ChainedArguments`` of this call's `Output` and `Rest`.
    ///   - rest: the step's other arguments, sent as keyword arguments.
    ///   - options: the step's send options.
    /// - Returns: the chain, typed by the step's output.
    /// - Throws: ``QueueError/invalidArgument(_:)`` when `rest` cannot be encoded as keyword arguments.
    public func then<T: TaskDefinition, Rest>(_ task: T.Type, _ rest: Rest, options: SendOptions = .init())
        throws(QueueError) -> TypedSignature<T.Output> where T.Arguments == ChainedArguments<Output, Rest>
    {
        let step = try Self.step(T.self, rest, options: options)
        let steps =
            signature.subtaskType == "chain" ? (signature.kwargs["tasks"]?.arrayValue ?? []) : [signature.jsonValue]
        var chain = Signature.chain([])
        chain.kwargs["tasks"] = .array(steps + [step.jsonValue])
        return TypedSignature<T.Output>(signature: chain)
    }

    /// A step that receives a result as its first argument: `task` with `rest` as keyword arguments.
    static func step<T: TaskDefinition>(_ task: T.Type, _ rest: some Encodable, options: SendOptions)
        throws(QueueError) -> Signature
    {
        try call(T.self, keywords: keywords(rest, of: T.name), options: options)
    }

    private static func call<T: TaskDefinition>(
        _ task: T.Type, keywords: [String: JSONValue], options: SendOptions
    ) -> Signature {
        var signature = Signature(T.name, kwargs: keywords, options: options.signatureOptions)
        if signature.queue == nil { signature.queue = T.options.queue }
        return signature
    }

    /// `arguments` as keyword arguments: one per stored property.
    static func keywords(_ arguments: some Encodable, of task: String) throws(QueueError) -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONValue(encoding: arguments)
        } catch {
            throw .invalidArgument("the arguments of \(task) cannot be encoded: \(EncodingError.describe(error))")
        }
        guard case .object(let keywords) = value else {
            throw .invalidArgument(
                "the arguments of \(task) encode to \(value.jsonText), not to keyword arguments: make them a struct")
        }
        return keywords
    }
}

/// The arguments of a chain step: `input`, the previous step's result, which Celery passes as the first positional
/// argument, and `rest`, the step's own arguments, whose properties follow it as parameters.
///
/// ```swift
/// struct Upload: QueueTask {
///     static let name = "shop.upload"
///     struct Destination: Codable, Sendable { var bucket: String }
///     typealias Arguments = ChainedArguments<Resize.Output, Destination>   // upload(input, bucket)
///     func run(_ arguments: Arguments) async throws -> String { … }
/// }
/// ```
public struct ChainedArguments<Input: Codable & Sendable, Rest: Codable & Sendable>: Codable, Sendable {
    /// The previous step's result.
    public var input: Input
    /// The step's own arguments.
    public var rest: Rest

    /// Arguments from their parts.
    public init(input: Input, rest: Rest) {
        self.input = input
        self.rest = rest
    }

    private enum CodingKeys: String, CodingKey {
        case input
    }

    public init(from decoder: any Decoder) throws {
        input = try decoder.container(keyedBy: CodingKeys.self).decode(Input.self, forKey: .input)
        rest = try Rest(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(input, forKey: .input)
        try rest.encode(to: encoder)
    }
}

extension EncodingError {
    /// One line saying what did not encode and where, for error messages.
    static func describe(_ error: any Error) -> String {
        guard case .invalidValue(_, let context) = error as? EncodingError else { return "\(error)" }
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return "\(context.debugDescription) (at '\(path)')"
    }
}
