import Foundation
import Logging
import SimulJSON
import SimulQueue
import SimulQueueTestSupport
import SimulTestSupport
import Synchronization
import Testing
import Tracing

/// Spans of sending, running and storing, and the trace context that travels in the message headers.
@Suite(.timeLimit(.minutes(2))) struct WorkerTracingTests {
    /// Keeps the spans a ``TraceContextTracer`` finishes.
    final class Spans: Sendable {
        let finished = Mutex<[TraceContextTracer.FinishedSpan]>([])
        var tracer: TraceContextTracer { TraceContextTracer { span in self.finished.withLock { $0.append(span) } } }

        /// The finished spans, once one named `name` has ended.
        func waitFor(_ name: String) async throws -> [TraceContextTracer.FinishedSpan] {
            try await waitUntil("a span \(name)") { finished.withLock { $0.contains { $0.name == name } } }
            return finished.withLock { $0 }
        }
    }

    /// Keeps the messages of the lines logged through it.
    final class Lines: Sendable {
        let messages = Mutex<[String]>([])

        var logger: Logger { Logger(label: "test") { _ in Handler(lines: self) } }

        struct Handler: LogHandler {
            let lines: Lines
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .trace

            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }

            func log(event: LogEvent) { lines.messages.withLock { $0.append("\(event.message)") } }
        }
    }

    static let pythonParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    /// A client's send, the first step's run, its send of the next step, and that step's run are one trace, each
    /// span the parent of the next, with Python's names and the messaging attributes.
    @Test func aChainIsOneTraceFromTheClientThroughEachStep() async throws {
        let spans = Spans()
        try await withTracer(spans.tracer) {
            let queue = QueueHarness()
            let result = try await queue.client.chain([
                Signature("t.add", args: [1, 2]), Signature("t.mul", args: [10]),
            ])
            #expect(try await result.get(timeout: .seconds(30)) == 30)
            _ = try await spans.waitFor("run/t.mul")
            try await queue.stop()
        }
        let finished = spans.finished.withLock { $0 }
        func span(_ name: String) throws -> TraceContextTracer.FinishedSpan {
            try #require(finished.first { $0.name == name }, "no span \(name) in \(finished.map(\.name))")
        }
        let send = try span("apply_async/t.add")
        let run = try span("run/t.add")
        let next = try span("apply_async/t.mul")
        let last = try span("run/t.mul")
        #expect(send.parentSpanID == nil)
        #expect(run.parentSpanID == send.spanID)
        #expect(next.parentSpanID == run.spanID)
        #expect(last.parentSpanID == next.spanID)
        #expect(Set([send, run, next, last].map(\.traceID)) == [send.traceID])
        #expect((send.kind, run.kind, next.kind, last.kind) == (.producer, .consumer, .producer, .consumer))
        #expect(send.attributes["messaging.operation.type"]?.toSpanAttribute() == "send")
        #expect(next.attributes["messaging.operation.type"]?.toSpanAttribute() == "create")
        #expect(run.attributes["messaging.system"]?.toSpanAttribute() == "celery")
        #expect(run.attributes["messaging.destination.name"]?.toSpanAttribute() == "celery")
        #expect(
            run.attributes["messaging.message.id"]?.toSpanAttribute()
                == send.attributes["messaging.message.id"]?.toSpanAttribute())
        #expect(run.attributes["celery.task_name"]?.toSpanAttribute() == "t.add")
        #expect(run.attributes["celery.action"]?.toSpanAttribute() == "run")
        #expect(run.attributes["celery.state"]?.toSpanAttribute() == "SUCCESS")
        #expect(run.attributes["celery.hostname"]?.toSpanAttribute() == "test@host")
        let stores = finished.filter { $0.name == "store_results" }
        #expect(!stores.isEmpty)
        for store in stores {
            #expect(store.traceID == send.traceID)
            #expect([run.spanID, last.spanID].contains(store.parentSpanID))
        }
    }

    /// A failed task's span says so.
    @Test func aFailedRunIsAnError() async throws {
        let spans = Spans()
        try await withTracer(spans.tracer) {
            let queue = QueueHarness()
            let result = try await queue.client.send("t.fail", args: ["boom"])
            _ = try? await result.get(timeout: .seconds(30))
            _ = try await spans.waitFor("run/t.fail")
            try await queue.stop()
        }
        let run = try #require(spans.finished.withLock { $0 }.first { $0.name == "run/t.fail" })
        #expect(run.attributes["celery.state"]?.toSpanAttribute() == "FAILURE")
        #expect(run.status?.code == .error)
        #expect(run.status?.message == "ValueError: boom")
    }

    /// The context a traced Python client writes, at the top of the headers or in the nested `headers` object that
    /// Sentry and dd-trace write, parents the run span, and the spans of what it sends carry its `tracestate`.
    @Test(arguments: [false, true]) func aPythonClientsContextParentsTheRun(nested: Bool) async throws {
        let spans = Spans()
        var message = TaskMessage(task: "t.add", args: [2, 3])
        message.chain = [Signature("t.mul", args: [2])]
        let context: [String: JSONValue] = ["traceparent": .string(Self.pythonParent), "tracestate": "vendor=opaque"]
        message.otherHeaders = nested ? ["headers": .object(context)] : context
        let broker = MemoryBroker()
        try await broker.send([message])
        try await withTracer(spans.tracer) {
            let queue = QueueHarness(broker: broker)
            #expect(try await queue.client.result(message.id).get(timeout: .seconds(30)) == 5)
            _ = try await spans.waitFor("apply_async/t.mul")
            try await queue.stop()
        }
        let finished = spans.finished.withLock { $0 }
        let run = try #require(finished.first { $0.name == "run/t.add" })
        #expect(run.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(run.parentSpanID == "00f067aa0ba902b7")
        let next = try #require(finished.first { $0.name == "apply_async/t.mul" })
        #expect(next.traceID == run.traceID)
        #expect(next.parentSpanID == run.spanID)
    }

    /// A malformed `traceparent` is ignored, and said once per worker, not per message; the tasks run, each in a
    /// trace of its own, beside a good one that is followed.
    @Test func aMalformedTraceparentIsIgnoredAndSaidOnce() async throws {
        let spans = Spans()
        let lines = Lines()
        let bad = [
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "not a traceparent",
        ]
        var messages = bad.enumerated().map { index, header in
            var message = TaskMessage(task: "t.add", id: "bad-\(index)", args: [.integer(Int64(index)), 1])
            message.otherHeaders = ["traceparent": .string(header)]
            return message
        }
        var good = TaskMessage(task: "t.add", id: "good", args: [1, 1])
        good.otherHeaders = ["traceparent": .string(Self.pythonParent)]
        messages.append(good)
        let broker = MemoryBroker()
        try await broker.send(messages)
        try await withTracer(spans.tracer) {
            var configuration = WorkerConfiguration()
            configuration.name = "test@host"
            configuration.concurrency = 1
            let worker = Worker(
                catalog: QueueHarness.catalog, broker: broker, backend: broker, configuration: configuration,
                logger: lines.logger)
            let running = Task { try await worker.run() }
            let client = QueueClient(broker: broker, backend: broker)
            for message in messages {
                let sum = (message.args[0].intValue ?? 0) + 1
                #expect(try await client.result(message.id).get(timeout: .seconds(30)) == .integer(Int64(sum)))
            }
            worker.shutdown()
            try await running.value
        }
        let runs = spans.finished.withLock { $0 }.filter { $0.name == "run/t.add" }
        #expect(runs.count == 4)
        for run in runs where run.attributes["messaging.message.id"]?.toSpanAttribute() != "good" {
            #expect(run.parentSpanID == nil)
            #expect(run.traceID != "4bf92f3577b34da6a3ce929d0e0e4736")
        }
        let followed = try #require(runs.first { $0.attributes["messaging.message.id"]?.toSpanAttribute() == "good" })
        #expect(followed.parentSpanID == "00f067aa0ba902b7")
        let said = lines.messages.withLock { $0 }.filter { $0.contains("traceparent") }
        #expect(
            said == [
                "ignoring the malformed traceparent '\(bad[0])' of task t.add[bad-0]: its span starts a new trace (said once per worker)"
            ])
    }

    /// With no tracer, a sent message carries no trace header.
    @Test func withNoTracerNothingIsInjected() async throws {
        let broker = MemoryBroker()
        let client = QueueClient(broker: broker, backend: broker)
        let sent = try await client.send("t.add", args: [1, 2])
        let deliveries = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(30), timeout: .seconds(1))
        let message = try MessageCodec.decode(try #require(deliveries.first).body)
        #expect(message.id == sent.id)
        #expect(message.otherHeaders.isEmpty)
    }

    /// What a W3C receiver accepts, and what it refuses.
    @Test(arguments: [
        (pythonParent, true), ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future", true),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", false),
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false), ("", false),
    ])
    func traceparentParsing(text: String, valid: Bool) {
        let parsed = TraceParent(text)
        #expect((parsed != nil) == valid)
        if text == Self.pythonParent { #expect(parsed?.text == text) }
    }
}
