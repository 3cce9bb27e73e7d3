public import Foundation
import Simul

/// Turns ``TaskMessage``s into Celery protocol v2 envelopes and back.
///
/// The envelope is what kombu `LPUSH`es to Redis: a JSON object whose `body` is base64 of
/// `[args, kwargs, embed]`, with Celery's metadata in `headers` and kombu's in `properties`
/// (`research/celery-protocol.md` §1). Decoding checks every part a worker needs and says what is wrong, so a
/// malformed message becomes a dead letter with its reason instead of a crash.
public enum MessageCodec {
    /// The `origin` this process writes: `gen<pid>@<host>`, as Python clients do.
    public static let origin = "gen\(getpid())@\(ProcessInfo.processInfo.hostName)"

    /// Encodes `message` as a kombu envelope.
    public static func encode(_ message: TaskMessage) -> Data {
        let embed = Embed(
            callbacks: message.callbacks.isEmpty ? nil : message.callbacks,
            errbacks: message.errbacks.isEmpty ? nil : message.errbacks,
            chain: message.chain.isEmpty ? nil : message.chain,
            chord: message.chord
        )
        let body = Body(args: message.args, kwargs: message.kwargs, embed: embed)
        // Encoding plain Codable values into JSON cannot fail.
        let bodyJSON = try! encoder.encode(body)
        let envelope = Envelope(
            body: bodyJSON.base64EncodedString(),
            contentType: "application/json",
            contentEncoding: "utf-8",
            headers: Headers(message),
            properties: Properties(
                correlationId: message.id,
                replyTo: "",
                deliveryMode: 2,
                deliveryInfo: DeliveryInfo(
                    exchange: "", routingKey: message.queue, redelivered: message.redelivered ? true : nil),
                priority: message.priority,
                bodyEncoding: "base64",
                deliveryTag: message.deliveryTag
            )
        )
        return try! encoder.encode(envelope)
    }

    /// Decodes a kombu envelope.
    /// - Throws: ``MessageError`` naming the first thing that is wrong.
    public static func decode(_ data: Data) throws(MessageError) -> TaskMessage {
        let envelope: Envelope
        do {
            envelope = try decoder.decode(Envelope.self, from: data)
        } catch {
            throw MessageError("invalid JSON envelope: \(describe(error, in: data))")
        }
        guard let headers = envelope.headers, let properties = envelope.properties else {
            throw MessageError("the envelope has no \(envelope.headers == nil ? "headers" : "properties")")
        }
        let id = headers.id
        guard let task = headers.task, !task.isEmpty else {
            if envelope.body.flatMap(decodeBase64).flatMap(looksLikeProtocolOne) == true {
                throw MessageError("protocol v1 messages are not supported; send protocol v2", taskId: id)
            }
            throw MessageError("headers.task is missing: the message names no task", taskId: id)
        }
        guard let id, !id.isEmpty else { throw MessageError("headers.id is missing", taskName: task) }
        func failure(_ reason: String) -> MessageError { MessageError(reason, taskId: id, taskName: task) }
        guard let info = properties.deliveryInfo else { throw failure("properties.delivery_info is missing") }
        guard let contentType = envelope.contentType, contentType == "application/json" else {
            throw failure("content-type \(envelope.contentType ?? "(none)") is not supported; use application/json")
        }
        guard let bodyText = envelope.body else { throw failure("the envelope has no body") }
        let bodyData: Data
        if properties.bodyEncoding == "base64" {
            guard let decoded = decodeBase64(bodyText) else { throw failure("the body is not valid base64") }
            bodyData = decoded
        } else {
            bodyData = Data(bodyText.utf8)
        }
        let body: Body
        do {
            body = try decoder.decode(Body.self, from: bodyData)
        } catch {
            if looksLikeProtocolOne(bodyData) {
                throw failure("protocol v1 messages are not supported; send protocol v2")
            }
            throw failure("the body is not [args, kwargs, embed]: \(describe(error, in: bodyData))")
        }
        var message = TaskMessage(task: task, id: id, args: body.args, kwargs: body.kwargs,
                                  queue: info.routingKey ?? "celery")
        message.priority = properties.priority ?? 0
        if let eta = headers.eta {
            guard let date = ISODate.parse(eta) else { throw failure("headers.eta '\(eta)' is not ISO-8601") }
            message.eta = date
        }
        if let expires = headers.expires {
            guard let date = ISODate.parse(expires) else {
                throw failure("headers.expires '\(expires)' is not ISO-8601")
            }
            message.expires = date
        }
        message.retries = headers.retries ?? 0
        message.rootId = headers.rootId
        message.parentId = headers.parentId
        message.groupId = headers.group
        message.groupIndex = headers.groupIndex
        message.hardTimeLimit = headers.timelimit?.first ?? nil
        message.softTimeLimit = headers.timelimit.flatMap { $0.count > 1 ? $0[1] : nil }
        message.ignoreResult = headers.ignoreResult ?? false
        message.callbacks = body.embed.callbacks ?? []
        message.errbacks = body.embed.errbacks ?? []
        message.chain = body.embed.chain ?? []
        message.chord = body.embed.chord
        message.origin = headers.origin ?? ""
        message.deliveryTag = properties.deliveryTag ?? TaskID.make()
        message.redelivered = info.redelivered ?? headers.redelivered ?? false
        return message
    }

