import Foundation
import Simul
import SimulJSON
import SimulQueue
import SimulSQLite
import SimulTestSupport
import Testing

/// The queue with real processes: `simul worker` processes on one SQLite file.
@Suite(.timeLimit(.minutes(5))) struct QueueProcessTests {
    static func startWorker(_ path: String, name: String, extra: [String] = []) throws -> Process {
        try startSimul(["worker", "--broker", "sqlite://\(path)", "-n", name, "--lease", "3"] + extra)
    }

    @Test func killingAWorkerMidRunLosesNothing() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("queue.sqlite")
        let broker = try SQLiteBroker(path: path)
        let client = QueueClient(broker: broker, backend: broker)
        let count = 10_000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for producer in 0..<16 {
                group.addTask {
                    for _ in stride(from: producer, to: count, by: 16) {
                        try await client.send("simul.sleep", args: [0.001])
                    }
                }
            }
            try await group.waitForAll()
        }
        let concurrency = 4
        let prefetch = concurrency * 4
        let first = try Self.startWorker(path, name: "first@test", extra: ["-c", "\(concurrency)"])
        try await waitUntil("a quarter done", timeout: .seconds(120)) {
            try await broker.resultCounts()[.success, default: 0] >= count / 4
        }
        kill(first.processIdentifier, SIGKILL)
        await first.exited()
        let doneWhenKilled = try await broker.resultCounts()[.success, default: 0]
        let second = try Self.startWorker(path, name: "second@test", extra: ["-c", "\(concurrency)"])
        defer { second.terminate() }
        try await waitUntil("every task succeeded", timeout: .seconds(120)) {
            try await broker.resultCounts()[.success, default: 0] == count
        }
        #expect(try await broker.queueLengths().values.reduce(0, +) == 0)
        // The second worker receives again what the first held when it died: those are the only possible duplicates.
        let state = try await ClusterState.load(from: broker)
        var redelivered = 0
        var cursor: Int64 = 0
        while true {
            let (events, next) = try await broker.events(after: cursor, limit: 5_000)
            redelivered += events.filter { $0.type == "task-received" && $0.fields["redelivered"] == .bool(true) }.count
            if events.isEmpty { break }
            cursor = next
        }
        print(
            "kill -9 test: \(count) sent, \(doneWhenKilled) done when the first worker was killed, "
                + "\(count) SUCCESS in the end, \(redelivered) redelivered (bound \(prefetch + concurrency)), "
                + "workers seen: \(state.workers.keys.sorted())")
        #expect(redelivered >= 1)
        #expect(redelivered <= prefetch + concurrency)
        second.terminate()
        await second.exited()
        #expect(second.terminationStatus == 0)
    }
}
