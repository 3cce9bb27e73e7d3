import ArgumentParser
import Foundation
import Logging
import SimulBrokers
import SimulJSON
import ServiceLifecycle
import SimulQueue
import UnixSignals

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show the workers, queues, running tasks, registered tasks or statistics.",
        discussion: """
            Read from the broker's events and queues, so it works with workers on other processes.
            Examples:
              simul inspect workers
              simul inspect queues --json
            """
    )

    static let topics = ["workers", "queues", "active", "registered", "stats"]

    @OptionGroup var queue: QueueOptions

    @Argument(help: "workers, queues, active, registered or stats.")
    var topic = "workers"

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        try checkNames([topic], kind: "topic", available: Self.topics)
        let connection = try queue.open()
        let broker = connection.broker
        defer { Task { await connection.close() } }
        if topic == "queues" {
            let lengths = try await broker.require(.queueAdministration).queueLengths()
            if json { return try printJSON(lengths) }
            if lengths.isEmpty { print("no waiting messages") }
            for (name, count) in lengths.sorted(by: { $0.key < $1.key }) { print("\(name): \(count) waiting") }
            return
        }
        var state = try await ClusterState.load(from: broker.require(.events))
        state.forgetWorkers(silentSince: SystemClock().now.addingTimeInterval(-ClusterState.offlineWorkersKept))
        let workers = state.workers.values.sorted { $0.hostname < $1.hostname }
        switch topic {
        case "workers":
            if json { return try printJSON(workers) }
            if workers.isEmpty { print("no workers have reported") }
            let now = SystemClock().now
            for worker in workers {
                let pool = worker.fields["pool"]?.stringValue ?? "?"
                let concurrency = worker.fields["concurrency"]?.intValue ?? 0
                let processed = worker.fields["processed"]?.intValue ?? 0
                let age = Int(Date().timeIntervalSince(worker.lastSeen))
                print(
                    "\(worker.hostname): \(worker.isOnline(at: now) ? "online" : "offline"), pool \(pool) ×\(concurrency), "
                        + "\(processed) processed, last heard \(age) s ago")
            }
        case "active":
            let active = state.active
            if json { return try printJSON(active) }
            if active.isEmpty { print("no tasks running") }
            for task in active { print("\(task.worker ?? "?"): \(task.name ?? "?")[\(task.id)] \(task.args ?? "")") }
        case "registered":
            if json {
                return try printJSON(Dictionary(uniqueKeysWithValues: workers.map { ($0.hostname, $0.registered) }))
            }
            for worker in workers { print("\(worker.hostname): \(worker.registered.joined(separator: ", "))") }
        default:
            let stats = workers.map { worker in
                (
                    worker.hostname,
                    worker.fields.filter {
                        ["processed", "active", "pool", "concurrency", "loadavg", "queues"].contains($0.key)
                    }
                )
            }
            if json { return try printJSON(Dictionary(uniqueKeysWithValues: stats)) }
            for (hostname, fields) in stats {
                print(
                    "\(hostname): "
                        + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.jsonText)" }.joined(
                            separator: " "))
            }
        }
    }
}

struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Delete the waiting messages of a queue (leased ones are left to their workers).",
        discussion: """
            It asks first, as celery purge does: answer yes, or pass -f to skip the question (in scripts).
            Example: simul purge -Q celery -f
            """
    )

    @OptionGroup var queue: QueueOptions

    @Option(name: [.customShort("Q"), .customLong("queue")], help: "The queue.")
    var queueName = "celery"

    @Flag(name: [.customShort("f"), .customLong("force")], help: "Do not ask; purge.")
    var force = false

    func run() async throws {
        if !force {
            FileHandle.standardError.write(
                Data(
                    ("This will delete every waiting message of the queue \(queueName). There is no undo. "
                        + "Are you sure (yes/NO)? ").utf8))
            guard let answer = readLine(), ["yes", "y"].contains(answer.lowercased()) else {
                throw CLIError("not purged: answer yes, or pass -f to skip the question")
            }
        }
        let connection = try queue.open()
        let count = try await connection.broker.require(.queueAdministration).purge(queue: queueName)
        print("purged \(count) message\(count == 1 ? "" : "s") from \(queueName)")
        await connection.close()
    }
}

struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List the messages no worker could run, with the reason, or send them back.",
        discussion: """
            Examples:
              simul dead-letters list
              simul dead-letters replay 3 4
              simul dead-letters replay --all
            """
    )

    @OptionGroup var queue: QueueOptions

    @Argument(help: "list or replay.")
    var action: String

    @Argument(help: "With replay: the dead letters' ids.")
    var ids: [String] = []

    @Flag(help: "With replay: every dead letter.")
    var all = false

    @Option(
        parsing: .unconditional, help: "With list: at most this many, newest first.",
        transform: { try parseInt($0, "--limit") })
    var limit = 50

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        try checkNames([action], kind: "action", available: ["list", "replay"])
        let connection = try queue.open()
        let broker = try connection.broker.require(.deadLetters)
        if action == "list" {
            let letters = try await broker.deadLetters(limit: limit)
            if json {
                return try printJSON(
                    letters.map { letter in
                        let (id, task) = (letter.taskId, letter.task)
                        return [
                            "id": "\(letter.id)", "queue": letter.queue, "reason": letter.reason,
                            "at": ISODate.format(letter.at), "task_id": id ?? "", "task": task ?? "",
                            "size": "\(letter.size)", "sha256": letter.sha256, "truncated": "\(letter.isTruncated)",
                        ]
                    })
            }
            if letters.isEmpty { print("no dead letters") }
            for letter in letters {
                let (id, task) = (letter.taskId, letter.task)
                let kept =
                    !letter.isTruncated
                    ? ""
                    : "  [kept \(letter.body.count) of \(letter.size) bytes, sha256 \(letter.sha256); cannot be replayed]"
                print(
                    "\(letter.id)  \(ISODate.format(letter.at))  \(letter.queue)  \(task ?? "?")[\(id ?? "?")]  "
                        + "\(letter.reason)\(kept)")
            }
            let dropped = try await broker.droppedDeadLetters()
            if dropped > 0 { print("(\(dropped) older dead letters were dropped to stay within the broker's limits)") }
            return
        }
        guard all != !ids.isEmpty else { throw CLIError("replay needs dead-letter ids or --all, not both") }
        let numbers = try ids.map { text in
            guard let id = Int64(text) else {
                throw CLIError("'\(text)' is not a dead-letter id (see simul dead-letters list)")
            }
            return id
        }
        let count: Int
        do {
            count = try await broker.replayDeadLetters(all ? nil : numbers)
        } catch let error as QueueError {
            throw CLIError(error.message)
        }
        print("replayed \(count) dead letter\(count == 1 ? "" : "s")")
        let kept = all ? try await broker.deadLetters(limit: .max).filter(\.isTruncated).count : 0
        if kept > 0 { print("\(kept) truncated dead letter\(kept == 1 ? "" : "s") stayed: only the head was kept") }
    }
}

struct BeatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beat",
        abstract: "Send periodic tasks on a schedule; several beats send each slot once.",
        discussion: """
            The schedule is a JSON file: a list of entries with name, task, optional args, kwargs and queue, and \
            either every (seconds) or crontab (five fields, UTC).
              [{"name": "tick", "task": "simul.noop", "every": 10},
               {"name": "report", "task": "simul.add", "args": [1, 2], "crontab": "0 9 * * 1-5"}]
            Example: simul beat --schedule beat.json
            """
    )

    @OptionGroup var queue: QueueOptions

    @Option(help: "The schedule file.")
    var schedule: String

    struct Entry: Decodable {
        var name: String
        var task: String
        var args: [JSONValue]?
        var kwargs: [String: JSONValue]?
        var queue: String?
        var every: Double?
        var crontab: String?
    }

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: schedule) else {
            throw CLIError("cannot read the schedule '\(schedule)'")
        }
        let entries: [Entry]
        do {
            entries = try JSONDecoder().decode([Entry].self, from: data)
        } catch {
            throw CLIError("the schedule '\(schedule)' is not a JSON list of {name, task, every|crontab} entries")
        }
        let beatEntries = try entries.map { entry in
            let when: Schedule
            switch (entry.every, entry.crontab) {
            case (let seconds?, nil) where seconds > 0: when = .every(seconds: seconds)
            case (nil, let text?): when = .crontab(try Crontab(text))
            default: throw CLIError("entry '\(entry.name)' needs either every (seconds > 0) or crontab")
            }
            return BeatEntry(
                name: entry.name, task: entry.task, args: entry.args ?? [], kwargs: entry.kwargs ?? [:],
                schedule: when, options: SendOptions(queue: entry.queue))
        }
        let connection = try queue.open(logLevel: .info, connections: 4)
        let (broker, backend) = (connection.broker, connection.backend)
        let claims = try broker.require(.slotClaims)
        print("beat: \(beatEntries.count) entries from \(schedule)")
        let beat = Beat(entries: beatEntries, client: QueueClient(broker: broker, backend: backend), claims: claims)
        // SIGTERM and SIGINT end the beat between two slots, and it exits 0.
        try await ServiceGroup(
            services: [beat], gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "simul.beat")
        ).run()
        await connection.close()
    }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
