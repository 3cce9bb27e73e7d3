import Foundation
import Simul
import SimulBrokers
import SimulJSON
import SimulProcessSupport
import SimulQueue
import SimulRedisTestSupport
import SimulTasks
import SimulTestSupport
import Testing

/// A worker, a beat and a Hummingbird app with the dashboard mounted in its router, in one `ServiceGroup`, in a
/// process of their own, stopped by SIGTERM: the work in flight finishes, what was prefetched goes back to the queue,
/// and the process exits 0.
@Suite(.timeLimit(.minutes(2)))
struct ServiceGroupTests {
    @Test func sigtermFinishesWorkInFlightAndPutsThePrefetchedBack() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simul-group-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = "sqlite://\(directory.path)/queue.sqlite"
        let queue = try QueueConnection(broker: url)
        let client = QueueClient(broker: queue.broker, backend: queue.backend)
        var ids: [String] = []
        for _ in 0..<10 { ids.append(try await client.send("simul.sleep", args: [3]).id) }

        let app = Process()
        app.executableURL = URL(fileURLWithPath: builtExecutable("SimulServiceTestApp"))
        app.arguments = [url]
        let output = Pipe()
        app.standardOutput = output
        app.standardError = FileHandle.nullDevice
        try app.run()
        defer { if app.isRunning { app.interrupt() } }
        let listening = try #require(try output.fileHandleForReading.readLine())
        #expect(listening.hasPrefix("listening on "), "\(listening)")
        let port = try #require(Int(listening.dropFirst("listening on ".count)))

        // Two running (concurrency 2) and two more prefetched (prefetch 2 × 2 = 4 held).
        try await waitUntil("two tasks started and four held", timeout: .seconds(60)) {
            let started = try await queue.backend.results(for: ids).values.filter { $0.status == .started }.count
            let waiting = try await queue.broker.require(.queueAdministration).queueLengths()["celery"]
            return started == 2 && waiting == 6
        }
        // The dashboard in the app's router shows the queue's page, linked under its path.
        let page = try await onOwnThread {
            try BlockingHTTP.get("http://127.0.0.1:\(port)/ops/queues", timeout: .seconds(10))
        }
        let html = String(decoding: page, as: UTF8.self)
        #expect(html.contains(#"href="/ops/tasks""#))
        #expect(html.contains("<td>celery</td>"))
        app.terminate()
        await app.exited()
        #expect(app.terminationReason == .exit)
        #expect(app.terminationStatus == 0)
        #expect(try output.fileHandleForReading.readLine() == "stopped")

        // The two running when SIGTERM came finished (more, if the machine was slow enough for them to finish
        // before the signal arrived); every other task is back in the queue, and none is left half-run.
        let results = try await queue.backend.results(for: ids)
        let succeeded = results.values.filter { $0.status == .success }.count
        #expect(succeeded >= 2)
        #expect(results.values.filter { $0.status == .started }.isEmpty)
        #expect(try await queue.broker.require(.queueAdministration).queueLengths()["celery"] == 10 - succeeded)
        await queue.close()
    }
}
