import Foundation
import Logging
import Simul
import SimulJSON
import Synchronization

extension Worker {
    /// Answers remote-control commands (Celery's `inspect` and `control`, and Flower's pages) until the worker stops.
    func serveRemoteControl(_ broker: any RemoteControlBroker) async {
        let requests: AsyncStream<ControlRequest>
        do {
            requests = try await broker.controlRequests(for: configuration.name)
        } catch {
            logger.warning("cannot listen for remote control: \(error)")
            return
        }
        for await request in requests {
            if let sent = request.clock { tick(seenClock: sent) }
            // `nil`: no answer at all (a shutdown), as a Celery worker that exits gives none.
            guard let answer = answer(request) else { continue }
            guard request.replyTo != nil else { continue }
            do {
                try await broker.reply(to: request, from: configuration.name, with: answer)
            } catch {
                logger.warning("cannot answer the remote-control command '\(request.method)': \(error)")
            }
        }
    }

    /// Moves the Lamport clock past `seenClock` (kombu's `clock.adjust`).
    @discardableResult
    func tick(seenClock: Int = 0) -> Int {
        var current = lamportClock.load(ordering: .relaxed)
        while true {
            let next = max(current, seenClock) + 1
            let (exchanged, original) = lamportClock.compareExchange(
                expected: current, desired: next, ordering: .relaxed)
            if exchanged { return next }
            current = original
        }
    }

    /// The answer to one command, in the shape Celery's workers give (`research/celery-control.md` §2); `nil` for
    /// `shutdown`, which Celery never answers. An argument of the wrong type, or a command this worker cannot carry
    /// out, is answered `{"error": "…"}`, as Celery answers an exception.
    func answer(_ request: ControlRequest) -> JSONValue? {
        let arguments = ControlArguments(request.arguments)
        do {
            return try answer(request.method, arguments)
        } catch let error as ControlArguments.Invalid {
            return ["error": .string(error.message)]
        } catch {
            return ["error": .string("\(error)")]
        }
    }

    private func answer(_ method: String, _ arguments: ControlArguments) throws -> JSONValue? {
        switch method {
        case "ping": return ["ok": "pong"]
        case "stats": return statsAnswer()
        case "clock": return ["clock": .integer(Int64(tick()))]
        case "report": return ["ok": .string(report)]
        case "conf", "dump_conf": return conf
        case "active", "dump_active":
            let safe = try arguments.bool("safe") ?? false
            return .array(
                state.withLock { state in
                    state.running.values.sorted { $0.started < $1.started }.map {
                        describe($0.message, acknowledged: true, started: $0.started, safe: safe)
                    }
                })
        case "reserved", "dump_reserved":
            return .array(state.withLock { $0.machine.readyJobs }.map { describe($0.message, acknowledged: false) })
        case "scheduled", "dump_schedule": return .array(state.withLock { $0.machine.scheduledJobs }.map(scheduled))
        case "revoked", "dump_revoked":
            let now = clock.now
            let ids = state.withLock { $0.machine.revoked.revocations(after: 0, now: now) }.map(\.id)
            return .array(ids.map(JSONValue.string))
        case "registered", "dump_tasks": return try registered(arguments)
        case "query_task": return try queryTask(arguments)
        case "active_queues":
            return .array(state.withLock { $0.machine.queues }.map(Self.queueDescription))
        case "hello": return try hello(arguments)
        case "revoke": return try revoke(arguments, terminate: try arguments.bool("terminate") ?? false)
        case "terminate": return try revoke(arguments, terminate: true)
        case "rate_limit": return try rateLimit(arguments)
        case "time_limit": return try timeLimit(arguments)
        case "pool_grow", "pool_shrink":
            let n = try arguments.int("n") ?? 1
            return resize(grow: method == "pool_grow", by: n)
        case "autoscale": return ["error": "ValueError('Autoscale not enabled')"]
        case "pool_restart": return try poolRestart(arguments)
        case "add_consumer":
            let queue = try arguments.requiredString("queue")
            state.withLock { _ = $0.machine.addConsumer(queue) }
            changed.signal()
            logger.info("remote control: consuming from \(queue)")
            return ["ok": .string("add consumer \(queue)")]
        case "cancel_consumer":
            let queue = try arguments.requiredString("queue")
            state.withLock { _ = $0.machine.cancelConsumer(queue) }
            logger.info("remote control: no longer consuming from \(queue)")
            return ["ok": .string("no longer consuming from \(queue)")]
        case "enable_events", "disable_events":
            let enable = method == "enable_events"
            let was = taskEventsEnabled.exchange(enable, ordering: .relaxed)
            let word = enable ? "enabled" : "disabled"
            return ["ok": .string(was == enable ? "task events already \(word)" : "task events \(word)")]
        case "heartbeat":
            committer.enqueue(events: [workerEvent("worker-heartbeat")])
            return .null
        case "election": return .null
        case "shutdown":
            logger.warning("remote control: shutdown asked for; warm shutdown")
            shutdown()
            return nil
        default: return ["error": .string("KeyError('\(method)')")]
        }
    }

