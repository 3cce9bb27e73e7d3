import Foundation
import Simul
import SimulJSON
import SimulQueueTestSupport
import Testing

@testable import SimulQueue

/// The worker's decisions, driven directly: no threads, no broker, no waiting. Time is whatever the test passes.
struct WorkerStateMachineTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    func machine(prefetch: Int = 4, concurrency: Int = 2) -> WorkerStateMachine {
        WorkerStateMachine(
            prefetch: prefetch, concurrency: concurrency, shutdownTimeout: .seconds(10), revocationLimits: .celery)
    }

    func job(_ tag: String, id: String? = nil, eta: Date? = nil) throws -> WorkerStateMachine.Job {
        var message = TaskMessage(task: "t.add", args: [1, 2])
        if let id { message.id = id }
        message.eta = eta
        return WorkerStateMachine.Job(
            delivery: Delivery(tag: tag, queue: "celery", body: Data(), redelivered: false), message: message)
    }

    func ran(_ next: WorkerStateMachine.Next) -> (tag: String, revoked: Bool)? {
        guard case .run(let job, let revoked) = next else { return nil }
        return (job.tag, revoked)
    }

    @Test func prefetchBoundsWhatIsHeldAndFinishedMessagesDoNotHoldBackTheNextReceive() throws {
        var machine = machine()
        #expect(machine.fetchCapacity == 4)
        for tag in ["a", "b", "c", "d"] { machine.receive(try job(tag), at: start) }
        #expect(machine.fetchCapacity == 0)
        #expect(ran(machine.next(at: start))?.tag == "a")
        #expect(ran(machine.next(at: start))?.tag == "b")
        #expect(machine.fetchCapacity == 0)
        machine.finish("a", failed: false)
        // Finished and unwritten, "a" no longer counts against prefetch, but still against prefetch + concurrency.
        #expect(machine.fetchCapacity == 1)
        machine.release(["a"])
        #expect(machine.fetchCapacity == 1)
        #expect(machine.leases.sorted() == ["b", "c", "d"])
        #expect(machine.processed == 1 && machine.failed == 0)
    }

    @Test func readyMessagesRunOldestFirst() throws {
        var machine = machine(prefetch: 8)
        for tag in ["x", "y", "z"] { machine.receive(try job(tag), at: start) }
        #expect(machine.readyJobs.map(\.tag) == ["x", "y", "z"])
        let order = (0..<3).compactMap { _ in ran(machine.next(at: start))?.tag }
        #expect(order == ["x", "y", "z"])
        guard case .wait = machine.next(at: start) else { Issue.record("an empty machine must say wait"); return }
    }

    @Test func anETAHoldsTheMessageUntilItsTimeAndETAsComeInTheirOrder() throws {
        var machine = machine()
        machine.receive(try job("late", eta: start.addingTimeInterval(120)), at: start)
        machine.receive(try job("soon", eta: start.addingTimeInterval(60)), at: start)
        machine.receive(try job("past", eta: start.addingTimeInterval(-5)), at: start)
        #expect(machine.nextDue == start.addingTimeInterval(60))
        #expect(machine.scheduledJobs.map(\.tag) == ["soon", "late"])
        #expect(ran(machine.next(at: start))?.tag == "past")
        #expect(machine.releaseDue(at: start.addingTimeInterval(59.9)) == 0)
        guard case .wait = machine.next(at: start) else { Issue.record("nothing is due yet"); return }
        #expect(machine.releaseDue(at: start.addingTimeInterval(600)) == 2)
        #expect(machine.nextDue == nil)
        #expect(ran(machine.next(at: start))?.tag == "soon")
        #expect(ran(machine.next(at: start))?.tag == "late")
    }

    @Test func aRevokedMessageRunsAsRevokedAndATerminatingRevocationNamesTheRunningOnes() throws {
        var machine = machine()
        machine.receive(try job("a", id: "id-a"), at: start)
        machine.receive(try job("b", id: "id-b"), at: start)
        machine.receive(try job("c", id: "id-c"), at: start)
        #expect(ran(machine.next(at: start))?.tag == "a")
        let stopped = machine.revoke(
            [Revocation(id: "id-a", terminate: true, at: start), Revocation(id: "id-b", terminate: false, at: start)],
            at: start)
        #expect(stopped == ["a"])
        #expect(ran(machine.next(at: start)).map { [$0.tag: $0.revoked] } == ["b": true])
        #expect(ran(machine.next(at: start)).map { [$0.tag: $0.revoked] } == ["c": false])
        // Revocations expire with their age, as Celery's do.
        let later = start.addingTimeInterval(RevokedSet.Limits.celery.maxAge + 1)
        machine.receive(try job("b2", id: "id-b"), at: later)
        #expect(ran(machine.next(at: later)).map { [$0.tag: $0.revoked] } == ["b2": false])
    }

    @Test func aWarmShutdownReturnsWhatWaitsAndWaitsForWhatRuns() throws {
        var machine = machine()
        machine.receive(try job("running"), at: start)
        machine.receive(try job("done"), at: start)
        machine.receive(try job("ready"), at: start)
        machine.receive(try job("later", eta: start.addingTimeInterval(60)), at: start)
        _ = machine.next(at: start)
        _ = machine.next(at: start)
        machine.finish("done", failed: true)
        #expect(machine.stop(cold: false, at: start) == false)
        #expect(machine.shutdownDeadline == start.addingTimeInterval(10))
        #expect(machine.fetchCapacity == 0)
        guard case .stop = machine.next(at: start) else { Issue.record("no new start while stopping"); return }
        #expect(machine.returnWaiting().sorted() == ["later", "ready"])
        #expect(!machine.runningHaveEnded)
        machine.finish("running", failed: false)
        #expect(machine.runningHaveEnded)
        machine.release(["running"])
        // "done" was never written: it goes back with the unfinished.
        #expect(machine.returnUnfinished() == ["done"])
        #expect(machine.processed == 2 && machine.failed == 1)
        #expect(machine.leases.isEmpty)
    }

    @Test func aSecondStopIsColdAndColdReturnsRunningMessagesToo() throws {
        var machine = machine()
        machine.receive(try job("running"), at: start)
        _ = machine.next(at: start)
        #expect(machine.stop(cold: false, at: start) == false)
        #expect(machine.stop(cold: false, at: start.addingTimeInterval(5)) == true)
        // The deadline is the first stop's.
        #expect(machine.shutdownDeadline == start.addingTimeInterval(10))
        #expect(machine.runningHaveEnded)
        #expect(machine.returnWaiting().isEmpty)
        machine.interrupt("running")
        #expect(machine.returnUnfinished() == ["running"])
    }

    @Test func aColdStopAtOnce() {
        var machine = machine()
        #expect(machine.stop(cold: true, at: start) == true)
        #expect(machine.phase == .cold)
    }
}

