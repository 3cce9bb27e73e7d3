import Foundation
import Logging
import SimulJSON
import SimulQueue
import SimulQueueTestSupport
import Synchronization
import Testing

/// Task-scoped log metadata.
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

    @Test func outsideATaskThereIsNoTaskMetadata() {
        #expect(Logger.MetadataProvider.simulTask.get().isEmpty)
    }
}