    /// The task id and name of an envelope that does not fully decode, when they can be read.
    public static func identify(_ data: Data) -> (id: String?, task: String?) {
        guard let envelope = try? decoder.decode(Envelope.self, from: data) else { return (nil, nil) }
        return (envelope.headers?.id, envelope.headers?.task)
    }

    private static func decodeBase64(_ text: String) -> Data? { Data(base64Encoded: text) }

    /// Why `data` did not decode. When the bytes are not JSON at all, `JSONSerialization` names the cause (the syntax,
    /// bad UTF-8, nesting too deep) where `JSONDecoder` on Linux says only "not valid JSON"; otherwise, the part whose
    /// shape is wrong.
    private static func describe(_ error: any Error, in data: Data) -> String {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed)
        } catch let parseError as NSError {
            if let detail = parseError.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        }
        return DecodingError.describe(error)
    }

    private static func looksLikeProtocolOne(_ data: Data) -> Bool {
        guard let object = try? decoder.decode([String: JSONValue].self, from: data) else { return false }
        return object["task"] != nil
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()
    private static let decoder = JSONDecoder()
}

/// Why a message could not be used.
public struct MessageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, in one line.
    public let reason: String
    /// The task id, when the message carried one.
    public let taskId: String?
    /// The task name, when the message carried one.
    public let taskName: String?

    /// Creates an error.
    public init(_ reason: String, taskId: String? = nil, taskName: String? = nil) {
        self.reason = reason
        self.taskId = taskId
        self.taskName = taskName
    }

    public var description: String { reason }
}

// The wire shapes. Optionals are read leniently and checked above, so each missing part gets its own reason.

private struct Envelope: Codable {
    var body: String?
    var contentType: String?
    var contentEncoding: String?
    var headers: Headers?
    var properties: Properties?

    enum CodingKeys: String, CodingKey {
        case body, headers, properties
        case contentType = "content-type"
        case contentEncoding = "content-encoding"
    }
}

private struct Headers: Codable {
    var lang: String?
    var task: String?
    var id: String?
    var shadow: String?
    var eta: String?
    var expires: String?
    var group: String?
    var groupIndex: Int?
    var retries: Int?
    var timelimit: [Double?]?
    var rootId: String?
    var parentId: String?
    var argsrepr: String?
    var kwargsrepr: String?
    var origin: String?
    var ignoreResult: Bool?
    var redelivered: Bool?

    enum CodingKeys: String, CodingKey {
        case lang, task, id, shadow, eta, expires, group, retries, timelimit, argsrepr, kwargsrepr, origin
        case redelivered
        case groupIndex = "group_index"
        case rootId = "root_id"
        case parentId = "parent_id"
        case ignoreResult = "ignore_result"
        case replacedTaskNesting = "replaced_task_nesting"
        case stampedHeaders = "stamped_headers"
        case stamps
    }

