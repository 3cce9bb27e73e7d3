import Foundation
import SimulJSON

/// The ten bad kinds of the poison scenario: each built the way a Python client (kombu) builds a good envelope,
/// then broken, and what the worker must do with it (docs/faults.md, the table under "The scenarios").
enum BadMessages {
    /// The kinds, in the order they are built, with their verdicts: the start of the dead letter's reason, and the
    /// FAILURE (type, text in its message) stored under the message's id.
    static let kinds: [BadMessage] = [
        BadMessage(kind: "invalid-json", deadLetter: "invalid JSON envelope: Unexpected end of file"),
        BadMessage(
            kind: "not-base64", deadLetter: "the body is not valid base64",
            failure: ("InvalidTaskMessage", "the body is not valid base64")),
        BadMessage(
            kind: "no-delivery-info", deadLetter: "properties.delivery_info is missing",
            failure: ("InvalidTaskMessage", "properties.delivery_info is missing")),
        BadMessage(
            kind: "no-task-name", deadLetter: "headers.task is missing",
            failure: ("InvalidTaskMessage", "headers.task is missing")),
        BadMessage(kind: "unknown-task", failure: ("NotRegistered", "faults.no_such_task")),
        BadMessage(
            kind: "wrong-types", failure: ("TypeError", "simul.record() argument 'path' must be String, got 123")),
        BadMessage(
            kind: "10mb-payload", deadLetter: "the message is ",
            failure: ("InvalidTaskMessage", "more than this worker's limit")),
        BadMessage(kind: "protocol-v1", deadLetter: "protocol v1 messages are not supported"),
        BadMessage(
            kind: "truncated-utf8", deadLetter: "the body is not [args, kwargs, embed]: Invalid UTF-8",
            failure: ("InvalidTaskMessage", "Invalid UTF-8")),
        BadMessage(
            kind: "nesting-10000", deadLetter: "the body is not [args, kwargs, embed]: Too many nested",
            failure: ("InvalidTaskMessage", "Too many nested")),
    ]

    /// Writes `rounds` messages of every kind to `directory`, as `000-not-base64.json` and so on, and returns them
    /// with their files, in file-name order within each round.
    static func write(rounds: Int, to directory: String) throws -> [(file: String, message: BadMessage)] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var written: [(file: String, message: BadMessage)] = []
        for round in 0..<rounds {
            var files: [(file: String, message: BadMessage)] = []
            for var message in kinds {
                let (data, id) = bytes(of: message.kind)
                message.id = id
                let file = "\(directory)/\(String(format: "%03d", round))-\(message.kind).json"
                try data.write(to: URL(fileURLWithPath: file))
                files.append((file, message))
            }
            written += files.sorted { $0.file < $1.file }
        }
        return written
    }

    /// One bad message of `kind`, and the task id it names (`nil` if it names none).
    static func bytes(of kind: String) -> (Data, String?) {
        let id = UUID().uuidString.lowercased()
        var good = envelope("simul.noop", args: [], id: id)
        switch kind {
        case "invalid-json": return (Data(good.text.utf8.dropLast(40)), nil)
        case "not-base64": good["body"] = .string("%%% this is not base64 %%%")
        case "no-delivery-info": good["properties"]?["delivery_info"] = nil
        case "no-task-name": good["headers"]?["task"] = nil
        case "unknown-task": good = envelope("faults.no_such_task", args: [.integer(1), .integer(2)], id: id)
        case "wrong-types": good = envelope("simul.record", args: [.integer(123), .string("slow")], id: id)
        case "10mb-payload":
            good = envelope("simul.noop", args: [.safeString(String(repeating: "x", count: 10 << 20))], id: id)
        case "protocol-v1":
            // Protocol v1: the task and its id live in the body, the headers are empty.
            let body: PythonJSON = .object([
                ("task", .string("simul.add")), ("id", .string(id)), ("args", .array([.integer(1), .integer(2)])),
                ("kwargs", .object([])), ("retries", .integer(0)), ("eta", .null), ("expires", .null),
                ("utc", .bool(true)),
            ])
            good = envelope("simul.add", args: [], id: UUID().uuidString.lowercased(), body: Data(body.text.utf8))
            good["headers"] = .object([])
            return (Data(good.text.utf8), nil)
        case "truncated-utf8":
            // A string argument cut in the middle of a two-byte character: 0xC3 with no continuation byte.
            good = envelope(
                "simul.noop", args: [], id: id, body: Data(#"[["caf"#.utf8) + [0xC3] + Data(#""], {}, {}]"#.utf8))
        case "nesting-10000":
            let nested = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
            good = envelope("simul.noop", args: [], id: id, body: Data("[\(nested), {}, {}]".utf8))
        default: preconditionFailure("unknown kind \(kind)")
        }
        return (Data(good.text.utf8), id)
    }

    /// A Celery protocol v2 envelope as kombu stores it (research/celery-protocol.md, section 1); its body is
    /// `[args, {}, embed]` unless `body` is given.
    static func envelope(_ task: String, args: [PythonJSON], id: String, body: Data? = nil) -> PythonJSON {
        let embed: PythonJSON = .object([("callbacks", .null), ("errbacks", .null), ("chain", .null), ("chord", .null)])
        let body = body ?? Data(PythonJSON.array([.array(args), .object([]), embed]).text.utf8)
        return .object([
            ("body", .safeString(body.base64EncodedString())),
            ("content-encoding", .string("utf-8")),
            ("content-type", .string("application/json")),
            (
                "headers",
                .object([
                    ("lang", .string("py")), ("task", .string(task)), ("id", .string(id)), ("shadow", .null),
                    ("eta", .null), ("expires", .null), ("group", .null), ("group_index", .null),
                    ("retries", .integer(0)), ("timelimit", .array([.null, .null])), ("root_id", .string(id)),
                    ("parent_id", .null), ("argsrepr", .string(String(PythonJSON.array(args).repr.prefix(1024)))),
                    ("kwargsrepr", .string("{}")), ("origin", .string("gen0@faults")), ("ignore_result", .bool(false)),
                ])
            ),
            (
                "properties",
                .object([
                    ("correlation_id", .string(id)), ("reply_to", .string("")), ("delivery_mode", .integer(2)),
                    (
                        "delivery_info",
                        .object([("exchange", .string("")), ("routing_key", .string("celery"))])
                    ),
                    ("priority", .integer(0)), ("body_encoding", .string("base64")),
                    ("delivery_tag", .string(UUID().uuidString.lowercased())),
                ])
            ),
        ])
    }
}
