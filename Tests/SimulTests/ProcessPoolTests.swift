import CSimulShims
import Foundation
import Simul
import SimulTestSupport
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(3))) struct ProcessPoolTests {
    @Test func runsTasksAndReturnsTheirOutput() async throws {
        let pool = ProcessPool(TestTasks.configuration())
        #expect(try await pool.run(Add.self, Pair(x: 2, y: 3)) == 5)
        let futures = (0..<200).map { pool.submit(Square.self, $0) }
        for (n, future) in futures.enumerated() { #expect(try await future.value == n * n) }
        await pool.shutdown()
    }

    @Test func aThrownErrorArrivesWithItsTypeAndMessage() async throws {
        let pool = ProcessPool(TestTasks.configuration())
        let error = await #expect(throws: ProcessPoolError.self) { try await pool.run(Fail.self, "bad input 7") }
        #expect(error?.remoteType == "SimulTestSupport.TaskFailure")
        #expect(error?.description == "'SimulTestSupport.Fail' failed with SimulTestSupport.TaskFailure: bad input 7")
        #expect(try await pool.run(Square.self, 4) == 16)
        await pool.shutdown()
    }

    struct Crash: Sendable, CustomTestStringConvertible {
        var name: String
        var run: @Sendable (ProcessPool) async throws -> Int
        var signal: Int32?
        var exitCode: Int32?
        var testDescription: String { name }
    }

    static let crashes = [
        Crash(name: "trap", run: { try await $0.run(Trap.self, 5) }, signal: SIGILL),
        Crash(name: "segfault", run: { try await $0.run(Segfault.self, 0) }, signal: SIGSEGV),
        Crash(name: "exit(3)", run: { try await $0.run(Exit.self, 3) }, exitCode: 3),
    ]

    @Test(arguments: crashes)
    func aCrashFailsOnlyItsOwnTask(crash: Crash) async throws {
        let pool = ProcessPool(TestTasks.configuration(workers: 1))
        let before = (0..<20).map { pool.submit(Square.self, $0) }
        let error = await #expect(throws: ProcessPoolError.self) { _ = try await crash.run(pool) }
        let after = (0..<20).map { pool.submit(Square.self, $0) }
        #expect(error?.signal == crash.signal)
        #expect(error?.exitCode == crash.exitCode)
        #expect(
            error?.task
                == "SimulTestSupport.\(crash.name == "exit(3)" ? "Exit" : crash.name == "trap" ? "Trap" : "Segfault")")
        for (n, future) in (before + after).enumerated() { #expect(try await future.value == (n % 20) * (n % 20)) }
        await pool.shutdown()
    }

    @Test func aCrashMessageNamesTheSignal() async throws {
        let pool = ProcessPool(TestTasks.configuration(workers: 1))
        let error = await #expect(throws: ProcessPoolError.self) { try await pool.run(Segfault.self, 0) }
        let message = try #require(error?.description)
        #expect(message.hasPrefix("worker "))
        #expect(
            message.hasSuffix(
                "was killed by signal 11 (SIGSEGV, a segmentation fault) while running 'SimulTestSupport.Segfault'"))
        await pool.shutdown()
    }

    @Test func aHungTaskTimesOutAndThePoolKeepsServing() async throws {
        var configuration = TestTasks.configuration(workers: 1)
        configuration.taskTimeout = .milliseconds(300)
        let pool = ProcessPool(configuration)
        let hung = pool.submit(Hang.self, 0)
        let next = pool.submit(Square.self, 9)
        let error = await #expect(throws: ProcessPoolError.self) { try await hung.value }
        #expect(error?.description == "'SimulTestSupport.Hang' ran past its 300 ms timeout")
        #expect(try await next.value == 81)
        await pool.shutdown()
    }

    @Test func breakPoolPolicyFailsEveryPendingFuture() async throws {
        var configuration = TestTasks.configuration(workers: 1)
        configuration.crashPolicy = .breakPool
        let pool = ProcessPool(configuration)
        let crash = pool.submit(Exit.self, 3)
        let others = (0..<10).map { pool.submit(Square.self, $0) }
        await #expect(throws: ProcessPoolError.self) { try await crash.value }
        for future in others {
            let error = await #expect(throws: ProcessPoolError.self) { try await future.value }
            #expect(error?.description.hasPrefix("the process pool is broken: worker ") == true)
        }
        let late = await #expect(throws: ProcessPoolError.self) { try await pool.run(Square.self, 1) }
        #expect(late?.description.hasPrefix("the process pool is broken") == true)
        await pool.shutdown()
    }

    @Test func anUnknownTaskIsRejectedByName() async throws {
        struct NotInTheWorker: ProcessTask {
            static func run(_ input: Int) -> Int { input }
        }
        let pool = ProcessPool(TestTasks.configuration())
        let error = await #expect(throws: ProcessPoolError.self) { try await pool.run(NotInTheWorker.self, 1) }
        #expect(error?.hasSameKind(as: .unknownTask("", detail: "")) == true)
        #expect(error?.description.hasPrefix("no task named 'SimulTests.ProcessPoolTests.") == true)
        #expect(try await pool.run(Square.self, 3) == 9)
        await pool.shutdown()
    }

    @Test func anInputThatFailsToDecodeIsReported() async throws {
        struct Impostor: ProcessTask {
            static let name = Add.name
            static func run(_ input: String) -> Int { 0 }
        }
        let pool = ProcessPool(TestTasks.configuration())
        let error = await #expect(throws: ProcessPoolError.self) { try await pool.run(Impostor.self, "two") }
        #expect(error?.hasSameKind(as: .decoding(task: "", message: "")) == true)
        #expect(
            error?.description
                == "input for 'SimulTestSupport.Add' is not a Pair: expected Dictionary<String, Any> at the top level")
        await pool.shutdown()
    }

    @Test func workersAreRecycledAfterMaxTasksPerChild() async throws {
        var configuration = TestTasks.configuration(workers: 1)
        configuration.maxTasksPerChild = 3
        let pool = ProcessPool(configuration)
        var pids: [Int32] = []
        for _ in 0..<9 { pids.append(try await pool.run(WorkerPID.self, 0)) }
        #expect(Set(pids).count == 3)
        #expect(pids[0] == pids[2] && pids[3] == pids[5] && pids[6] == pids[8])
        #expect(pids[0] != pids[3] && pids[3] != pids[6])
        await pool.shutdown()
    }

    /// What a task sends while it runs reaches `updates` in order, before its output; a sender kept past its call
    /// sends nothing, and outside a worker process there is no sender.
    @Test func aTaskSendsUpdatesBeforeItsOutput() async throws {
        let pool = ProcessPool(TestTasks.configuration(workers: 1))
        let received = Mutex<[String]>([])
        let record: @Sendable (Data) -> Void = { data in
            received.withLock { $0.append(String(decoding: data, as: UTF8.self)) }
        }
        #expect(try await pool.run(Report.self, 3, updates: record) == nil)
        #expect(received.withLock { $0 } == ["1", "2", "3"])
        let late = try await pool.run(Report.self, 1) { data in
            received.withLock { $0.append("second call: " + String(decoding: data, as: UTF8.self)) }
        }
        #expect(late == false)
        #expect(received.withLock { $0 } == ["1", "2", "3", "second call: 1"])
        #expect(ProcessTaskUpdates.current == nil)
        await pool.shutdown()
    }

    /// A restart replaces every worker once its tasks are done: a task running through it finishes in its old
    /// process, the next tasks run in new ones, and nothing is lost.
    @Test func aRestartReplacesTheWorkersAfterTheirTasks() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let gate = scratch.file("gate")
        let pool = ProcessPool(TestTasks.configuration(workers: 2))
        let running = pool.submit(WaitForFile.self, gate)
        _ = try await pool.run(WorkerPID.self, 0)
        try await waitUntil("both workers started") { pool.workerPIDs.count == 2 }
        let before = Set(pool.workerPIDs)
        pool.restart()
        var after: [Int32] = []
        for _ in 0..<6 { after.append(try await pool.run(WorkerPID.self, 0)) }
        #expect(before.isDisjoint(with: after))
        #expect(FileManager.default.createFile(atPath: gate, contents: nil))
        #expect(before.contains(try await running.value))
        try await waitUntil("the old workers exited") { before.isDisjoint(with: pool.workerPIDs) }
        let squares = (0..<20).map { pool.submit(Square.self, $0) }
        for (n, future) in squares.enumerated() { #expect(try await future.value == n * n) }
        #expect(before.isDisjoint(with: pool.workerPIDs))
        await pool.shutdown()
    }

    @Test func theInitializerRunsInEveryWorker() async throws {
        var configuration = TestTasks.configuration(workers: 2)
        try configuration.setInitializer(Initialize.self, 40)
        let pool = ProcessPool(configuration)
        #expect(try await pool.run(Initialized.self, 2) == 42)
        await pool.shutdown()
    }

    @Test func aFailingInitializerBreaksThePool() async throws {
        var configuration = TestTasks.configuration(workers: 1)
        try configuration.setInitializer(Initialize.self, -1)
        let pool = ProcessPool(configuration)
        let error = await #expect(throws: ProcessPoolError.self) { try await pool.run(Square.self, 2) }
        #expect(
            error?.description
                == "the process pool is broken: initializer 'SimulTestSupport.Initialize' failed with SimulTestSupport.TaskFailure: negative seed -1"
        )
        await pool.shutdown()
    }

    @Test(arguments: [true, false])
    func chunkedMapYieldsEveryOutput(ordered: Bool) async throws {
        let pool = ProcessPool(TestTasks.configuration())
        var outputs: [Int] = []
        for try await square in pool.map(Square.self, 0..<10_000, chunkSize: 100, ordered: ordered) {
            outputs.append(square)
        }
        let expected = (0..<10_000).map { $0 * $0 }
        #expect(ordered ? outputs == expected : outputs.sorted() == expected)
        await pool.shutdown()
    }

    @Test func aFailingElementFailsTheMap() async throws {
        let pool = ProcessPool(TestTasks.configuration())
        var seen = 0
        let error = await #expect(throws: ProcessPoolError.self) {
            for try await _ in pool.map(Trap.self, [0, 1, 2, 7, 0], chunkSize: 1) { seen += 1 }
        }
        #expect(seen == 3)
        #expect(error?.signal == SIGILL)
        await pool.shutdown()
    }

    @Test func cancellingAPendingFutureDropsIt() async throws {
        var configuration = TestTasks.configuration(workers: 1)
        // Shutdown waits for running work, as Python's does; the timeout ends the blocker if the worker started it.
        configuration.taskTimeout = .seconds(1)
        let pool = ProcessPool(configuration)
        let blocker = pool.submit(Hang.self, 0)
        // More than a worker is ever sent ahead (256), so the last is surely still pending, however fast the worker.
        let queued = (0..<300).map { pool.submit(Square.self, $0) }
        let last = try #require(queued.last)
        try #require(last.cancel(), "a future no worker has started can be cancelled")
        #expect(last.state == .cancelled)
        await #expect(throws: CancellationError.self) { try await last.value }
        await pool.shutdown(cancelPending: true)
        #expect(blocker.isDone)
    }

    @Test func cancellingARunningTaskKillsItsWorker() async throws {
        let pool = ProcessPool(TestTasks.configuration(workers: 1))
        let hung = Task { try await pool.run(Hang.self, 0) }
        var queuedBehind = pool.submit(Square.self, 5)
        while queuedBehind.state == .pending {
            // Not sent yet: start over until Square is sent, and so Hang before it.
            if queuedBehind.cancel() { queuedBehind = pool.submit(Square.self, 5) }
            await Task.yield()
        }
        hung.cancel()
        await #expect(throws: CancellationError.self) { try await hung.value }
        #expect(try await queuedBehind.value == 25)
        await pool.shutdown()
    }

    @Test func cancellingWhileTheWorkerStartsDoesNotBreakThePool() async throws {
        let pool = ProcessPool(TestTasks.configuration(workers: 1))
        for _ in 0..<4 {
            // Each cancellation kills the worker, so the next task goes to a fresh one; cancelling a millisecond after
            // sending lands, most times, before that worker has said hello. Whenever it lands, the pool must live on.
            let hung = Task { try await pool.run(Hang.self, 0) }
            try await Task.sleep(for: .milliseconds(1))
            hung.cancel()
            await #expect(throws: CancellationError.self) { try await hung.value }
        }
        #expect(try await pool.run(Square.self, 6) == 36)
        await pool.shutdown()
    }

    @Test func submittingAfterShutdownFails() async throws {
        let pool = ProcessPool(TestTasks.configuration())
        await pool.shutdown()
        let error = await #expect(throws: ProcessPoolError.self) { try await pool.run(Square.self, 1) }
        #expect(error?.description == "cannot submit work after shutdown")
    }

    @Test func timedCountsTheWorkersCPU() async throws {
        let pool = ProcessPool(TestTasks.configuration(workers: 1))
        _ = try await pool.run(Square.self, 1)
        let (_, times) = try await timed {
            var total = 0
            for try await square in pool.map(Square.self, 0..<2_000_000, chunkSize: 10_000) { total &+= square }
            return total
        }
        #expect(times.childUser + times.childSystem > .zero)
        await pool.shutdown()
    }

    @Test func killingTheParentLeavesNoWorkerBehind() async throws {
        let parent = Process()
        parent.executableURL = URL(fileURLWithPath: TestTasks.workerExecutable)
        parent.arguments = ["orphan-parent"]
        let output = Pipe()
        parent.standardOutput = output
        try parent.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        #expect(line.hasPrefix("ready"))
        let workers = Self.children(of: parent.processIdentifier)
        #expect(workers.count == 2)
        let exits = workers.map { simul_pidfd_open($0) }
        #expect(exits.allSatisfy { $0 >= 0 })
        kill(parent.processIdentifier, SIGKILL)
        await parent.exited()
        for descriptor in exits {
            var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            #expect(poll(&ready, 1, 20_000) == 1, "a worker outlived its parent")
            close(descriptor)
        }
    }

    static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let end = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent
        }
    }
}
