import ArgumentParser
import Foundation
import SimulBrokers
import SimulJSON
import SimulQueue
import Tracing

struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send a task to the queue and print its id (and, with --wait, its result).",
        discussion: """
            Any task name may be sent: a worker that does not know it stores a NotRegistered failure. \
            --count sends that many copies, each with its own id, one id per line. --raw sends files as they are, \
            each as one message envelope, unchecked: it is for testing how workers take malformed input, and it \
            prints the id each envelope names, or - when it names none.
            Examples:
              simul send simul.add --args '[2, 3]' --wait
              simul send simul.add --kwargs '{"x": 2, "y": 3}' --countdown 10
              simul send simul.sleep --args '[5]' -Q slow --priority 0
              simul send simul.noop --count 10000 > ids.txt
              simul send --raw bad-envelope.json -Q celery
            With SIMUL_TRACE_FILE set (docs/observability.md), the send is a span `simul send`, continuing the trace \
            in TRACEPARENT when there is one, and its messages carry the context on.
            """
    )

    @OptionGroup var queue: QueueOptions

    @OptionGroup var route: RouteOptions

    @Argument(help: "The task name, such as simul.add.")
    var task: String?

    @Option(help: "Positional arguments as a JSON array.")
    var args = "[]"

    @Option(help: "Keyword arguments as a JSON object.")
    var kwargs = "{}"

    @Option(
        name: [.customShort("Q"), .customLong("queue")],
        help: "The queue (default: the task's own queue if this executable registers one, else celery).")
    var queueName: String?

    @Option(
        parsing: .unconditional, help: "Run no sooner than this many seconds from now.",
        transform: { try parseDouble($0, "--countdown") })
    var countdown: Double?

    @Option(help: "Run no sooner than this time (ISO-8601, such as 2026-11-22T10:00:00Z).")
    var eta: String?

    @Option(
        parsing: .unconditional, help: "Revoke the task if it has not started within this many seconds.",
        transform: { try parseDouble($0, "--expires") })
    var expires: Double?

    @Option(parsing: .unconditional, help: "0 to 9; lower runs first.", transform: { try parseInt($0, "--priority") })
    var priority: Int?

    @Option(
        parsing: .unconditional, help: "Stop the task and fail it with TimeLimitExceeded after this many seconds.",
        transform: { try parseDouble($0, "--time-limit") })
    var timeLimit: Double?

    @Option(
        parsing: .unconditional, help: "Ask the task to stop (SoftTimeLimitExceeded) after this many seconds.",
        transform: { try parseDouble($0, "--soft-time-limit") })
    var softTimeLimit: Double?

    @Option(
        parsing: .unconditional, help: "Send this many copies, each with its own id.",
        transform: { try parseInt($0, "--count") })
    var count = 1

    @Option(
        help: ArgumentHelp(
            "Send this file's bytes as one message envelope, unchecked (repeatable).",
            valueName: "file"))
    var raw: [String] = []

    @OptionGroup var waiting: WaitOptions

    func run() async throws {
        if !raw.isEmpty { return try await sendRaw() }
        try TraceFile.bootstrapIfAsked()
        try await withSpan("simul send", context: TraceFile.environmentContext(), ofKind: .internal) { span in
            if let task { span.attributes["celery.task_name"] = task }
            try await sendTasks()
        }
    }

    private func sendTasks() async throws {
        guard let task, !task.isEmpty else { throw CLIError("give a task name, such as simul.add (or --raw FILE)") }
        let args = try JSONArgument.array(self.args, option: "--args")
        let kwargs = try JSONArgument.object(self.kwargs, option: "--kwargs")
        let routes = try route.routes()
        // A task of this executable's own goes to the queue its options name, unless --queue or a route says otherwise.
        var options = SendOptions(
            queue: queueName ?? (routes.queue(for: task) == nil ? QueueCommands.tasks[task]?.options.queue : nil))
        options.countdown = try checkedSeconds(countdown, option: "--countdown")
        if let eta {
            guard let date = ISODate.parse(eta) else {
                throw CLIError("--eta must be an ISO-8601 time such as 2026-11-22T10:00:00Z, got '\(eta)'")
            }
            options.eta = date
        }
        if let expires = try checkedSeconds(expires, option: "--expires") {
            options.expires = Date().addingTimeInterval(expires)
        }
        if let priority {
            guard (0...9).contains(priority) else { throw CLIError("--priority must be 0 to 9, got \(priority)") }
            options.priority = priority
        }
        options.hardTimeLimit = try checkedSeconds(timeLimit, option: "--time-limit")
        options.softTimeLimit = try checkedSeconds(softTimeLimit, option: "--soft-time-limit")
        guard count >= 1 else { throw CLIError("--count must be at least 1, got \(count)") }
        guard count == 1 || !waiting.wait else {
            throw CLIError("--wait takes one task; with --count, use simul result")
        }
        let timeout = try waiting.checkedTimeout()
        let connection = try queue.open()
        let (broker, backend) = (connection.broker, connection.backend)
        let client = QueueClient(broker: broker, backend: backend, routes: routes)
        if count > 1 {
            try await Self.send(count, of: task, args: args, kwargs: kwargs, options: options, with: client)
            await connection.close()
            return
        }
        try await waiting.report(client.send(task, args: args, kwargs: kwargs, options: options), timeout: timeout)
    }

    /// Sends `count` copies, 64 at a time so the broker writes them in groups, printing the ids in order as they go.
    /// When a send fails, the ids of the others in its batch that were stored are printed before the error: a full
    /// disk fails some sends of a group commit and not others.
    ///
    /// Once the broker has taken a batch, a send that finds it unavailable (a Redis restart) is sent again with the
    /// same task id, with backoff, for up to ``reconnectPatience``: a send whose reply was lost may then be queued
    /// twice under one id, which at-least-once delivery allows, and none is lost. A broker unreachable from the
    /// start fails at once.
    private static func send(
        _ count: Int, of task: String, args: [JSONValue], kwargs: [String: JSONValue], options: SendOptions,
        with client: QueueClient
    ) async throws {
        var sent = 0
        while sent < count {
            let batch = min(64, count - sent)
            let patience = sent > 0 ? reconnectPatience : .zero
            let outcomes = await withTaskGroup(of: (Int, Result<String, any Error>).self) { group in
                for index in 0..<batch {
                    var options = options
                    options.taskId = TaskID.make()
                    group.addTask {
                        do {
                            let id = try await retrying(for: patience) {
                                try await client.send(task, args: args, kwargs: kwargs, options: options).id
                            }
                            return (index, .success(id))
                        } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                var outcomes = [Result<String, any Error>](repeating: .success(""), count: batch)
                for await (index, outcome) in group { outcomes[index] = outcome }
                return outcomes
            }
            let ids = outcomes.compactMap { try? $0.get() }
            if !ids.isEmpty { print(ids.joined(separator: "\n")) }
            for case .failure(let error) in outcomes { throw error }
            sent += batch
        }
    }

    /// How long a bulk send waits for a broker that went away mid-run to come back.
    static let reconnectPatience = Duration.seconds(60)

    /// Runs `body` until it succeeds, again after each ``QueueError/isUnavailable`` failure for up to `patience`.
    private static func retrying<T: Sendable>(
        for patience: Duration, _ body: () async throws -> T
    ) async throws -> T {
        let deadline = ContinuousClock.now + patience
        var failures = 0
        while true {
            do {
                return try await body()
            } catch let error as QueueError where error.isUnavailable && ContinuousClock.now < deadline {
                failures += 1
                try await Task.sleep(for: .milliseconds(min(2_000, 50 << min(failures, 6))))
            }
        }
    }

    /// `--raw`: each file's bytes as one envelope, all in one broker write, in order.
    private func sendRaw() async throws {
        guard task == nil, args == "[]", kwargs == "{}", countdown == nil, eta == nil, expires == nil, priority == nil,
            timeLimit == nil, softTimeLimit == nil, count == 1, !waiting.wait
        else { throw CLIError("--raw sends files as they are; it takes only -Q, --broker and --backend") }
        let bodies = try raw.map { path in
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError("cannot read the envelope file '\(path)'")
            }
            return data
        }
        let connection = try queue.open()
        let broker = connection.broker
        let queueName = queueName ?? "celery"
        try await broker.commit(BrokerCommit(send: bodies.map { OutgoingMessage(raw: $0, queue: queueName) }))
        for body in bodies { print(MessageCodec.identify(body).id ?? "-") }
        await connection.close()
    }
}

func parseDouble(_ text: String, _ option: String) throws -> Double {
    guard let value = Double(text) else { throw CLIError("\(option) must be a number, got '\(text)'") }
    return value
}

func parseInt(_ text: String, _ option: String) throws -> Int {
    guard let value = Int(text) else { throw CLIError("\(option) must be a whole number, got '\(text)'") }
    return value
}
