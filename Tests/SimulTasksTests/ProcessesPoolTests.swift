import Foundation
import Simul
import SimulJSON
@testable import SimulQueue
import SimulQueueTestSupport
import SimulSQLite
import SimulTasks
import SimulTestSupport
import Testing

/// The built-in tasks in a worker's processes pool: each task runs in a `simul` process, so a crash or a kill ends
/// only that process.
@Suite(.timeLimit(.minutes(5))) struct ProcessesPoolTests {
    /// Runs `body` with a worker on a fresh SQLite file and a processes pool of two `simul` processes, then stops
    /// the worker.
    static func withProcessesQueue(
        configure: (inout WorkerConfiguration) -> Void = { _ in }, _ body: (QueueHarness) async throws -> Void
    ) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let broker = try SQLiteBroker(path: scratch.file("queue.sqlite"))
        let queue = QueueHarness(catalog: BuiltinTasks.catalog, broker: broker) {
            $0.pool = .processes
            $0.concurrency = 2
            $0.processPool.workerExecutable = simulExecutable
            configure(&$0)
        }
        do {
            try await body(queue)
        } catch {
            try? await queue.stop()
            throw error
        }
        try await queue.stop()
    }

    /// The pipe carries arguments and results as JSON text, and big integers stay exact.
    @Test func bigIntegersStayExact() async throws {
        try await Self.withProcessesQueue { queue in
            let exact = try await queue.client.send("simul.add", args: BuiltinTasksTests.args("[9007199254740993, 0]"))
            #expect(try await exact.get(timeout: .seconds(60)) == .integer(9_007_199_254_740_993))
            let big = try await queue.client.send(
                "simul.add", args: BuiltinTasksTests.args("[1180591620717411303424, 1]"))
            let error = await #expect(throws: TaskError.self) { try await big.get(timeout: .seconds(60)) }
            #expect(error?.type == "OverflowError")
            #expect(error?.message == "simul.add(): 1180591620717411303424 \(BuiltinTasksTests.outsideInt64)")
        }
    }

    /// A typed task runs in a pool process as on any worker: a typed send, Python-style positional arguments, and
    /// a failure with its type.
    @Test func aTypedTaskRunsInAPoolProcess() async throws {
        try await Self.withProcessesQueue { queue in
            let typed = try await queue.client.send(Divmod.self, .init(dividend: -7, divisor: 2))
            #expect(try await typed.get(timeout: .seconds(60)) == Divmod.Output(quotient: -4, remainder: 1))
            let positional = TypedResult<Divmod.Output>(try await queue.client.send("simul.divmod", args: [17, 5]))
            #expect(try await positional.get(timeout: .seconds(60)) == Divmod.Output(quotient: 3, remainder: 2))
            let zero = try await queue.client.send(Divmod.self, .init(dividend: 1, divisor: 0))
            let error = await #expect(throws: TaskError.self) { try await zero.get(timeout: .seconds(60)) }
            #expect(error?.type == "ZeroDivisionError")
        }
    }

    /// Each crash fails only its own task, with the signal or exit code, and the worker keeps serving.
    @Test(arguments: [
        ("trap", "was killed by signal"), ("segfault", "was killed by signal 11 (SIGSEGV, a segmentation fault)"),
        ("exit", "exited with code 3"), ("alloc", "was killed by signal"),
    ])
    func aCrashFailsOnlyItsTask(kind: String, expected: String) async throws {
        try await Self.withProcessesQueue { queue in
            let crash = try await queue.client.send("simul.crash", args: [.string(kind)])
            let error = await #expect(throws: TaskError.self) { try await crash.get(timeout: .seconds(60)) }
            #expect(error?.type == "WorkerLostError")
            #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
            #expect(error?.message.hasSuffix("while running 'simul.crash'") == true, "\(error?.message ?? "")")
            #expect(try await queue.client.send("simul.add", args: [2, 3]).get(timeout: .seconds(60)) == 5)
        }
    }

    /// A task past its hard time limit, asleep or spinning, is killed with its process, and the worker keeps serving.
    @Test(arguments: [("simul.sleep", [60]), ("simul.crash", ["loop"])] as [(String, [JSONValue])])
    func aTaskPastItsHardTimeLimitIsKilled(task: String, args: [JSONValue]) async throws {
        try await Self.withProcessesQueue { queue in
            var options = SendOptions()
            options.hardTimeLimit = 0.5
            let slow = try await queue.client.send(task, args: args, options: options)
            let error = await #expect(throws: TaskError.self) { try await slow.get(timeout: .seconds(60)) }
            #expect(error?.type == "TimeLimitExceeded")
            #expect(error?.message == "0.5")
            #expect(try await queue.client.send("simul.add", args: [2, 3]).get(timeout: .seconds(60)) == 5)
        }
    }

    /// A task in a pool process stores its own state: it crosses the pipe, and the worker stores PROGRESS with its
    /// meta while the task runs, then SUCCESS. A call that does not fit fails with its reason, as in other pools.
    @Test func aTaskInAPoolProcessStoresItsOwnState() async throws {
        try await Self.withProcessesQueue { queue in
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let gate = scratch.file("gate")
            let progress = try await queue.client.send("simul.progress", args: [2, 0, .string(gate)])
            try await waitUntil("PROGRESS stored") { try await progress.state() == "PROGRESS" }
            let stored = try #require(try await progress.result())
            #expect(stored.status == TaskState(rawValue: "PROGRESS"))
            #expect(stored.result == ["current": 1, "total": 2])
            #expect(stored.dateDone == nil)
            #expect(FileManager.default.createFile(atPath: gate, contents: nil))
            #expect(try await progress.get(timeout: .seconds(60)) == 2)
            #expect(try await progress.state() == .success)
            let events = try await queue.broker.events(after: 0, limit: 1_000).events.filter {
                $0.taskId == progress.id
            }
            #expect(
                events.map(\.type).filter { $0 != "task-received" }
                    == ["task-started", "task-progress", "task-progress", "task-succeeded"])
            #expect(events.filter { $0.type == "task-progress" }.map { $0.fields["current"] } == [1, 2])

            let zero = try await queue.client.send("simul.progress", args: [0, 0])
            let error = await #expect(throws: TaskError.self) { try await zero.get(timeout: .seconds(60)) }
            #expect(error?.type == "ValueError")
            #expect(error?.message == "total must be at least 1, got 0")
        }
    }

    /// The pids `stats` lists for the pool's processes.
    static func processes(_ queue: QueueHarness) -> Set<Int> {
        Set(
            queue.worker.answer(ControlRequest(method: "stats"))?["pool"]?["processes"]?.arrayValue?.compactMap(
                \.intValue) ?? [])
    }

    /// With restarts on, `pool_restart` replaces the pool's processes: a task running through it finishes in its old
    /// process, the next ones run in new processes, and every task succeeds. A bad argument is an error.
    @Test func poolRestartReplacesTheProcessesAndLosesNothing() async throws {
        try await Self.withProcessesQueue(configure: { $0.poolRestarts = true }) { queue in
            let scratch = try ScratchDirectory()
            defer { scratch.remove() }
            let gate = scratch.file("gate")
            let running = try await queue.client.send("simul.progress", args: [2, 0, .string(gate)])
            try await waitUntil("running") { try await running.state() == "PROGRESS" }
            #expect(try await queue.client.send("simul.add", args: [1, 2]).get(timeout: .seconds(60)) == 3)
            try await waitUntil("two processes") { Self.processes(queue).count == 2 }
            let before = Self.processes(queue)

            let restart = ControlRequest(
                method: "pool_restart", arguments: ["modules": .null, "reload": false, "reloader": .null])
            #expect(queue.worker.answer(restart) == ["ok": "reload started"])
            var sums: [AsyncResult] = []
            for n in 0..<10 { sums.append(try await queue.client.send("simul.add", args: [.integer(Int64(n)), 1])) }
            for (n, sum) in sums.enumerated() {
                #expect(try await sum.get(timeout: .seconds(60)) == .integer(Int64(n + 1)))
            }
            #expect(!Self.processes(queue).isSubset(of: before))

            #expect(FileManager.default.createFile(atPath: gate, contents: nil))
            #expect(try await running.get(timeout: .seconds(60)) == 2)
            try await waitUntil("the old processes exited") { before.isDisjoint(with: Self.processes(queue)) }
            #expect(try await queue.client.send("simul.mul", args: [6, 7]).get(timeout: .seconds(60)) == 42)

            let bad = ControlRequest(method: "pool_restart", arguments: ["modules": 5])
            #expect(queue.worker.answer(bad) == ["error": "modules must be a string or a list of strings, got 5"])
        }
    }

    /// Without `poolRestarts`, Celery's error, on any pool; with it, the pools without processes answer Celery's
    /// `NotImplementedError`.
    @Test(arguments: WorkerConfiguration.Pool.allCases)
    func poolRestartIsRefusedWhenItCannotApply(pool: WorkerConfiguration.Pool) async throws {
        let restart = ControlRequest(method: "pool_restart", arguments: ["reload": false])
        let off = QueueHarness(catalog: BuiltinTasks.catalog) {
            $0.pool = pool
            $0.processPool.workerExecutable = simulExecutable
        }
        #expect(off.worker.answer(restart) == ["error": "ValueError('Pool restarts not enabled')"])
        try await off.stop()
        guard pool != .processes else { return }
        let on = QueueHarness(catalog: BuiltinTasks.catalog) {
            $0.pool = pool
            $0.poolRestarts = true
        }
        #expect(
            on.worker.answer(restart) == [
                "error": .string(
                    "NotImplementedError('the \(pool.rawValue) pool does not implement restart: only the processes "
                        + "pool has processes to replace')")
            ])
        try await on.stop()
    }

    @Test func aRevokeTerminatesARunningTask() async throws {
        try await Self.withProcessesQueue { queue in
            let slow = try await queue.client.send("simul.sleep", args: [60])
            try await waitUntil("running") { queue.worker.stats.active == 1 }
            try await queue.client.revoke([slow.id], terminate: true)
            let error = await #expect(throws: TaskError.self) { try await slow.get(timeout: .seconds(30)) }
            #expect(error?.type == "TaskRevokedError")
            #expect(error?.message == "terminated")
            #expect(try await slow.state() == .revoked)
            #expect(try await queue.client.send("simul.mul", args: [6, 7]).get(timeout: .seconds(30)) == 42)
        }
    }
}