    // MARK: Inspect

    private func statsAnswer() -> JSONValue {
        let (totals, concurrency, prefetch) = state.withLock {
            ($0.machine.totals, $0.machine.concurrency, $0.machine.prefetch)
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let seconds = { (time: timeval) in Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        let pid = JSONValue.integer(Int64(getpid()))
        let limits: [JSONValue] = [0, 0]
        return [
            "broker": .object(
                (broker.remoteControl?.connectionDescription ?? [:]).merging(
                    ["transport": .string(broker.transport)], uniquingKeysWith: { old, _ in old })),
            "clock": .string(String(lamportClock.load(ordering: .relaxed))),
            "pid": pid,
            "pool": [
                "implementation": .string("simul:\(configuration.pool.rawValue)"),
                "max-concurrency": .integer(Int64(concurrency)),
                "processes": configuration.pool == .processes
                    ? .array(executor.processIDs.map { .integer(Int64($0)) }) : [pid],
                "max-tasks-per-child": configuration.pool == .processes ? .string("N/A") : .null,
                "put-guarded-by-semaphore": false, "timeouts": .array(limits),
            ],
            "prefetch_count": .integer(Int64(prefetch)),
            "rusage": [
                "utime": .number(seconds(usage.ru_utime)), "stime": .number(seconds(usage.ru_stime)),
                "maxrss": .integer(Int64(usage.ru_maxrss)), "ixrss": .integer(Int64(usage.ru_ixrss)),
                "idrss": .integer(Int64(usage.ru_idrss)), "isrss": .integer(Int64(usage.ru_isrss)),
                "minflt": .integer(Int64(usage.ru_minflt)), "majflt": .integer(Int64(usage.ru_majflt)),
                "nswap": .integer(Int64(usage.ru_nswap)), "inblock": .integer(Int64(usage.ru_inblock)),
                "oublock": .integer(Int64(usage.ru_oublock)), "msgsnd": .integer(Int64(usage.ru_msgsnd)),
                "msgrcv": .integer(Int64(usage.ru_msgrcv)), "nsignals": .integer(Int64(usage.ru_nsignals)),
                "nvcsw": .integer(Int64(usage.ru_nvcsw)), "nivcsw": .integer(Int64(usage.ru_nivcsw)),
            ],
            "total": .object(totals.mapValues { .integer(Int64($0)) }),
            "uptime": .integer(Int64(clock.now.timeIntervalSince(started).rounded())),
        ]
    }

    private var report: String {
        """

        software -> simul:0.1 (swift) \(SystemInfo.operatingSystem)
        settings -> transport:\(broker.transport) pool:\(configuration.pool.rawValue) \
        queues:\(state.withLock { $0.machine.queues }.joined(separator: ","))
        """
    }

    /// The settings a Celery worker shows, with the values this worker runs with.
    private var conf: JSONValue {
        let (concurrency, queues) = state.withLock { ($0.machine.concurrency, $0.machine.queues) }
        return [
            "worker_concurrency": .integer(Int64(concurrency)),
            "worker_prefetch_multiplier": .integer(Int64(configuration.prefetchMultiplier)),
            "worker_pool": .string(configuration.pool.rawValue),
            "worker_send_task_events": .bool(taskEventsEnabled.load(ordering: .relaxed)),
            "task_track_started": .bool(configuration.trackStarted),
            "task_default_queue": .string(queues.first ?? "celery"),
            "enable_utc": true, "timezone": "UTC", "accept_content": ["json"], "deprecated_settings": nil,
            "include": .array(catalog.names.map(JSONValue.string)),
        ]
    }

    /// `registered`: sorted names, each followed by the asked attributes that are set (`exchange`, `routing_key`
    /// and `rate_limit` when none are asked), as `"t.add [rate_limit=10/s]"`.
    private func registered(_ arguments: ControlArguments) throws -> JSONValue {
        var items = try arguments.strings("taskinfoitems") ?? []
        if items.isEmpty { items = ["exchange", "routing_key", "rate_limit"] }
        let lines = catalog.names.compactMap { name -> String? in
            guard let task = catalog[name] else { return nil }
            let (soft, hard) = timeLimits(of: task)
            let attributes = items.filter { !$0.hasPrefix("_") }.compactMap { item -> String? in
                let value: String? =
                    switch item {
                    case "name": name
                    case "rate_limit": rateLimit(of: task)?.celeryText
                    case "time_limit": hard.map { "\($0)" }
                    case "soft_time_limit": soft.map { "\($0)" }
                    case "max_retries": "\(task.options.maxRetries)"
                    case "ignore_result": task.options.ignoreResult ? "True" : "False"
                    case "queue": task.options.queue
                    default: nil
                    }
                return value.map { "\(item)=\($0)" }
            }
            return attributes.isEmpty ? name : "\(name) [\(attributes.joined(separator: " "))]"
        }
        return .array(lines.map(JSONValue.string))
    }

    /// `query_task`: each known id with its state (`active`, `reserved` or `scheduled`) and its request.
    private func queryTask(_ arguments: ControlArguments) throws -> JSONValue {
        let ids = Set(try arguments.strings("ids") ?? arguments.strings("task_id") ?? [])
        var found: [String: JSONValue] = [:]
        state.withLock { state in
            for running in state.running.values where ids.contains(running.message.id) {
                found[running.message.id] = [
                    "active", describe(running.message, acknowledged: true, started: running.started),
                ]
            }
            for job in state.machine.readyJobs where ids.contains(job.message.id) {
                found[job.message.id] = ["reserved", describe(job.message, acknowledged: false)]
            }
            for job in state.machine.scheduledJobs where ids.contains(job.message.id) {
                found[job.message.id] = ["scheduled", describe(job.message, acknowledged: false)]
            }
        }
        return .object(found)
    }

    /// `hello`, Celery's mingle: merge the sender's revocations, answer with ours and the clock; `null` to ourselves.
    private func hello(_ arguments: ControlArguments) throws -> JSONValue {
        guard try arguments.string("from_node") != configuration.name else { return .null }
        let now = clock.now
        applyRevocations(
            Self.revokedIds(arguments.fields["revoked"]).map { Revocation(id: $0, terminate: false, at: now) })
        return ["revoked": .array(knownRevocations().map(JSONValue.string)), "clock": .integer(Int64(tick()))]
    }

    /// The start's mingle: sends `hello` with this worker's revocations to every worker, and merges those in their
    /// answers, collected until a second passes with none (as Celery's mingle waits).
    func mingle(through control: any RemoteControlBroker) async {
        let hello: [String: JSONValue] = [
            "from_node": .string(configuration.name), "revoked": .array(knownRevocations().map(JSONValue.string)),
        ]
        do {
            let answers = try await control.broadcast(
                "hello", arguments: hello, destination: nil, reply: true, timeout: .seconds(1), limit: nil)
            let now = clock.now
            let ids = Set(answers.flatMap { Self.revokedIds($0.reply["revoked"]) })
            applyRevocations(ids.sorted().map { Revocation(id: $0, terminate: false, at: now) })
            guard !answers.isEmpty else { return }
            logger.info(
                "mingle: \(answers.count) workers answered (\(answers.map(\.node).sorted().joined(separator: ", "))); \(ids.count) revocations merged"
            )
        } catch {
            logger.warning("mingle: cannot ask the other workers for their revocations (\(error)); going on")
        }
    }

    private func knownRevocations() -> [String] {
        let now = clock.now
        return state.withLock { $0.machine.revoked.revocations(after: 0, now: now) }.map(\.id)
    }

    /// The ids of a `hello`'s `revoked`: Celery ≤ 5.6 sends its LimitedSet's data, an object keyed by id; 5.7 sends
    /// a list.
    private static func revokedIds(_ revoked: JSONValue?) -> [String] {
        switch revoked {
        case .object(let entries)?: entries.keys.sorted()
        case .array(let values)?: values.compactMap(\.stringValue)
        default: []
        }
    }

    // MARK: Control

    /// `revoke` and `terminate`: Celery's replies, `tasks {'id'} flagged as revoked` or `terminate: id, …`.
    private func revoke(_ arguments: ControlArguments, terminate: Bool) throws -> JSONValue {
        guard let ids = try arguments.strings("task_id"), !ids.isEmpty else {
            throw ControlArguments.Invalid("revoke needs task_id: an id or a list of ids")
        }
        if terminate, let signal = try arguments.string("signal") {
            guard TerminationSignal.isKnown(signal) else {
                throw ControlArguments.Invalid("unknown signal name '\(signal)'")
            }
        }
        let now = clock.now
        let stopped = applyRevocations(ids.map { Revocation(id: $0, terminate: terminate, at: now) })
        let active = state.withLock { Set($0.running.values.map(\.message.id)) }
        let elsewhere = ids.filter { !active.contains($0) }
        if !elsewhere.isEmpty { Task { await self.storeRevoked(elsewhere) } }
        logger.info("remote control: revoked \(ids.joined(separator: ", "))\(terminate ? " (terminate)" : "")")
        guard terminate else {
            return ["ok": .string("tasks {\(ids.map { "'\($0)'" }.joined(separator: ", "))} flagged as revoked")]
        }
        return [
            "ok": .string(
                stopped.isEmpty ? "terminate: tasks unknown" : "terminate: \(stopped.joined(separator: ", "))")
        ]
    }

    /// Stores REVOKED for the ids whose stored state is not yet under way (PENDING, RECEIVED or RETRY), as Celery 5.7's
    /// `revoke` does on every worker, so a client waiting for one hears at once. Ready, started and custom states are
    /// left alone; a backend that cannot be read is only logged.
    private func storeRevoked(_ ids: [String]) async {
        let stored: [String: TaskResult]
        do {
            stored = try await backend.results(for: ids)
        } catch {
            logger.warning("revoke: cannot read the states of \(ids.count) tasks: \(error)")
            return
        }
        let waiting: Set<TaskState> = [.pending, .received, .retry]
        let revoked = ids.filter { waiting.contains(stored[$0]?.status ?? .pending) }.map { id in
            var result = TaskResult.failure(taskId: id, .revoked("revoked"))
            result.status = .revoked
            return result
        }
        if !revoked.isEmpty { committer.enqueue(results: revoked) }
    }

    /// `rate_limit`: sets the running worker's limit for one task; `0` or an empty limit turns it off.
    private func rateLimit(_ arguments: ControlArguments) throws -> JSONValue {
        let name = try arguments.requiredString("task_name")
        guard catalog[name] != nil else { return ["error": "unknown task"] }
        // Flower sends a bare number as a string ("200"), Python's `rate_limit(t, 0)` a number.
        let text =
            switch arguments.fields["rate_limit"] {
            case .integer, .unsigned, .number: arguments.fields["rate_limit"]?.jsonText ?? ""
            default: try arguments.string("rate_limit") ?? ""
            }
        let rate: RateLimit?
        if text.isEmpty || Double(text) == 0 {
            rate = nil
        } else {
            guard let parsed = RateLimit(text) else {
                throw ControlArguments.Invalid("Invalid rate limit string: '\(text)'")
            }
            rate = parsed
        }
        limitOverrides.withLock { $0.rates[name] = .some(rate) }
        limiter.reset(name)
        logger.info("remote control: rate limit of \(name) is \(rate?.celeryText ?? "off")")
        return ["ok": rate == nil ? "rate limit disabled successfully" : "new rate limit set successfully"]
    }

    /// `time_limit`: sets both limits of one task; a missing or null one clears it.
    private func timeLimit(_ arguments: ControlArguments) throws -> JSONValue {
        let name = try arguments.requiredString("task_name")
        guard catalog[name] != nil else { return ["error": "unknown task"] }
        let soft = try arguments.double("soft")
        let hard = try arguments.double("hard")
        for (label, value) in [("soft", soft), ("hard", hard)] {
            if let value, !(value > 0 && value <= Seconds.limit) {
                throw ControlArguments.Invalid("the \(label) time limit must be above 0 and at most \(Seconds.limit)")
            }
        }
        limitOverrides.withLock { $0.timeLimits[name] = (soft, hard) }
        return ["ok": "time limits set successfully"]
    }

    /// `pool_grow` and `pool_shrink`: the state machine decides; new slots start here.
    private func resize(grow: Bool, by n: Int) -> JSONValue {
        let decision = state.withLock { grow ? $0.machine.grow(by: n) : $0.machine.shrink(by: n) }
        switch decision {
        case .refused(let reason): return ["error": .string(reason)]
        case .resized(let concurrency, let newSlots):
            if newSlots > 0 { newSlotsContinuation.yield(newSlots) }
            // Wake idle slots: a shrink's extra slots retire when they look for work.
            if !grow { for _ in 0..<n { readyPermits.release() } }
            changed.signal()
            logger.info("remote control: concurrency is now \(concurrency)")
            return ["ok": grow ? "pool will grow" : "pool will shrink"]
        }
    }

    /// `pool_restart`: Celery's checks in Celery's order (enabled, then a pool that can restart). The worker
    /// processes run this worker's binary, so there are no `modules` to import or `reload`: the fresh processes
    /// start from the binary as it is on disk now.
    private func poolRestart(_ arguments: ControlArguments) throws -> JSONValue {
        _ = try arguments.strings("modules")
        _ = try arguments.bool("reload")
        guard configuration.poolRestarts else { return ["error": "ValueError('Pool restarts not enabled')"] }
        guard executor.restart() else {
            return [
                "error": .string(
                    "NotImplementedError('the \(configuration.pool.rawValue) pool does not implement restart: only "
                        + "the processes pool has processes to replace')")
            ]
        }
        logger.info("remote control: restarting the pool's worker processes")
        return ["ok": "reload started"]
    }

    // MARK: Shapes

    private func scheduled(_ job: Job) -> JSONValue {
        [
            "eta": job.message.eta.map { .string(ISODate.format($0)) } ?? nil,
            "priority": 6,
            "request": describe(job.message, acknowledged: false),
        ]
    }

    /// Celery's task info; with `safe`, the arguments as Python's repr, as a Celery worker gives them.
    private func describe(_ message: TaskMessage, acknowledged: Bool, started: Date? = nil, safe: Bool = false)
        -> JSONValue
    {
        [
            "id": .string(message.id), "name": .string(message.task), "type": .string(message.task),
            "args": safe ? .string(PythonRepr.tuple(message.args)) : .array(message.args),
            "kwargs": safe ? .string(PythonRepr.of(.object(message.kwargs))) : .object(message.kwargs),
            "hostname": .string(configuration.name), "acknowledged": .bool(acknowledged),
            "time_start": started.map { .number($0.timeIntervalSince1970) } ?? nil,
            "worker_pid": started == nil ? .null : .integer(Int64(getpid())),
            "delivery_info": [
                "exchange": "", "routing_key": .string(message.queue), "priority": .integer(Int64(message.priority)),
                "redelivered": .bool(message.redelivered),
            ],
        ]
    }

    private static func queueDescription(_ queue: String) -> JSONValue {
        [
            "name": .string(queue),
            "exchange": [
                "name": .string(queue), "type": "direct", "arguments": nil, "durable": true, "passive": false,
                "auto_delete": false, "delivery_mode": nil, "no_declare": false,
            ],
            "routing_key": .string(queue),
            "durable": true, "exclusive": false, "auto_delete": false, "no_ack": false, "alias": nil, "bindings": [],
            "no_declare": nil, "expires": nil, "message_ttl": nil, "max_length": nil, "max_length_bytes": nil,
            "max_priority": nil, "queue_arguments": nil, "binding_arguments": nil, "consumer_arguments": nil,
        ]
    }
}

/// A command's arguments, read leniently as Celery reads them: Flower sends `"terminate": 1`, tests send `"max": "10"`.
struct ControlArguments {
    /// An argument of the wrong type; the answer is `{"error": message}`.
    struct Invalid: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    let fields: [String: JSONValue]

    init(_ fields: [String: JSONValue]) { self.fields = fields }

    private func value(_ key: String) -> JSONValue? {
        guard let value = fields[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.stringValue else {
            throw Invalid("\(key) must be a string, got \(value.jsonText)")
        }
        return text
    }

    func requiredString(_ key: String) throws -> String {
        guard let text = try string(key), !text.isEmpty else { throw Invalid("missing argument \(key)") }
        return text
    }

    func int(_ key: String) throws -> Int? {
        guard let value = value(key) else { return nil }
        if let number = value.intValue ?? value.stringValue.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
            return number
        }
        throw Invalid("invalid literal for int() with base 10: \(value.jsonText)")
    }

    func double(_ key: String) throws -> Double? {
        guard let value = value(key) else { return nil }
        if let number = value.doubleValue ?? value.stringValue.flatMap({ Double($0) }), number.isFinite {
            return number
        }
        throw Invalid("could not convert \(key) to float: \(value.jsonText)")
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        switch value {
        case .bool(let flag): return flag
        case .integer, .unsigned, .number: return value.doubleValue != 0
        case .string(let text): return ["1", "true", "yes", "on"].contains(text.lowercased())
        default: throw Invalid("\(key) must be true or false, got \(value.jsonText)")
        }
    }

    /// A string or a list of strings, as `task_id` and `ids` may be.
    func strings(_ key: String) throws -> [String]? {
        guard let value = value(key) else { return nil }
        switch value {
        case .string(let text): return [text]
        case .array(let values):
            return try values.map { element in
                guard let text = element.stringValue else {
                    throw Invalid("\(key) must be a list of strings, got \(value.jsonText)")
                }
                return text
            }
        default: throw Invalid("\(key) must be a string or a list of strings, got \(value.jsonText)")
        }
    }
}

/// The signal names `revoke --terminate` accepts, with or without `SIG`, as Celery's `signal_name`.
enum TerminationSignal {
    static let names: Set<String> = [
        "TERM", "KILL", "INT", "QUIT", "HUP", "USR1", "USR2", "ABRT", "ALRM",
    ]

    static func isKnown(_ name: String) -> Bool {
        let upper = name.uppercased()
        return names.contains(upper.hasPrefix("SIG") ? String(upper.dropFirst(3)) : upper)
    }
}

/// Python's `repr` of JSON values: what a Celery worker shows for `inspect active(safe=True)`.
enum PythonRepr {
    static func tuple(_ values: [JSONValue]) -> String {
        values.count == 1 ? "(\(of(values[0])),)" : "(\(values.map(of).joined(separator: ", ")))"
    }

    static func of(_ value: JSONValue) -> String {
        switch value {
        case .string(let text):
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
            return "'\(escaped)'"
        case .bool(let flag): return flag ? "True" : "False"
        case .null: return "None"
        case .array(let values): return "[\(values.map(of).joined(separator: ", "))]"
        case .object(let members):
            return "{"
                + members.sorted { $0.key < $1.key }.map { "\(of(.string($0.key))): \(of($0.value))" }
                .joined(separator: ", ") + "}"
        default: return value.jsonText
        }
    }
}

extension RateLimit {
    /// Celery's spelling of the rate: `10/s`, `100/m` or `1000/h`.
    var celeryText: String {
        for (unit, seconds) in [("s", 1.0), ("m", 60.0), ("h", 3600.0)] {
            let count = perSecond * seconds
            if count >= 1, abs(count - count.rounded()) < 1e-6 { return "\(Int(count.rounded()))/\(unit)" }
        }
        return "\(perSecond)/s"
    }
}
