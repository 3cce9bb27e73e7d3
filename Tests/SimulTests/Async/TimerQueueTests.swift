import Simul
import Testing

@Suite(.timeLimit(.minutes(3))) struct TimerQueueTests {
    @Test func aSleeperNeverWakesBeforeItsDeadline() async throws {
        let timers = TimerQueue(resolution: .milliseconds(5))
        for milliseconds in [1, 7, 20] {
            let deadline = ContinuousClock.now + .milliseconds(milliseconds)
            try await timers.sleep(until: deadline)
            #expect(ContinuousClock.now >= deadline)
        }
    }

    @Test func aPastDeadlineReturnsAtOnce() async throws {
        try await TimerQueue.shared.sleep(until: .now - .seconds(1))
    }

    @Test func manySleepersAllWake() async throws {
        let woken = try await gatherAll(
            (0..<10_000).map { index in
                { () async throws -> Int in
                    try await TimerQueue.shared.sleep(for: .milliseconds(index % 7))
                    return index
                }
            }
        )
        #expect(woken == Array(0..<10_000))
    }

    @Test func cancellingASleeperWakesItWithCancellationError() async throws {
        let sleeper = Task { try await TimerQueue.shared.sleep(for: .seconds(3600)) }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
    }

    @Test func anAlreadyCancelledTaskDoesNotSleep() async throws {
        let sleeper = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await TimerQueue.shared.sleep(for: .seconds(3600))
        }
        await #expect(throws: CancellationError.self) { try await sleeper.value }
    }
}
