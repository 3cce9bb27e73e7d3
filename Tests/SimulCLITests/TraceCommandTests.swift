import Foundation
import SimulJSON
import SimulQueue
import SimulSQLite
import Testing

/// `simul send` with `SIMUL_TRACE_FILE`: its own span, continuing the trace OpenTelemetry passes in `TRACEPARENT`,
/// and the context its message carries on.
@Suite(.timeLimit(.minutes(2))) struct TraceCommandTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simul-trace-\(UUID())").path

    @Test func sendContinuesTheTraceInTRACEPARENT() async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let spansFile = "\(directory)/spans.jsonl"
        let queue = "\(directory)/queue.sqlite"
        let run = try await QueueCommandTests.simul(
            ["send", "simul.add", "--args", "[1, 2]", "--broker", "sqlite://\(queue)"],
            environment: [
                "SIMUL_TRACE_FILE": spansFile,
                "TRACEPARENT": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ])
        #expect(run.status == 0, "\(run.error)")
        let id = run.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let contents = try String(contentsOfFile: spansFile, encoding: .utf8)
        let spans = try contents.split(separator: "\n").map { try JSONValue(parsing: Data($0.utf8)) }
        #expect(spans.map { $0["name"]?.stringValue } == ["apply_async/simul.add", "simul send"])
        let send = try #require(spans.first { $0["name"] == "simul send" })
        let apply = try #require(spans.first { $0["name"] == "apply_async/simul.add" })
        #expect(send["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(send["parent_span_id"] == "00f067aa0ba902b7")
        #expect(apply["trace_id"] == send["trace_id"])
        #expect(apply["parent_span_id"] == send["span_id"])
        #expect(apply["kind"] == "producer")
        #expect(apply["attributes"]?["messaging.message.id"] == .string(id))
        #expect(apply["attributes"]?["messaging.destination.name"] == "celery")
        let broker = try SQLiteBroker(path: queue)
        let received = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(30), timeout: .seconds(5))
        let message = try MessageCodec.decode(try #require(received.first).body)
        await broker.close()
        let spanID = try #require(apply["span_id"]?.stringValue)
        #expect(message.otherHeaders["traceparent"] == .string("00-4bf92f3577b34da6a3ce929d0e0e4736-\(spanID)-01"))
    }

    @Test func aTraceFileThatCannotBeOpenedIsOneLine() async throws {
        let run = try await QueueCommandTests.simul(
            ["send", "simul.add", "--broker", "sqlite://\(directory)/queue.sqlite"],
            environment: ["SIMUL_TRACE_FILE": "\(directory)/missing/spans.jsonl"])
        #expect(run.status == 1)
        #expect(
            run.error
                == "Error: SIMUL_TRACE_FILE: cannot open '\(directory)/missing/spans.jsonl': No such file or directory\n"
        )
    }

    @Test func aWorkerTakesOneWayOfTracing() async throws {
        let run = try await QueueCommandTests.simul(
            ["worker", "--broker", "sqlite://\(directory)/queue.sqlite"],
            environment: [
                "SIMUL_TRACE_FILE": "\(directory)/spans.jsonl", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
            ])
        #expect(run.status == 1)
        #expect(run.error == "Error: set SIMUL_TRACE_FILE or OTEL_EXPORTER_OTLP_ENDPOINT, not both\n")
    }
}
