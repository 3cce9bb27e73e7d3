import Foundation
import Simul
import SimulDemos
import SimulQueue
import SimulSQLite
import Testing

/// The queue with real processes: `simul worker` processes on one SQLite file, and the processes pool.
@Suite(.timeLimit(.minutes(5))) struct QueueProcessTests {
    /// A fresh broker file in its own directory.
    static func brokerPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("simul-queue-\(UUID())/queue.sqlite").path
    }

    static func startWorker(_ path: String, name: String, extra: [String] = []) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: simulExecutable)
        process.arguments = ["worker", "--broker", "sqlite://\(path)", "-n", name, "--lease", "3"] + extra
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func eventually(_ what: String, seconds: Double = 120, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw QueueError.timeout("never happened: \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func killingAWorkerMidRunLosesNothing() async throws {
        let path = Self.brokerPath()
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
        try await Self.eventually("a quarter done") {
            try await broker.resultCounts()[.success, default: 0] >= count / 4
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let doneWhenKilled = try await broker.resultCounts()[.success, default: 0]
        let second = try Self.startWorker(path, name: "second@test", extra: ["-c", "\(concurrency)"])
        defer { second.terminate() }
        try await Self.eventually("every task succeeded") {
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
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
    }

    static func processesWorker(_ broker: SQLiteBroker) -> (Worker, Task<Void, any Error>) {
        var configuration = WorkerConfiguration()
        configuration.pool = .processes
        configuration.concurrency = 2
        configuration.revocationInterval = .milliseconds(20)
        configuration.processPool.workerExecutable = simulExecutable
        let worker = Worker(
            catalog: BuiltinTasks.catalog, broker: broker, backend: broker, configuration: configuration)
        return (worker, Task { try await worker.run() })
    }

    @Test func processesPoolKillsATaskPastItsHardTimeLimitAndKeepsServing() async throws {
        let broker = try SQLiteBroker(path: Self.brokerPath())
        let (worker, running) = Self.processesWorker(broker)
        let client = QueueClient(broker: broker, backend: broker)
        var options = SendOptions()
        options.hardTimeLimit = 0.5
        let slow = try await client.send("simul.sleep", args: [60], options: options)
        do {
            _ = try await slow.get(timeout: .seconds(30))
            Issue.record("expected TimeLimitExceeded")
        } catch let error as TaskError {
            #expect(error.type == "TimeLimitExceeded")
        }
        #expect(try await client.send("simul.add", args: [2, 3]).get(timeout: .seconds(30)) == 5)
        worker.shutdown()
        try await running.value
    }

    @Test func processesPoolTerminatesARevokedRunningTask() async throws {
        let broker = try SQLiteBroker(path: Self.brokerPath())
        let (worker, running) = Self.processesWorker(broker)
        let client = QueueClient(broker: broker, backend: broker)
        let slow = try await client.send("simul.sleep", args: [60])
        try await Self.eventually("running", seconds: 30) { worker.stats.active == 1 }
        try await client.revoke([slow.id], terminate: true)
        do {
            _ = try await slow.get(timeout: .seconds(30))
            Issue.record("expected a revocation")
        } catch let error as TaskError {
            #expect(error.type == "TaskRevokedError")
            #expect(error.message == "terminated")
        }
        #expect(try await slow.state() == .revoked)
        #expect(try await client.send("simul.mul", args: [6, 7]).get(timeout: .seconds(30)) == 42)
        worker.shutdown()
        try await running.value
    }
}

@Suite(.timeLimit(.minutes(2))) struct QueueDemoTests {
    @Test func handsTasksToAWorkerProcessAndRunsTheChain() async throws {
        let report = try await QueueDemo().run(in: quietContext())
        #expect(report.runs.map(\.model) == ["sequential", "queue", "chain"])
        #expect(report.run("queue")?.results == [0.2, 0.2, 0.2, 0.2])
        #expect(report.summary["chain_result"] == 35)
        let handedOver = try #require(report.summary["handed_over_s"]?.doubleValue)
        let wall = try #require(report.run("queue")?.wall_s)
        #expect(handedOver < wall)
    }
}
