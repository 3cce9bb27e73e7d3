import SimulTestSupport
import Testing

@testable import Simul

@Suite(.timeLimit(.minutes(3)))
struct AsyncWithTimeoutTests {
    @Test func returnsTheValueWhenInTime() async throws {
        let value = try await withTimeout(.seconds(60)) { 42 }
        #expect(value == 42)
    }

    @Test func timesOutAndCancelsTheOperation() async throws {
        let cancelled = Recorder<String>()
        let error = await #expect(throws: TimeoutError.self) {
            try await withTimeout(.milliseconds(50)) {
                try await runUntilCancelled { cancelled.record("\(type(of: $0))") }
            }
        }
        #expect(error == TimeoutError(timeout: .milliseconds(50)))
        #expect(error?.description == "timed out after \(Duration.milliseconds(50).timeDescription)")
        // withTimeout returns only after the operation has seen its cancellation.
        #expect(cancelled.all == ["CancellationError"])
    }

    @Test func rethrowsTheOperationsError() async throws {
        await #expect(throws: ExampleError(message: "bad input")) {
            try await withTimeout(.seconds(60)) { () async throws -> Int in throw ExampleError(message: "bad input") }
        }
    }

    @Test func manualClockTimesOutOnlyWhenAdvanced() async throws {
        let clock = TestClock()
        let operationCancelled = Gate()
        let task = Task {
            try await withTimeout(.seconds(5), clock: clock) { () async throws -> Int in
                try await runUntilCancelled { _ in operationCancelled.open() }
                return 1
            }
        }
        try await waitUntil("the timer sleeping") { clock.sleeperCount == 1 }
        clock.advance(by: .seconds(4))
        #expect(clock.sleeperCount == 1)
        #expect(!operationCancelled.isOpen)
        clock.advance(by: .seconds(1))
        await #expect(throws: TimeoutError(timeout: .seconds(5))) { try await task.value }
        #expect(operationCancelled.isOpen)
    }

    @Test func manualClockSuccessCancelsTheTimer() async throws {
        let clock = TestClock()
        let value = try await withTimeout(.seconds(5), clock: clock) { "done" }
        #expect(value == "done")
        #expect(clock.sleeperCount == 0)
    }

    @Test func cancellingTheCallerThrowsCancellationError() async throws {
        let started = Gate()
        let task = Task {
            try await withTimeout(.seconds(60)) { () async throws -> Int in
                started.open()
                try await Gate().wait()
                return 1
            }
        }
        try await started.wait()
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func alreadyCancelledCallerDoesNotStartTheOperation() async throws {
        let ran = Recorder<Bool>()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await withTimeout(.seconds(60)) { () async throws -> Int in
                ran.record(true)
                return 1
            }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ran.all.isEmpty)
    }
}
