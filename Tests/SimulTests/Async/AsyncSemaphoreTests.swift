import SimulTestSupport
import Testing

@testable import Simul

/// The state machine alone: no tasks, no locks, no time. Waiters are plain strings.
@Suite struct AsyncSemaphoreStateMachineTests {
    typealias Machine = AsyncSemaphore.StateMachine<String>

    private func granted(_ resumption: Machine.Resumption?) -> String? {
        if case .grant(let waiter)? = resumption { return waiter }
        return nil
    }

    private func cancelled(_ resumption: Machine.Resumption?) -> String? {
        if case .cancel(let waiter)? = resumption { return waiter }
        return nil
    }

    @Test func takesFreePermitsThenAsksToSuspend() {
        var machine = Machine(permits: 2)
        #expect(machine.acquire() == .acquired)
        let tookSecond = machine.tryAcquire()
        #expect(tookSecond)
        #expect(machine.permits == 0)
        let tookThird = machine.tryAcquire()
        #expect(!tookThird)
        #expect(machine.acquire() == .suspend(id: 0))
        #expect(machine.acquire() == .suspend(id: 1))
    }

    @Test func releaseWakesWaitersFirstInFirstOut() {
        var machine = Machine(permits: 0)
        for (id, name) in ["a", "b", "c"].enumerated() {
            #expect(machine.acquire() == .suspend(id: UInt64(id)))
            #expect(machine.suspended(id: UInt64(id), waiter: name, isCancelled: false) == nil)
        }
        #expect(machine.waiterCount == 3)
        #expect(machine.release() == "a")
        #expect(machine.release() == "b")
        #expect(machine.release() == "c")
        #expect(machine.release() == nil)
        #expect(machine.permits == 1)
        #expect(machine.waiterCount == 0)
    }

    @Test func cancelledWaiterLeavesTheLine() {
        var machine = Machine(permits: 0)
        _ = machine.suspended(id: 0, waiter: "a", isCancelled: false)
        _ = machine.suspended(id: 1, waiter: "b", isCancelled: false)
        _ = machine.suspended(id: 2, waiter: "c", isCancelled: false)
        #expect(machine.cancelled(id: 1) == "b")
        #expect(machine.cancelled(id: 1) == nil)
        #expect(machine.release() == "a")
        #expect(machine.release() == "c")
        #expect(machine.permits == 0)
    }

    @Test func cancellationSeenAtRegistrationIsNotQueued() {
        var machine = Machine(permits: 0)
        #expect(machine.cancelled(id: 0) == nil)  // the handler ran before the waiter registered
        #expect(cancelled(machine.suspended(id: 0, waiter: "a", isCancelled: true)) == "a")
        #expect(machine.waiterCount == 0)
        #expect(machine.release() == nil)
        #expect(machine.permits == 1)
    }

    @Test func permitFreedBeforeRegistrationIsGrantedAtOnce() {
        var machine = Machine(permits: 0)
        #expect(machine.acquire() == .suspend(id: 0))
        #expect(machine.release() == nil)
        #expect(granted(machine.suspended(id: 0, waiter: "a", isCancelled: false)) == "a")
        #expect(machine.permits == 0)
    }

    @Test func grantedWaiterCannotBeCancelledAnyMore() {
        var machine = Machine(permits: 0)
        _ = machine.suspended(id: 0, waiter: "a", isCancelled: false)
        _ = machine.suspended(id: 1, waiter: "b", isCancelled: false)
        #expect(machine.release() == "a")
        // The storage sees the cancellation after the grant and passes the permit on with `release()`.
        #expect(machine.cancelled(id: 0) == nil)
        #expect(machine.release() == "b")
    }
}

@Suite(.timeLimit(.minutes(3)))
struct AsyncSemaphoreTests {
    @Test func tryAcquireAndRelease() {
        let semaphore = AsyncSemaphore(value: 1)
        #expect(semaphore.tryAcquire())
        #expect(!semaphore.tryAcquire())
        #expect(semaphore.availablePermits == 0)
        semaphore.release()
        #expect(semaphore.availablePermits == 1)
        semaphore.release()  // like asyncio.Semaphore, releasing may go above the initial value
        #expect(semaphore.availablePermits == 2)
    }

