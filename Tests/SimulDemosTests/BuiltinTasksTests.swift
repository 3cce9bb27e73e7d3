import Foundation
import Simul
import SimulDemos
import SimulQueue
import SimulSQLite
import Testing

/// The fault suite's built-in tasks: `simul.record` in process, `simul.crash` in a real processes pool.
@Suite(.timeLimit(.minutes(2))) struct BuiltinTasksTests {
    let catalog = BuiltinTasks.catalog

    static func scratchFile() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("simul-record-\(UUID())").path
    }

    func record(_ args: [JSONValue], as id: String) async throws -> JSONValue {
        let context = TaskContext(id: id, name: "simul.record", retries: 0, hostname: "test@host")
        return try await TaskContext.$current.withValue(context) { try await catalog.call("simul.record", args: args) }
    }

    @Test func recordAppendsOneLinePerExecution() async throws {
        let path = Self.scratchFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try await record([.string(path)], as: "first") == "first")
        #expect(try await record([.string(path), 0.01], as: "second") == "second")
        #expect(try await record([.string(path)], as: "first") == "first")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "first\nsecond\nfirst\n")
    }

    @Test func recordRefusesBadInput() async throws {
        let missing = TaskError(type: "OSError", message: "[Errno 2] No such file or directory: '/no/such/dir/x'")
        await #expect(throws: missing) {
            try await record(["/no/such/dir/x"], as: "id")
        }
        await #expect(throws: TaskError.valueError("seconds must be a number of seconds from 0 up to 3155760000 (100 years), got -1.0")) {
            try await record([.string(Self.scratchFile()), -1], as: "id")
        }
        await #expect(throws: TaskError.typeError("simul.record() argument 'path' must be String, got 123")) {
            try await record([123], as: "id")
        }
        await #expect(throws: TaskError(
            type: "RuntimeError", message: "simul.record records its task id, so it runs only as a queued task")) {
            try await catalog.call("simul.record", args: [.string(Self.scratchFile())])
        }
    }

    @Test func crashRefusesAnUnknownKindWithoutCrashing() async throws {
        let unknown = TaskError.valueError("unknown crash kind 'gently' (use trap, segfault, exit, alloc, loop)")
        await #expect(throws: unknown) {
            try await catalog.call("simul.crash", args: ["gently"])
        }
    }

    /// Each crash fails only its own task, with the signal or exit code, and the worker keeps serving.
    @Test(arguments: [
        ("trap", "was killed by signal"), ("segfault", "was killed by signal 11 (SIGSEGV, a segmentation fault)"),
        ("exit", "exited with code 3"), ("alloc", "was killed by signal"),
    ])
    func crashFailsOnlyItsTaskInTheProcessesPool(kind: String, expected: String) async throws {
        let broker = try SQLiteBroker(path: QueueProcessTests.brokerPath())
        let (worker, running) = QueueProcessTests.processesWorker(broker)
        let client = QueueClient(broker: broker, backend: broker)
        let crash = try await client.send("simul.crash", args: [.string(kind)])
        do {
            _ = try await crash.get(timeout: .seconds(60))
            Issue.record("expected the crash to fail the task")
        } catch let error as TaskError {
            #expect(error.type == "WorkerLostError")
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(error.message.hasSuffix("while running 'simul.crash'"), "\(error.message)")
        }
        #expect(try await client.send("simul.add", args: [2, 3]).get(timeout: .seconds(60)) == 5)
        worker.shutdown()
        try await running.value
    }

    @Test func crashLoopIsEndedByTheHardTimeLimit() async throws {
        let broker = try SQLiteBroker(path: QueueProcessTests.brokerPath())
        let (worker, running) = QueueProcessTests.processesWorker(broker)
        let client = QueueClient(broker: broker, backend: broker)
        var options = SendOptions()
        options.hardTimeLimit = 0.5
        let loop = try await client.send("simul.crash", args: ["loop"], options: options)
        do {
            _ = try await loop.get(timeout: .seconds(60))
            Issue.record("expected TimeLimitExceeded")
        } catch let error as TaskError {
            #expect(error.type == "TimeLimitExceeded")
            #expect(error.message == "0.5")
        }
        #expect(try await client.send("simul.add", args: [2, 3]).get(timeout: .seconds(60)) == 5)
        worker.shutdown()
        try await running.value
    }
}
