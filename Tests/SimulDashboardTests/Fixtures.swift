import Foundation
import Hummingbird
import HummingbirdTesting
import SimulJSON
import SimulQueue

@testable import SimulDashboard

/// A memory broker with a Simul worker, a Python Celery worker and a few tasks in its events, one failed and one
/// whose arguments are a script tag.
struct Fixture {
    static let xss = "<script>alert(1)</script>"
    static let added = "11111111-1111-4111-8111-111111111111"
    static let failed = "22222222-2222-4222-8222-222222222222"
    static let hostile = "33333333-3333-4333-8333-333333333333"
    static let running = "44444444-4444-4444-8444-444444444444"
    static let child = "55555555-5555-4555-8555-555555555555"

    let broker = MemoryBroker()
    let dashboard: Dashboard

    init(token: String? = nil, host: String = "127.0.0.1", sessions: SessionTable = SessionTable()) async throws {
        dashboard = try Dashboard(
            broker: broker, backend: broker, configuration: DashboardConfiguration(host: host, port: 0, token: token),
            sessions: sessions)
        try await broker.commit(BrokerCommit(events: Self.events()))
        var result = TaskResult(taskId: Self.added, status: .success, result: 5)
        result.children = [[[.string(Self.child), nil], nil]]
        result.name = "simul.add"
        try await broker.store([
            result,
            TaskResult.failure(
                taskId: Self.failed,
                TaskError(type: "ValueError", message: "boom", traceback: "Traceback: ValueError('boom') <b>bold</b>")),
        ])
        try await dashboard.monitor.poll()
    }

    static func events() -> [QueueEvent] {
        let simul = "simul@host"
        let python = "py@host"
        return [
            QueueEvent(
                "worker-online", hostname: simul, at: .now,
                [
                    "freq": 2, "active": 0, "processed": 0, "loadavg": [0.5, 0.25, 0.1], "sw_ident": "simul",
                    "sw_ver": "0.1", "pool": "threads", "concurrency": 4, "queues": ["celery"],
                ]),
            // Python Celery's heartbeat: no pool, no concurrency, a loadavg list.
            QueueEvent(
                "worker-heartbeat", hostname: python, at: .now,
                [
                    "freq": 2.0, "active": 1, "processed": 7, "loadavg": [1.5, 1.0, 0.5], "sw_ident": "py-celery",
                    "sw_ver": "5.7.0", "sw_sys": "Linux",
                ]),
            QueueEvent(
                "task-received", hostname: simul, at: .now,
                ["uuid": .string(added), "name": "simul.add", "args": "[2, 3]", "kwargs": "{}", "retries": 0]),
            QueueEvent("task-started", hostname: simul, at: .now, ["uuid": .string(added)]),
            QueueEvent(
                "task-succeeded", hostname: simul, at: .now, ["uuid": .string(added), "result": "5", "runtime": 0.002]),
            QueueEvent(
                "task-received", hostname: python, at: .now,
                ["uuid": .string(failed), "name": "pytasks.fail", "args": "('boom',)", "kwargs": "{}"]),
            QueueEvent("task-started", hostname: python, at: .now, ["uuid": .string(failed)]),
            QueueEvent(
                "task-failed", hostname: python, at: .now,
                [
                    "uuid": .string(failed), "exception": "ValueError('boom')",
                    "traceback": "Traceback (most recent call last):\n  raise ValueError(message)\nValueError: boom",
                ]),
            QueueEvent(
                "task-received", hostname: simul, at: .now,
                [
                    "uuid": .string(hostile), "name": "simul.echo",
                    "args": .string(JSONValue.array([.string(xss)]).jsonText),
                    "kwargs": .string(JSONValue.object(["note": .string(xss)]).jsonText),
                ]),
            QueueEvent(
                "task-succeeded", hostname: simul, at: .now,
                ["uuid": .string(hostile), "result": .string("\"\(xss)\""), "runtime": 0.5]),
            QueueEvent(
                "task-received", hostname: python, at: .now,
                ["uuid": .string(running), "name": "pytasks.slow", "args": "(10,)", "parent_id": .string(added)]),
            QueueEvent("task-started", hostname: python, at: .now, ["uuid": .string(running)]),
        ]
    }

    /// The routes under test, as the server runs them (`HEAD` included).
    var application: some ApplicationProtocol { Application(responder: dashboard.responder()) }
}

extension TestResponse {
    var text: String { String(buffer: body) }
}