    init(_ message: TaskMessage) {
        lang = "swift"
        task = message.task
        id = message.id
        eta = message.eta.map(ISODate.format)
        expires = message.expires.map(ISODate.format)
        group = message.groupId
        groupIndex = message.groupIndex
        retries = message.retries
        timelimit = [message.hardTimeLimit, message.softTimeLimit]
        rootId = message.rootId
        parentId = message.parentId
        argsrepr = Self.repr(JSONValue.array(message.args))
        kwargsrepr = Self.repr(JSONValue.object(message.kwargs))
        origin = message.origin
        ignoreResult = message.ignoreResult
        redelivered = message.redelivered ? true : nil
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // Each field on its own: a wrong type in one informational header must not hide the others.
        lang = try? container.decodeIfPresent(String.self, forKey: .lang)
        task = try container.decodeIfPresent(String.self, forKey: .task)
        id = try container.decodeIfPresent(String.self, forKey: .id)
        shadow = try? container.decodeIfPresent(String.self, forKey: .shadow)
        eta = try container.decodeIfPresent(String.self, forKey: .eta)
        expires = try container.decodeIfPresent(String.self, forKey: .expires)
        group = try container.decodeIfPresent(String.self, forKey: .group)
        groupIndex = try container.decodeIfPresent(Int.self, forKey: .groupIndex)
        retries = try container.decodeIfPresent(Int.self, forKey: .retries)
        timelimit = try container.decodeIfPresent([Double?].self, forKey: .timelimit)
        rootId = try container.decodeIfPresent(String.self, forKey: .rootId)
        parentId = try container.decodeIfPresent(String.self, forKey: .parentId)
        argsrepr = try? container.decodeIfPresent(String.self, forKey: .argsrepr)
        kwargsrepr = try? container.decodeIfPresent(String.self, forKey: .kwargsrepr)
        origin = try? container.decodeIfPresent(String.self, forKey: .origin)
        ignoreResult = try container.decodeIfPresent(Bool.self, forKey: .ignoreResult)
        redelivered = try? container.decodeIfPresent(Bool.self, forKey: .redelivered)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lang, forKey: .lang)
        try container.encode(task, forKey: .task)
        try container.encode(id, forKey: .id)
        try container.encode(shadow, forKey: .shadow)
        try container.encode(eta, forKey: .eta)
        try container.encode(expires, forKey: .expires)
        try container.encode(group, forKey: .group)
        try container.encode(groupIndex, forKey: .groupIndex)
        try container.encode(retries, forKey: .retries)
        try container.encode(timelimit, forKey: .timelimit)
        try container.encode(rootId, forKey: .rootId)
        try container.encode(parentId, forKey: .parentId)
        try container.encode(argsrepr, forKey: .argsrepr)
        try container.encode(kwargsrepr, forKey: .kwargsrepr)
        try container.encode(origin, forKey: .origin)
        try container.encode(ignoreResult, forKey: .ignoreResult)
        try container.encode(0, forKey: .replacedTaskNesting)
        try container.encodeNil(forKey: .stampedHeaders)
        try container.encode([String: String](), forKey: .stamps)
        try container.encodeIfPresent(redelivered, forKey: .redelivered)
    }

    /// Celery shows `argsrepr` in events and Flower; ours is the JSON, cut at 1024 characters as Celery does.
    private static func repr(_ value: JSONValue) -> String {
        let text = value.jsonText
        return text.count > 1024 ? String(text.prefix(1021)) + "..." : text
    }
}

private struct Properties: Codable {
    var correlationId: String?
    var replyTo: String?
    var deliveryMode: Int?
    var deliveryInfo: DeliveryInfo?
    var priority: Int?
    var bodyEncoding: String?
    var deliveryTag: String?

    enum CodingKeys: String, CodingKey {
        case priority
        case correlationId = "correlation_id"
        case replyTo = "reply_to"
        case deliveryMode = "delivery_mode"
        case deliveryInfo = "delivery_info"
        case bodyEncoding = "body_encoding"
        case deliveryTag = "delivery_tag"
    }
}

private struct DeliveryInfo: Codable {
    var exchange: String?
    var routingKey: String?
    var redelivered: Bool?

    enum CodingKeys: String, CodingKey {
        case exchange, redelivered
        case routingKey = "routing_key"
    }
}

private struct Embed: Codable {
    var callbacks: [Signature]?
    var errbacks: [Signature]?
    var chain: [Signature]?
    var chord: Signature?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(callbacks, forKey: .callbacks)
        try container.encode(errbacks, forKey: .errbacks)
        try container.encode(chain, forKey: .chain)
        try container.encode(chord, forKey: .chord)
    }
}

private struct Body: Codable {
    var args: [JSONValue]
    var kwargs: [String: JSONValue]
    var embed: Embed

    init(args: [JSONValue], kwargs: [String: JSONValue], embed: Embed) {
        self.args = args
        self.kwargs = kwargs
        self.embed = embed
    }

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        args = try container.decode([JSONValue].self)
        kwargs = try container.decode([String: JSONValue].self)
        embed = container.isAtEnd ? Embed() : try container.decode(Embed.self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(args)
        try container.encode(kwargs)
        try container.encode(embed)
    }
}
