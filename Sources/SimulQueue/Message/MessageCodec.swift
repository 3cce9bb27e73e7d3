public import Foundation
import Simul
import SimulJSON

/// Turns ``TaskMessage``s into Celery protocol v2 envelopes and back.
///
/// The envelope is what kombu `LPUSH`es to Redis: a JSON object whose `body` is base64 of
/// `[args, kwargs, embed]`, with Celery's metadata in `headers` and kombu's in `properties`
/// (`research/celery-protocol.md` §1). Decoding checks every part a worker needs and says what is wrong, so a
/// malformed message becomes a dead letter with its reason instead of a crash.
public enum MessageCodec {
    /// The `origin` this process writes: `gen<pid>@<host>`, as Python clients do.
    public static let origin = "gen\(getpid())@\(ProcessInfo.processInfo.hostName)"

    /// The header in which a broker that keeps no count of its own (Redis) counts a message's lapsed leases; other
    /// Celery tools carry it along as an unknown header.
    public static let lapsedLeasesHeader = "simul_lapsed_leases"

    /// The headers ``encode(_:)`` writes; ``decode(_:)`` keeps every other one in ``TaskMessage/otherHeaders``.
    static let ownHeaders: Set<String> = [
        "lang", "task", "id", "shadow", "eta", "expires", "group", "group_index", "retries", "timelimit", "root_id",
        "parent_id", "argsrepr", "kwargsrepr", "origin", "ignore_result", "replaced_task_nesting", "stamped_headers",
        "stamps", "redelivered", lapsedLeasesHeader, "simul_sent_at",
    ]

    /// Encodes `message` as a kombu envelope.
    public static func encode(_ message: TaskMessage) -> Data {
        let embed: JSONValue = [
            "callbacks": signatures(message.callbacks), "errbacks": signatures(message.errbacks),
            "chain": signatures(message.chain), "chord": message.chord?.jsonValue ?? .null,
        ]
        let body = JSONValue.array([.array(message.args), .object(message.kwargs), embed]).jsonBytes
        var deliveryInfo: [String: JSONValue] = ["exchange": "", "routing_key": .string(message.queue)]
        if message.redelivered { deliveryInfo["redelivered"] = true }
        let envelope: JSONValue = [
            "body": .string(Data(body).base64EncodedString()),
            "content-type": "application/json",
            "content-encoding": "utf-8",
            "headers": headers(message),
            "properties": [
                "correlation_id": .string(message.id), "reply_to": "", "delivery_mode": 2,
                "delivery_info": .object(deliveryInfo), "priority": .integer(Int64(message.priority)),
                "body_encoding": "base64", "delivery_tag": .string(message.deliveryTag),
            ],
        ]
        return Data(envelope.jsonBytes)
    }

    private static func signatures(_ list: [Signature]) -> JSONValue {
        list.isEmpty ? .null : .array(list.map(\.jsonValue))
    }

    private static func headers(_ message: TaskMessage) -> JSONValue {
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        func optional(_ number: Double?) -> JSONValue { number.map(JSONValue.number) ?? .null }
        var headers: [String: JSONValue] = [
            "lang": "swift", "task": .string(message.task), "id": .string(message.id), "shadow": .null,
            "eta": optional(message.eta.map(ISODate.format)), "expires": optional(message.expires.map(ISODate.format)),
            "group": optional(message.groupId), "group_index": message.groupIndex.map { .integer(Int64($0)) } ?? .null,
            "retries": .integer(Int64(message.retries)),
            "timelimit": [optional(message.hardTimeLimit), optional(message.softTimeLimit)],
            "root_id": optional(message.rootId), "parent_id": optional(message.parentId),
            "argsrepr": .string(repr(.array(message.args))), "kwargsrepr": .string(repr(.object(message.kwargs))),
            "origin": .string(message.origin), "ignore_result": .bool(message.ignoreResult),
            "replaced_task_nesting": 0, "stamped_headers": .null, "stamps": [:],
        ]
        if message.redelivered { headers["redelivered"] = true }
        if message.lapsedLeases > 0 { headers[lapsedLeasesHeader] = .integer(Int64(message.lapsedLeases)) }
        if let sentAt = message.sentAt { headers["simul_sent_at"] = .number(sentAt.timeIntervalSince1970) }
        if !message.otherHeaders.isEmpty { headers.merge(message.otherHeaders) { own, _ in own } }
        return .object(headers)
    }

    /// Celery shows `argsrepr` in events and Flower; ours is the JSON, cut at 1024 characters as Celery does.
    private static func repr(_ value: JSONValue) -> String {
        let text = value.jsonText
        return text.count > 1024 ? String(text.prefix(1021)) + "..." : text
    }