/// The worker's shell on a manual clock: an ETA an hour away runs when the clock is moved, and no test waits.
@Suite(.timeLimit(.minutes(3))) struct WorkerOnAManualClockTests {
    @Test func anETATaskRunsWhenTheClockPassesIt() async throws {
        let clock = ManualClock()
        let broker = MemoryBroker(clock: clock)
        var configuration = WorkerConfiguration()
        configuration.name = "manual@host"
        configuration.concurrency = 1
        let worker = Worker(
            catalog: QueueHarness.catalog, broker: broker, backend: broker, configuration: configuration, clock: clock)
        let running = Task { try await worker.run() }
        var options = SendOptions()
        options.eta = clock.now.addingTimeInterval(3_600)
        let client = QueueClient(broker: broker, backend: broker)
        let result = try await client.send("t.add", args: [2, 3], options: options)
        // Idle: its renewal, heartbeat and revocation timers sleep, and so does its receive, until the ETA.
        await clock.waitForSleepers(4)
        #expect(try await result.state() == .pending)
        clock.advance(by: .seconds(3_600))
        #expect(try await result.get(timeout: .seconds(5)) == 5)
        worker.shutdown()
        // Past the one-second receive the worker may be in.
        clock.advance(by: .seconds(1))
        try await running.value
    }
}
