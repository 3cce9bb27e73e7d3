import ArgumentParser
import Foundation
import Simul
import SimulBrokers
import SimulJSON
import SimulQueue

/// `simul control`: Celery's remote control (`celery inspect` and `celery control`) over the broker's pidbox, to
/// Swift and Python workers alike.
struct ControlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control",
        abstract: "Ask running workers (Swift or Python) for their state, or change it, as celery inspect/control do.",
        discussion: """
            Needs a broker that broadcasts (redis://). Each worker that is asked answers once.
            Inspect: \(ControlCommand.inspectCommands.joined(separator: ", ")).
            Control: \(ControlCommand.controlCommands.joined(separator: ", ")).
            Examples:
              simul control ping
              simul control stats --destination simul@host --json
              simul control rate_limit tasks.add 10/m
              simul control time_limit tasks.add 10 20
              simul control pool_grow -n 2
              simul control add_consumer extra
              simul control revoke 5d6f0c1e-8a7b-4c5d-9e0f-1a2b3c4d5e6f --terminate
            Exit status: 0 when every worker asked answered ok, 1 when one answered an error, 2 for bad input, \
            69 when no worker answered within --timeout.
            """
    )

    static let inspectCommands = [
        "ping", "stats", "active", "reserved", "scheduled", "revoked", "registered", "query_task", "conf", "report",
        "active_queues", "clock",
    ]
    static let controlCommands = [
        "rate_limit", "time_limit", "pool_grow", "pool_shrink", "autoscale", "add_consumer", "cancel_consumer",
        "shutdown", "enable_events", "disable_events", "revoke", "heartbeat", "pool_restart",
    ]

    @OptionGroup var queue: QueueOptions

    @Argument(help: "The command, such as ping, stats or rate_limit.")
    var command: String

    @Argument(help: "Its arguments: rate_limit TASK RATE, time_limit TASK SOFT [HARD], add_consumer QUEUE, …")
    var arguments: [String] = []

    @Option(name: .customShort("n"), help: "With pool_grow and pool_shrink: by how many slots (default 1).")
    var count: String?

    @Option(name: [.customShort("d"), .long], help: "Ask only this worker (repeatable); every worker by default.")
    var destination: [String] = []

    @Option(help: "Seconds to wait for the next answer (default 1).")
    var timeout = "1"

    @Flag(help: "With revoke: stop the task if it is running.")
    var terminate = false

    @Option(help: "With revoke --terminate: the signal's name, such as SIGTERM or KILL.")
    var signal: String = "SIGTERM"

    @Flag(help: "Print the answers as JSON: {node: answer}.")
    var json = false

    /// The method and its arguments as Celery's Panel names them; a `CLIError` for bad input.
    func request() throws -> (method: String, arguments: [String: JSONValue]) {
        try checkNames([command], kind: "command", available: Self.inspectCommands + Self.controlCommands)
        _ = try seconds
        let args = arguments
        func take(_ range: ClosedRange<Int>, _ usage: String) throws {
            guard range.contains(args.count) else { throw CLIError("usage: simul control \(command) \(usage)") }
        }
        if count != nil, !["pool_grow", "pool_shrink"].contains(command) {
            throw CLIError("-n applies to pool_grow and pool_shrink only")
        }
        switch command {
        case "registered":
            return (command, ["taskinfoitems": .array(args.map(JSONValue.string))])
        case "query_task":
            try take(1...Int.max, "TASK_ID...")
            return (command, ["ids": .array(args.map(JSONValue.string))])
        case "active":
            try take(0...0, "")
            return (command, ["safe": true])
        case "conf":
            try take(0...0, "")
            return (command, ["with_defaults": false])
        case "rate_limit":
            try take(2...2, "TASK RATE (such as 10/s, 100/m, 1000/h; 0 turns it off)")
            let rate = args[1]
            guard Double(rate) == 0 || RateLimit(rate) != nil else {
                throw CLIError("'\(rate)' is not a rate limit: use N, N/s, N/m or N/h (0 turns it off)")
            }
            return (command, ["task_name": .string(args[0]), "rate_limit": .string(rate)])
        case "time_limit":
            try take(2...3, "TASK SOFT [HARD] (seconds; 'none' clears one)")
            let soft = try Self.limit(args[1], "the soft time limit")
            let hard = try args.count == 3 ? Self.limit(args[2], "the hard time limit") : nil
            return (
                command,
                [
                    "task_name": .string(args[0]), "soft": soft.map(JSONValue.number) ?? nil,
                    "hard": hard.map(JSONValue.number) ?? nil,
                ]
            )
        case "pool_grow", "pool_shrink":
            try take(0...1, "[N] (or -n N)")
            let text = count ?? args.first ?? "1"
            guard let n = Int(text), n >= 1 else {
                throw CLIError("\(command) needs a whole number of slots, at least 1, got '\(text)'")
            }
            return (command, ["n": .integer(Int64(n))])
        case "autoscale":
            try take(1...2, "MAX [MIN]")
            let numbers = try args.map { text in
                guard let n = Int(text), n >= 0 else {
                    throw CLIError("autoscale needs whole numbers of processes, got '\(text)'")
                }
                return n
            }
            return (command, ["max": .integer(Int64(numbers[0])), "min": .integer(Int64(numbers.last ?? 0))])
        case "add_consumer":
            try take(1...1, "QUEUE")
            return (
                command,
                ["queue": .string(args[0]), "exchange": nil, "exchange_type": "direct", "routing_key": nil]
            )
        case "pool_restart":
            try take(0...0, "")
            return (command, ["modules": nil, "reload": false, "reloader": nil])
        case "cancel_consumer":
            try take(1...1, "QUEUE")
            return (command, ["queue": .string(args[0])])
        case "revoke":
            try take(1...Int.max, "TASK_ID... [--terminate] [--signal NAME]")
            var fields: [String: JSONValue] = [
                "task_id": .array(args.map(JSONValue.string)), "terminate": .bool(terminate),
            ]
            if terminate { fields["signal"] = .string(signal) }
            return (command, fields)
        default:
            try take(0...0, "")
            return (command, [:])
        }
    }

    /// `--timeout` in seconds: a number above 0.
    var seconds: Double {
        get throws {
            guard let value = Double(timeout) else {
                throw CLIError("--timeout must be a number of seconds, got '\(timeout)'")
            }
            return try checkedSeconds(value, option: "--timeout", allowZero: false) ?? 1
        }
    }

    private static func limit(_ text: String, _ name: String) throws -> Double? {
        if text.lowercased() == "none" { return nil }
        guard let seconds = Double(text), seconds > 0, seconds <= Seconds.limit else {
            throw CLIError("\(name) must be a number of seconds above 0 (or none), got '\(text)'")
        }
        return seconds
    }

    func validate() throws {
        do {
            _ = try request()
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("Error: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
    }

    func run() async throws {
        let (method, fields) = try request()
        let connection = try queue.open()
        defer { Task { await connection.close() } }
        let control = try connection.broker.require(.remoteControl)
        let reply = method != "shutdown"
        let answers = try await control.broadcast(
            method, arguments: fields, destination: destination.isEmpty ? nil : destination, reply: reply,
            timeout: .seconds(try seconds), limit: nil)
        guard reply else {
            print("shutdown sent to \(destination.isEmpty ? "every worker" : destination.joined(separator: ", "))")
            return
        }
        try Self.report(answers, json: json, timeout: try seconds)
    }

    /// Prints the answers, and exits 69 when there are none, 1 when one is an error.
    static func report(_ answers: [ControlAnswer], json: Bool, timeout: Double) throws {
        guard !answers.isEmpty else {
            FileHandle.standardError.write(Data("Error: no worker answered within \(timeout) s\n".utf8))
            throw ExitCode(69)
        }
        if json {
            var nodes: [String: JSONValue] = [:]
            for answer in answers { nodes[answer.node] = answer.reply }
            print(JSONValue.object(nodes).jsonText)
        } else {
            for answer in answers { print(describe(answer)) }
        }
        if answers.contains(where: { $0.reply["error"] != nil }) { throw ExitCode(1) }
    }

    /// One worker's answer for a person: `node: OK pong`, `node: error: …`, or the data, one item a line.
    static func describe(_ answer: ControlAnswer) -> String {
        let node = answer.node
        switch answer.reply {
        case .object(let fields) where fields.count == 1 && fields["ok"] != nil:
            return "\(node): OK \(fields["ok"]?.stringValue ?? fields["ok"]!.jsonText)"
        case .object(let fields) where fields.count == 1 && fields["error"] != nil:
            return "\(node): error: \(fields["error"]?.stringValue ?? fields["error"]!.jsonText)"
        case .object(let fields):
            if fields.isEmpty { return "\(node): (empty)" }
            return "\(node):\n"
                + fields.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value.jsonText)" }
                .joined(separator: "\n")
        case .array(let items):
            if items.isEmpty { return "\(node): (empty)" }
            return "\(node):\n" + items.map { "  - \($0.stringValue ?? $0.jsonText)" }.joined(separator: "\n")
        case .null: return "\(node): (no answer)"
        default: return "\(node): \(answer.reply.jsonText)"
        }
    }
}

