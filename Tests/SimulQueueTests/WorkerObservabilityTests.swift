import CoreMetrics
import Foundation
import Logging
import MetricsTestKit
import Simul
import SimulJSON
import SimulQueue
import SimulQueueTestSupport
import SimulTestSupport
import Synchronization
import Testing

/// Task-scoped log metadata and the worker's swift-metrics.
@Suite(.timeLimit(.minutes(3))) struct WorkerObservabilityTests {
    /// Keeps the metadata of every line logged through it.
    final class CapturedLines: Sendable {
        let lines = Mutex<[Logger.Metadata]>([])

        func handler(label: String) -> some LogHandler {
            Handler(lines: self, metadataProvider: .simulTask)
        }

        struct Handler: LogHandler {
            let lines: CapturedLines
            var metadataProvider: Logger.MetadataProvider?
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .trace

            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }

            func log(event: LogEvent) {
                let provided = metadataProvider?.get() ?? [:]
                lines.lines.withLock { $0.append(provided.merging(event.metadata ?? [:]) { _, new in new }) }
            }
        }
    }

    @Test(arguments: WorkerConfiguration.Pool.allCases.filter { $0 != .processes })
    func aTasksOwnLoggerCarriesTheTask(pool: WorkerConfiguration.Pool) async throws {
        let captured = CapturedLines()
        var catalog = QueueHarness.catalog
        catalog.register("t.log", parameters: ["x"]) { (x: Int) -> Int in
            Logger(label: "user", factory: captured.handler).info("running")
            return x
        }
        catalog.register("t.alog", parameters: ["x"]) { (x: Int) async -> Int in
            await Task.yield()
            Logger(label: "user", factory: captured.handler).info("running")
            return x
        }
        let queue = QueueHarness(catalog: catalog) { $0.pool = pool }
        let blocking = try await queue.client.send("t.log", args: [1])
        let async = try await queue.client.send("t.alog", args: [2])
        #expect(try await blocking.get(timeout: .seconds(30)) == 1)
        #expect(try await async.get(timeout: .seconds(30)) == 2)
        try await queue.stop()
        let lines = captured.lines.withLock { $0 }
        #expect(lines.count == 2)
        for (line, (result, name)) in zip(
            lines.sorted { "\($0["task_name"] ?? "")" < "\($1["task_name"] ?? "")" },
            [(async, "t.alog"), (blocking, "t.log")])
        {
            #expect(line["task_id"] == .string(result.id))
            #expect(line["task_name"] == .string(name))
            #expect(line["queue"] == "celery")
            #expect(line["worker"] == "test@host")
            #expect(line["task_retries"] == "0")
        }
    }

    /// A processes pool's worker process binds the task's metadata again from what crosses the pipe, for blocking
    /// and async tasks alike.
    @Test(arguments: ["t.meta", "t.ameta"])
    func aTaskInAPoolProcessCarriesItsMetadata(task: String) throws {
        var catalog = TaskCatalog()
        catalog.register("t.meta") { () -> JSONValue in Self.current() }
        catalog.register("t.ameta") { () async -> JSONValue in
            await Task.yield()
            return Self.current()
        }
        var registry = TaskRegistry()
        QueueProcessTask.install(catalog, into: &registry)
        // As the worker sends it down the pipe.
        let sent = #"{"name":"\#(task)","args":"[]","kwargs":"{}","id":"abc","retries":2,"hostname":"w@h","queue":"q"}"#
        let input = try JSONDecoder().decode(QueueProcessTask.Input.self, from: Data(sent.utf8))
        guard case .success(let metadata) = try QueueProcessTask.run(input) else {
            Issue.record("\(task) did not succeed")
            return
        }
        let expected: JSONValue = [
            "task_id": "abc", "task_name": .string(task), "task_retries": "2", "queue": "q", "worker": "w@h",
        ]
        #expect(metadata == expected)
    }

    /// The running task's log metadata, as JSON.
    static func current() -> JSONValue {
        .object((TaskLogMetadata.current?.metadata ?? [:]).mapValues { .string("\($0)") })
    }

    @Test func outsideATaskThereIsNoTaskMetadata() {
        #expect(Logger.MetadataProvider.simulTask.get().isEmpty)
    }

    @Test func theWorkerCountsWhatBecomesOfEachTask() async throws {
        let metrics = TestMetrics()
        let queue = withMetricsFactory(metrics) {
            QueueHarness {
                $0.metricsInterval = .milliseconds(20)
                $0.maxMessageSize = 4_096
            }
        }
        let added = try await queue.client.send("t.add", args: [1, 2])
        let failed = try await queue.client.send("t.fail", args: ["no"])
        let flaky = try await queue.client.send("t.flaky", args: [1])
        var past = SendOptions()
        past.expires = Date().addingTimeInterval(-1)
        let expired = try await queue.client.send("t.add", args: [1, 2], options: past)
        try await queue.broker.send([TaskMessage(task: "t.xsum", args: [.string(String(repeating: "x", count: 5_000))])]
        )
        #expect(try await added.get(timeout: .seconds(30)) == 3)
        #expect(try await flaky.get(timeout: .seconds(30)) == 1)
        _ = try? await failed.get(timeout: .seconds(30))
        _ = try? await expired.get(timeout: .seconds(30))
        try await waitUntil("the dead letter is counted") {
            (try? metrics.expectCounter("simul_tasks_total", Self.labels("t.xsum", "dead_lettered")))?.totalValue == 1
        }
        func count(_ name: String, _ status: String, exception: String? = nil) throws -> Int64 {
            var labels = Self.labels(name, status)
            if let exception { labels.append(("exception", exception)) }
            return try metrics.expectCounter("simul_tasks_total", labels).totalValue
        }
        #expect(try count("t.add", "received") == 2)
        #expect(try count("t.add", "started") == 1)
        #expect(try count("t.add", "succeeded") == 1)
        #expect(try count("t.add", "revoked") == 1)
        #expect(try count("t.fail", "failed", exception: "ValueError") == 1)
        #expect(try count("t.flaky", "retried") == 1)
        #expect(try count("t.flaky", "succeeded") == 1)
        #expect(try count("t.flaky", "received") == 2)
        let runtime = try metrics.expectTimer("simul_task_duration_seconds", Self.labels("t.add", "succeeded"))
        #expect(runtime.values.count == 1)
        // From the sent time of the first run, and from the ETA of the retry.
        let wait = try metrics.expectTimer(
            "simul_task_queued_duration_seconds", [("name", "t.flaky"), ("queue", "celery")])
        #expect(wait.values.count == 2)
        try await waitUntil("the gauges settle") {
            let depth = try? metrics.expectMeter("simul_queue_depth", [("queue", "celery")])
            let age = try? metrics.expectMeter("simul_queue_oldest_age_seconds", [("queue", "celery")])
            let running = try? metrics.expectMeter("simul_worker_tasks", [("status", "running")])
            return depth?.lastValue == 0 && age?.lastValue == 0 && running?.lastValue == 0
        }
        try await queue.stop()
    }

    static func labels(_ name: String, _ status: String) -> [(String, String)] {
        [("name", name), ("queue", "celery"), ("status", status)]
    }
}
