import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SimulJSON
import SimulQueue
import Testing

@testable import SimulDashboard

@Suite("Dashboard JSON API, metrics and live updates", .timeLimit(.minutes(3)))
struct APITests {
    @Test func workers() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/api/workers", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                let workers = try JSONDecoder.iso.decode([WorkerView].self, from: Data(response.body.readableBytesView))
                #expect(workers.map(\.hostname) == ["py@host", "simul@host"])
                #expect(workers[0].software == "py-celery 5.7.0")
                #expect(workers[0].processed == 7)
                #expect(workers[0].activeTasks == [Fixture.running])
                #expect(workers[1].pool == "threads")
                #expect(workers[1].concurrency == 4)
            }
        }
    }

    @Test func taskDetail() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/api/tasks/\(Fixture.added)", method: .get) { response in
                #expect(response.status == .ok)
                let detail = try JSONDecoder.iso.decode(TaskDetail.self, from: Data(response.body.readableBytesView))
                #expect(detail.task.state == .success)
                #expect(detail.result == "5")
                #expect(detail.children == [Fixture.child])
                #expect(detail.task.args == "[2, 3]")
                #expect(detail.timeline.keys.sorted() == ["RECEIVED", "STARTED", "SUCCESS"])
            }
        }
    }

    @Test func unknownAndMalformedTaskIds() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/api/tasks/88888888-8888-4888-8888-888888888888", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(
                    response.text
                        == #"{"error":"no task 88888888-8888-4888-8888-888888888888 in the events or the result backend"}"#
                )
            }
            try await client.execute(uri: "/api/tasks/a%20b", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.text == #"{"error":"'a b' is not a task id"}"#)
            }
        }
    }

    @Test func tasksAndBadPage() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/api/tasks?state=FAILURE", method: .get) { response in
                let page = try JSONDecoder.iso.decode(TaskPage.self, from: Data(response.body.readableBytesView))
                #expect(page.tasks.map(\.id) == [Fixture.failed])
                #expect(page.tasks.first?.outcome == "ValueError('boom')")
            }
            try await client.execute(uri: "/api/tasks?page=-1", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.text == #"{"error":"page must be a whole number from 1 to 1000000, got '-1'"}"#)
            }
        }
    }

    /// `HEAD` has the status and headers of `GET` and no body, on pages, the API, the probes, a stream and a 404.
    @Test(arguments: ["/healthz", "/tasks", "/api/tasks?state=FAILURE", "/metrics", "/nowhere", "/api/nowhere"])
    func headIsAnsweredWhereGetIs(path: String) async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            let get = try await client.execute(uri: path, method: .get)
            #expect(get.body.readableBytes > 0)
            try await client.execute(uri: path, method: .head) { response in
                #expect(response.status == get.status)
                #expect(response.body.readableBytes == 0)
                #expect(response.headers[.contentType] == get.headers[.contentType])
                #expect(response.headers[.contentLength] == String(get.body.readableBytes))
                #expect(response.headers[.contentSecurityPolicy] == get.headers[.contentSecurityPolicy])
            }
        }
    }

    @Test func headOfTheEventStreamDoesNotStartIt() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/events", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                #expect(response.body.readableBytes == 0)
            }
        }
    }

    @Test func headOnALiveServer() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.live) { client in
            try await client.execute(uri: "/healthz", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentLength] == String(#"{"status":"ok"}"#.utf8.count))
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.text == #"{"status":"ok"}"#)
            }
        }
    }

    @Test func queues() async throws {
        let fixture = try await Fixture()
        try await fixture.broker.send([TaskMessage(task: "simul.add", args: [1, 2], queue: "fast")])
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/api/queues", method: .get) { response in
                #expect(response.text == #"[{"name":"fast","waiting":1}]"#)
            }
        }
    }

    @Test func metricsExposition() async throws {
        let fixture = try await Fixture()
        try await fixture.broker.send([TaskMessage(task: "simul.add", args: [1, 2], queue: "celery")])
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                let lines = response.text.split(separator: "\n").map(String.init)
                #expect(lines.contains(#"simul_tasks{state="SUCCESS",name="simul.add"} 1"#))
                #expect(lines.contains(#"simul_tasks{state="FAILURE",name="pytasks.fail"} 1"#))
                #expect(lines.contains(#"simul_tasks{state="STARTED",name="pytasks.slow"} 1"#))
                #expect(lines.contains(#"simul_task_runtime_seconds_bucket{name="simul.add",le="0.005"} 1"#))
                #expect(lines.contains(#"simul_task_runtime_seconds_bucket{name="simul.echo",le="0.5"} 1"#))
                #expect(lines.contains(#"simul_task_runtime_seconds_bucket{name="simul.echo",le="+Inf"} 1"#))
                #expect(lines.contains(#"simul_task_runtime_seconds_count{name="simul.echo"} 1"#))
                #expect(lines.contains(#"simul_queue_length{queue="celery"} 1"#))
                #expect(lines.contains("# TYPE simul_task_runtime_seconds histogram"))
                #expect(lines.contains { $0.hasPrefix("simul_workers_online ") })
            }
        }
    }

    @Test(arguments: [("plain", "plain"), ("a\"b", "a\\\"b"), ("a\\b", "a\\\\b"), ("a\nb", "a\\nb")])
    func metricLabelsAreEscaped(raw: String, escaped: String) {
        #expect(PrometheusText.escapeLabel(raw) == escaped)
    }

    @Test(arguments: [(1.0, "1"), (0.25, "0.25"), (Double.infinity, "+Inf"), (Double.nan, "NaN"), (-3, "-3")])
    func metricValues(value: Double, text: String) {
        #expect(PrometheusText.format(value) == text)
    }

    @Test func serverSentEvents() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/events?max=1", method: .get) { response in
                #expect(response.headers[.contentType] == "text/event-stream")
                let text = response.text
                #expect(text.hasPrefix("event: update\ndata: {"))
                #expect(text.hasSuffix("}\n\n"))
                let json = text.dropFirst("event: update\ndata: ".count).dropLast(2)
                let summary = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
                #expect(summary["version"]?.intValue == Fixture.events().count)
                #expect(summary["tasks"]?["FAILURE"]?.intValue == 1)
            }
        }
    }

    @Test func updatesFollowNewEvents() async throws {
        let fixture = try await Fixture()
        var updates = fixture.dashboard.monitor.updates().makeAsyncIterator()
        let first = await updates.next()
        #expect(first == Fixture.events().count)
        try await fixture.broker.commit(
            BrokerCommit(events: [QueueEvent("worker-heartbeat", hostname: "late@host", at: .now)]))
        #expect(try await fixture.dashboard.monitor.poll() == 1)
        #expect(await updates.next() == Fixture.events().count + 1)
        #expect(fixture.dashboard.monitor.snapshot.cluster.workers["late@host"] != nil)
    }

    @Test func anUnreachableBrokerIsA503WithOneLine() async throws {
        let broker = UnreachableBroker()
        let dashboard = try Dashboard(broker: broker, backend: broker)
        await #expect(throws: UnreachableBroker.Down.self) { try await dashboard.monitor.poll() }
        try await Application(router: dashboard.router()).test(.router) { client in
            try await client.execute(uri: "/api/queues", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.text == #"{"error":"cannot reach the broker: connection refused"}"#)
            }
            try await client.execute(uri: "/queues", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.text.contains("cannot reach the broker: connection refused"))
            }
            try await client.execute(uri: "/api/workers", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.text == "[]")
            }
        }
    }

    @Test func aCapabilityTheBrokerLacksIsA501NamingIt() async throws {
        let broker = FeedOnlyBroker()
        let dashboard = try Dashboard(broker: broker, backend: broker.inner)
        try await Application(router: dashboard.router()).test(.router) { client in
            try await client.execute(uri: "/api/dead-letters", method: .get) { response in
                #expect(response.status == .notImplemented)
                #expect(response.text == #"{"error":"the feed-only broker has no dead letters"}"#)
            }
            try await client.execute(uri: "/queues", method: .get) { response in
                #expect(response.status == .notImplemented)
                #expect(response.text.contains("the feed-only broker has no queue counts or purges"))
            }
            try await client.execute(uri: "/api/workers", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
        let client = QueueClient(broker: broker, backend: broker.inner)
        await #expect(throws: QueueError.unsupported(transport: "feed-only", capability: "stored revocations")) {
            try await client.revoke([TaskID.make()])
        }
    }

    @Test func aDashboardNeedsAnEventFeed() async throws {
        let broker = CoreOnlyBroker()
        #expect(throws: QueueError.unsupported(transport: "core-only", capability: "an event feed")) {
            try Dashboard(broker: broker, backend: broker.inner)
        }
        #expect(broker.remoteControl == nil && broker.deadLetterStore == nil && broker.revocationStore == nil)
        let memory: any Broker = broker.inner
        #expect(memory.deadLetterStore != nil && memory.eventFeed != nil && memory.remoteControl == nil)
        #expect(throws: QueueError.self) { try memory.require(.remoteControl) }
    }

    @Test func assetsAreServedFromTheBinary() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/assets/dashboard.js", method: .get) { response in
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect(response.text.contains("EventSource"))
                #expect(!response.text.contains("http"))
            }
            try await client.execute(uri: "/assets/dashboard.css", method: .get) { response in
                #expect(response.status == .ok)
                #expect(!response.text.contains("url("))
            }
        }
    }
}