/// `simul revoke`: store revocations in the broker (which Swift workers read, even those that start later) and, on
/// Redis, broadcast Celery's `revoke` to the running workers, Python ones too.
struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke tasks: workers skip them, and stop them if running with --terminate.",
        discussion: """
            Examples:
              simul revoke 5d6f0c1e-8a7b-4c5d-9e0f-1a2b3c4d5e6f
              simul revoke ID1 ID2 --terminate --broker redis://localhost:6379/0
            """
    )

    @OptionGroup var queue: QueueOptions

    @Argument(help: "The task ids.")
    var ids: [String] = []

    @Flag(help: "Stop the tasks if they are running.")
    var terminate = false

    func validate() throws {
        let bad =
            ids.isEmpty
            ? "give at least one task id"
            : ids.first { $0.isEmpty || $0.contains(" ") }.map {
                "'\($0)' is not a task id"
            }
        guard let bad else { return }
        FileHandle.standardError.write(Data("Error: \(bad)\n".utf8))
        throw ExitCode(2)
    }

    func run() async throws {
        let connection = try queue.open()
        defer { Task { await connection.close() } }
        try await connection.broker.require(.revocations).revoke(ids, terminate: terminate)
        for id in ids { print("revoked \(id)\(terminate ? " (terminate)" : "")") }
    }
}
