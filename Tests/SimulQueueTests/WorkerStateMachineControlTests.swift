import Foundation
import SimulJSON
import Testing

@testable import SimulQueue

/// The decisions remote control asks of the worker (pool size, consumed queues, shutdown), driven directly: no threads,
/// no broker, no waiting.
struct WorkerStateMachineControlTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    func machine(concurrency: Int = 2, maxConcurrency: Int? = 8, resizable: Bool = true) -> WorkerStateMachine {
        WorkerStateMachine(
            prefetch: concurrency * 4, concurrency: concurrency, shutdownTimeout: .seconds(10),
            revocationLimits: .celery, queues: ["celery"], maxConcurrency: maxConcurrency, resizable: resizable)
    }

    func job(_ tag: String, task: String = "t.add") -> WorkerStateMachine.Job {
        WorkerStateMachine.Job(
            delivery: Delivery(tag: tag, queue: "celery", body: Data(), redelivered: false),
            message: TaskMessage(task: task, args: [1, 2]))
    }

    func isRetire(_ next: WorkerStateMachine.Next) -> Bool {
        if case .retire = next { return true }
        return false
    }

    @Test func growingAddsSlotsAndPrefetchByTheMultiplier() {
        var machine = machine()
        #expect(machine.grow(by: 3) == .resized(concurrency: 5, newSlots: 3))
        #expect(machine.concurrency == 5 && machine.slots == 5 && machine.prefetch == 20)
        #expect(machine.fetchCapacity == 20)
    }

    @Test func shrinkingRetiresTheExtraSlotsWhenTheyNextLookForWork() {
        var machine = machine(concurrency: 4)
        #expect(machine.shrink(by: 3) == .resized(concurrency: 1, newSlots: 0))
        #expect(machine.prefetch == 4 && machine.slots == 4)
        machine.receive(job("a"), at: start)
        // Three slots retire, one at a time, before any runs a job; the last one runs it.
        #expect(isRetire(machine.next(at: start)))
        #expect(isRetire(machine.next(at: start)))
        #expect(isRetire(machine.next(at: start)))
        #expect(machine.slots == 1)
        guard case .run(let job, _) = machine.next(at: start) else {
            Issue.record("the remaining slot must run the job")
            return
        }
        #expect(job.tag == "a")
    }

    @Test func growingAfterAShrinkKeepsTheSlotsThatHaveNotRetired() {
        var machine = machine(concurrency: 4)
        _ = machine.shrink(by: 2)
        #expect(machine.grow(by: 1) == .resized(concurrency: 3, newSlots: 0))
        #expect(machine.slots == 4)
        #expect(isRetire(machine.next(at: start)))
        guard case .wait = machine.next(at: start) else {
            Issue.record("three slots stay for a concurrency of three")
            return
        }
    }

    @Test func resizesTheWorkerCannotMakeAreRefusedWithAReason() {
        var solo = machine(concurrency: 1, resizable: false)
        #expect(solo.grow(by: 1) == .refused("the solo pool runs one task at a time; it cannot grow"))
        #expect(solo.shrink(by: 1) == .refused("the solo pool runs one task at a time; it cannot shrink"))
        var machine = machine(concurrency: 2, maxConcurrency: 3)
        #expect(
            machine.grow(by: 2)
                == .refused(
                    "cannot grow the pool to 4: this worker was started with room for 3 (simul worker --max-concurrency)"
                ))
        #expect(machine.shrink(by: 2) == .refused("cannot shrink the pool of 2 by 2: at least one slot stays"))
        #expect(machine.grow(by: 0) == .refused("pool_grow needs n of at least 1, got 0"))
        #expect(machine.concurrency == 2)
        _ = machine.stop(cold: false, at: start)
        #expect(machine.grow(by: 1) == .refused("the worker is shutting down"))
    }

    @Test func consumersAreAddedOnceAndCancelledEvenWhenNotConsumed() {
        var machine = machine()
        let added = machine.addConsumer("extra")
        let addedAgain = machine.addConsumer("extra")
        #expect(added && !addedAgain)
        #expect(machine.queues == ["celery", "extra"])
        let cancelled = machine.cancelConsumer("celery")
        let cancelledUnknown = machine.cancelConsumer("nowhere")
        #expect(cancelled && !cancelledUnknown)
        #expect(machine.queues == ["extra"])
        machine.cancelConsumer("extra")
        // With no queue left, nothing is fetched until one is added.
        #expect(machine.fetchCapacity == 0)
        machine.addConsumer("celery")
        #expect(machine.fetchCapacity == 8)
    }

    @Test func startedTasksAreCountedByName() {
        var machine = machine()
        machine.receive(job("a"), at: start)
        machine.receive(job("b", task: "t.mul"), at: start)
        machine.receive(job("c"), at: start)
        for _ in 0..<3 { _ = machine.next(at: start) }
        #expect(machine.totals == ["t.add": 2, "t.mul": 1])
    }

    @Test func thePoolsRoomToGrowDependsOnThePool() {
        var configuration = WorkerConfiguration()
        configuration.concurrency = 3
        let room = WorkerConfiguration.Pool.allCases.map { pool in
            configuration.pool = pool
            return configuration.poolCapacity
        }
        #expect(room == [1, 12, 3, 12])  // solo, threads, processes, async
        configuration.maxConcurrency = 5
        configuration.pool = .processes
        #expect(configuration.poolCapacity == 5)
        configuration.maxConcurrency = 1
        #expect(configuration.poolCapacity == 3)
    }

    @Test func aShutdownStopsEverySlot() {
        var machine = machine()
        _ = machine.shrink(by: 1)
        _ = machine.stop(cold: false, at: start)
        guard case .stop = machine.next(at: start) else {
            Issue.record("a stopping worker's slots stop, not retire")
            return
        }
    }
}