    /// Decodes a kombu envelope.
    /// - Throws: ``MessageError`` naming the first thing that is wrong.
    public static func decode(_ data: Data) throws(MessageError) -> TaskMessage {
        let envelope: [String: JSONValue]
        do {
            guard case .object(let fields) = try JSONValue(parsing: data) else {
                throw MessageError("invalid JSON envelope: the envelope is not a JSON object")
            }
            envelope = fields
        } catch let error as MessageError {
            throw error
        } catch {
            throw MessageError("invalid JSON envelope: \(describe(error, in: data))")
        }
        guard case .object(let headers)? = envelope["headers"], case .object(let properties)? = envelope["properties"]
        else {
            throw MessageError(
                "the envelope has no \(envelope["headers"]?.objectValue == nil ? "headers" : "properties")")
        }
        let id = headers["id"]?.stringValue
        guard let task = headers["task"]?.stringValue, !task.isEmpty else {
            if let encoded = envelope["body"]?.stringValue, let body = decodeBase64(encoded), looksLikeProtocolOne(body)
            {
                throw MessageError("protocol v1 messages are not supported; send protocol v2", taskId: id)
            }
            throw MessageError("headers.task is missing: the message names no task", taskId: id)
        }
        guard let id, !id.isEmpty else { throw MessageError("headers.id is missing", taskName: task) }
        func failure(_ reason: String) -> MessageError { MessageError(reason, taskId: id, taskName: task) }
        guard case .object(let info)? = properties["delivery_info"] else {
            throw failure("properties.delivery_info is missing")
        }
        let contentType = envelope["content-type"]?.stringValue
        guard contentType == "application/json" else {
            throw failure("content-type \(contentType ?? "(none)") is not supported; use application/json")
        }
        guard let bodyText = envelope["body"]?.stringValue else { throw failure("the envelope has no body") }
        let bodyData: Data
        if properties["body_encoding"]?.stringValue == "base64" {
            guard let decoded = decodeBase64(bodyText) else { throw failure("the body is not valid base64") }
            bodyData = decoded
        } else {
            bodyData = Data(bodyText.utf8)
        }
        let parts: [JSONValue]
        do {
            let body = try JSONValue(parsing: bodyData)
            guard case .array(let list) = body, list.count >= 2 else {
                throw failure(looksLikeProtocolOne(body) ? protocolOne : "the body is not [args, kwargs, embed]")
            }
            parts = list
        } catch let error as MessageError {
            throw error
        } catch {
            throw failure("the body is not [args, kwargs, embed]: \(describe(error, in: bodyData))")
        }
        guard case .array(let args) = parts[0] else { throw failure("the body's args are not an array") }
        guard case .object(let kwargs) = parts[1] else { throw failure("the body's kwargs are not an object") }
        let embed = parts.count > 2 ? parts[2].objectValue ?? [:] : [:]
        var message = TaskMessage(
            task: task, id: id, args: args, kwargs: kwargs,
            queue: info["routing_key"]?.stringValue ?? "celery")
        message.priority = properties["priority"]?.intValue ?? 0
        func date(_ name: String) throws(MessageError) -> Date? {
            guard let value = headers[name], value != .null else { return nil }
            guard let text = value.stringValue, let date = ISODate.parse(text) else {
                throw failure("headers.\(name) '\(value.stringValue ?? value.jsonText)' is not ISO-8601")
            }
            return date
        }
        message.eta = try date("eta")
        message.expires = try date("expires")
        message.retries = headers["retries"]?.intValue ?? 0
        message.rootId = headers["root_id"]?.stringValue
        message.parentId = headers["parent_id"]?.stringValue
        message.groupId = headers["group"]?.stringValue
        message.groupIndex = headers["group_index"]?.intValue
        let limits = headers["timelimit"]?.arrayValue ?? []
        func limit(_ index: Int) throws(MessageError) -> Double? {
            guard index < limits.count, let seconds = limits[index].doubleValue else { return nil }
            do {
                return try Seconds.check(seconds, "headers.timelimit[\(index)]", allowZero: false)
            } catch {
                throw failure("\(error)")
            }
        }
        message.hardTimeLimit = try limit(0)
        message.softTimeLimit = try limit(1)
        message.ignoreResult = headers["ignore_result"] == .bool(true)
        do {
            message.callbacks = try signatures(embed["callbacks"])
            message.errbacks = try signatures(embed["errbacks"])
            message.chain = try signatures(embed["chain"])
            message.chord = try embed["chord"].flatMap { $0 == .null ? nil : try Signature(json: $0) }
        } catch {
            throw failure("the body's embed is not valid: \(error)")
        }
        message.origin = headers["origin"]?.stringValue ?? ""
        message.deliveryTag = properties["delivery_tag"]?.stringValue ?? TaskID.make()
        message.redelivered = info["redelivered"] == .bool(true) || headers["redelivered"] == .bool(true)
        message.lapsedLeases = headers[lapsedLeasesHeader]?.intValue ?? 0
        message.sentAt = headers["simul_sent_at"]?.doubleValue.map(Date.init(timeIntervalSince1970:))
        message.otherHeaders = headers.filter { !ownHeaders.contains($0.key) }
        return message
    }

    private static let protocolOne = "protocol v1 messages are not supported; send protocol v2"

    private static func signatures(_ value: JSONValue?) throws -> [Signature] {
        guard let value, value != .null else { return [] }
        guard case .array(let list) = value else { throw MessageError("expected a list of signatures") }
        return try list.map(Signature.init(json:))
    }

    /// The task id and name of an envelope that does not fully decode, when they can be read.
    public static func identify(_ data: Data) -> (id: String?, task: String?) {
        guard let envelope = try? JSONValue(parsing: data) else { return (nil, nil) }
        return (envelope["headers"]?["id"]?.stringValue, envelope["headers"]?["task"]?.stringValue)
    }

    private static func decodeBase64(_ text: String) -> Data? { Data(base64Encoded: text) }

    /// Why `data` did not parse. `JSONSerialization` names the cause (the syntax, bad UTF-8, nesting too deep) in
    /// the words Python and Foundation users know; when it accepts what our parser refused, our parser's reason.
    private static func describe(_ error: any Error, in data: Data) -> String {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed)
        } catch let parseError as NSError {
            if let detail = parseError.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        }
        return "\(error)"
    }

    private static func looksLikeProtocolOne(_ data: Data) -> Bool {
        (try? JSONValue(parsing: data)).map(looksLikeProtocolOne) ?? false
    }

    private static func looksLikeProtocolOne(_ body: JSONValue) -> Bool { body["task"] != nil }
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