    @Test func withPermitBoundsConcurrency() async throws {
        let semaphore = AsyncSemaphore(value: 2)
        let inFlight = InFlight()
        let gates = (0..<6).map { _ in Gate() }
        let started = Recorder<Int>()
        let work = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<6 {
                    group.addTask {
                        try await semaphore.withPermit {
                            inFlight.enter()
                            defer { inFlight.leave() }
                            started.record(index)
                            try await gates[index].wait()
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        for round in 0..<6 {
            // `round` holders have been let go; the permits they returned went to the next in line.
            let expected = min(round + 2, 6)
            let holding = expected - round
            try await waitUntil("\(expected) started, \(holding) holding") {
                started.all.count == expected && inFlight.current == holding
            }
            #expect(inFlight.maximum <= 2)
            // Open the gate of a holder still running, the one that started `round`-th.
            gates[started.all[round]].open()
        }
        try await work.value
        #expect(inFlight.maximum == 2)
        #expect(semaphore.availablePermits == 2)
    }

    @Test func waitersAreServedFirstInFirstOut() async throws {
        let semaphore = AsyncSemaphore(value: 0)
        let order = Recorder<String>()
        var tasks: [Task<Void, any Error>] = []
        for name in ["a", "b", "c", "d"] {
            let waitersBefore = semaphore.waiterCount
            tasks.append(
                Task {
                    try await semaphore.acquire()
                    order.record(name)
                })
            try await waitUntil("\(name) waiting") { semaphore.waiterCount == waitersBefore + 1 }
        }
        for served in 1...4 {
            semaphore.release()
            try await waitUntil("\(served) served") { order.all.count == served }
        }
        for task in tasks { try await task.value }
        #expect(order.all == ["a", "b", "c", "d"])
        #expect(semaphore.availablePermits == 0)
    }

    @Test func cancelledWaiterThrowsAndDoesNotTakeAPermit() async throws {
        let semaphore = AsyncSemaphore(value: 0)
        let waiter = Task { try await semaphore.acquire() }
        try await waitUntil("the waiter waiting") { semaphore.waiterCount == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(semaphore.waiterCount == 0)
        semaphore.release()
        #expect(semaphore.availablePermits == 1)
    }

    @Test func cancelledTaskDoesNotAcquireEvenWithFreePermits() async throws {
        let semaphore = AsyncSemaphore(value: 1)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await semaphore.acquire()
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(semaphore.availablePermits == 1)
    }

    @Test func withPermitReleasesWhenTheBodyThrows() async throws {
        let semaphore = AsyncSemaphore(value: 1)
        await #expect(throws: ExampleError(message: "body failed")) {
            try await semaphore.withPermit { throw ExampleError(message: "body failed") }
        }
        #expect(semaphore.availablePermits == 1)
        #expect(try await semaphore.withPermit { "again" } == "again")
    }

    /// CPython gh-90155: cancellation racing a grant must not lose the permit. Whichever wins, the second waiter
    /// is served and the permit comes back.
    @Test func cancellationRacingAGrantNeverLosesThePermit() async throws {
        for _ in 0..<200 {
            let semaphore = AsyncSemaphore(value: 0)
            let first = Task { () -> Bool in
                do {
                    try await semaphore.acquire()
                } catch {
                    return false
                }
                semaphore.release()
                return true
            }
            try await waitUntil("first waiting") { semaphore.waiterCount == 1 }
            let second = Task {
                try await semaphore.acquire()
                semaphore.release()
            }
            try await waitUntil("second waiting") { semaphore.waiterCount == 2 }
            semaphore.release()
            first.cancel()
            try await second.value
            _ = await first.value
            #expect(semaphore.availablePermits == 1)
            #expect(semaphore.waiterCount == 0)
        }
    }
}
