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
            let answer = answer(request)
            guard request.replyTo != nil else { continue }
            do {
                try await broker.reply(to: request, from: configuration.name, with: answer)
            } catch {
                logger.warning("cannot answer the remote-control command '\(request.method)': \(error)")
            }
        }
    }

    /// The answer to one command, in the shape Celery's workers give.
    func answer(_ request: ControlRequest) -> JSONValue {
        switch request.method {
        case "ping": return ["ok": "pong"]
        case "stats": return statsAnswer()
        case "active":
            return .array(state.withLock { $0.running.values.map { describe($0.message, acknowledged: true) } })
        case "reserved":
            return .array(
                state.withLock { $0.machine.readyJobs }.map { describe($0.message, acknowledged: false) })
        case "scheduled":
            return .array(
                state.withLock { $0.machine.scheduledJobs }.map { job in
                    [
                        "eta": job.message.eta.map { .string(ISODate.format($0)) } ?? nil,
                        "priority": .integer(Int64(job.message.priority)),
                        "request": describe(job.message, acknowledged: false),
                    ]
                })
        case "revoked":
            let now = clock.now
            let ids = state.withLock { $0.machine.revoked.revocations(after: 0, now: now) }.map(\.id)
            return .array(ids.sorted().map(JSONValue.string))
        case "registered": return .array(catalog.names.map(JSONValue.string))
        case "active_queues": return .array(configuration.queues.map(Self.queueDescription))
        case "conf": return [:]
        case "hello": return ["revoked": [:], "clock": 0]
        case "revoke": return revoke(request.arguments)
        case "heartbeat":
            committer.enqueue(events: [workerEvent("worker-heartbeat")])
            return ["ok": "heartbeat sent"]
        case "enable_events", "disable_events": return ["ok": .string("task events are set by --no-events")]
        default: return ["error": .string("No such method: \(request.method)")]
        }
    }

    private func revoke(_ arguments: [String: JSONValue]) -> JSONValue {
        let ids: [String] =
            switch arguments["task_id"] {
            case .string(let id)?: [id]
            case .array(let values)?: values.compactMap(\.stringValue)
            default: []
            }
        guard !ids.isEmpty else { return ["error": "revoke needs task_id"] }
        let terminate = arguments["terminate"] == .bool(true)
        let now = clock.now
        applyRevocations(ids.map { Revocation(id: $0, terminate: terminate, at: now) })
        return ["ok": .string("tasks \(ids.joined(separator: ", ")) flagged as revoked")]
    }

    private func statsAnswer() -> JSONValue {
        let processed = state.withLock { $0.machine.processed }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let seconds = { (time: timeval) in Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return [
            "broker": ["transport": .string(broker.transport)],
            "clock": "0",
            "pid": .integer(Int64(getpid())),
            "pool": [
                "implementation": .string(configuration.pool.rawValue),
                "max-concurrency": .integer(Int64(configuration.concurrency)),
                "processes": [.integer(Int64(getpid()))],
            ],
            "prefetch_count": .integer(Int64(configuration.prefetch)),
            "rusage": [
                "utime": .number(seconds(usage.ru_utime)), "stime": .number(seconds(usage.ru_stime)),
                "maxrss": .integer(Int64(usage.ru_maxrss)),
            ],
            "total": ["processed": .integer(Int64(processed))],
            "uptime": .integer(Int64(clock.now.timeIntervalSince(started).rounded())),
        ]
    }

    private func describe(_ message: TaskMessage, acknowledged: Bool) -> JSONValue {
        [
            "id": .string(message.id), "name": .string(message.task), "type": .string(message.task),
            "args": .array(message.args), "kwargs": .object(message.kwargs), "hostname": .string(configuration.name),
            "acknowledged": .bool(acknowledged), "time_start": nil, "worker_pid": .integer(Int64(getpid())),
            "delivery_info": [
                "exchange": "", "routing_key": .string(message.queue), "priority": .integer(Int64(message.priority)),
                "redelivered": .bool(message.redelivered),
            ],
        ]
    }

    private static func queueDescription(_ queue: String) -> JSONValue {
        [
            "name": .string(queue), "exchange": ["name": .string(queue), "type": "direct"],
            "routing_key": .string(queue),
            "durable": true, "exclusive": false, "auto_delete": false, "no_ack": false, "alias": nil, "bindings": [],
            "no_declare": nil, "expires": nil, "message_ttl": nil, "max_length": nil, "max_length_bytes": nil,
            "max_priority": nil, "queue_arguments": nil, "binding_arguments": nil, "consumer_arguments": nil,
        ]
    }
}
