import SimulTestSupport
import Testing

@testable import Simul

@Suite(.timeLimit(.minutes(3)))
struct AsyncConcurrentMapTests {
    @Test(arguments: [1, 4, 1_000])
    func resultsKeepTheSequenceOrder(limit: Int) async throws {
        let doubled = try await (0..<200).concurrentMap(maxConcurrency: limit) { $0 * 2 }
        #expect(doubled == (0..<200).map { $0 * 2 })
    }

    @Test func worksOnLazySequencesAndEmptyOnes() async throws {
        let powers = try await sequence(first: 1) { $0 < 512 ? $0 * 2 : nil }.concurrentMap(maxConcurrency: 3) {
            String($0)
        }
        #expect(powers == ["1", "2", "4", "8", "16", "32", "64", "128", "256", "512"])
        let none = try await [Int]().concurrentMap(maxConcurrency: 2) { $0 }
        #expect(none.isEmpty)
    }

    @Test func neverRunsMoreThanMaxConcurrency() async throws {
        let count = 10
        let limit = 3
        let gates = (0..<count).map { _ in Gate() }
        let inFlight = InFlight()
        let started = Recorder<Int>()
        let mapping = Task {
            try await (0..<count).concurrentMap(maxConcurrency: limit) { index in
                inFlight.enter()
                defer { inFlight.leave() }
                started.record(index)
                try await gates[index].wait()
                return index * 10
            }
        }
        for index in 0..<count {
            let expected = min(index + limit, count)
            try await waitUntil("\(expected) transforms started") { started.all.count == expected }
            #expect(Set(started.all) == Set(0..<expected))
            #expect(inFlight.current <= limit)
            gates[index].open()
        }
        #expect(try await mapping.value == (0..<count).map { $0 * 10 })
        #expect(inFlight.maximum == limit)
    }

    @Test func firstErrorCancelsTheRestAndStopsStartingNewOnes() async throws {
        let started = Recorder<Int>()
        let cancelled = Recorder<Int>()
        let error = await #expect(throws: ExampleError.self) {
            try await (0..<10).concurrentMap(maxConcurrency: 3) { index in
                started.record(index)
                if index == 1 { throw ExampleError(message: "element 1 failed") }
                try await runUntilCancelled { _ in cancelled.record(index) }
                return index
            }
        }
        #expect(error?.message == "element 1 failed")
        #expect(Set(started.all) == [0, 1, 2])
        #expect(Set(cancelled.all) == [0, 2])
    }

    @Test func cancellingTheCallerThrowsCancellationError() async throws {
        let waiting = Gate()
        let mapping = Task {
            try await (0..<100).concurrentMap(maxConcurrency: 2) { index in
                try await waiting.wait()
                return index
            }
        }
        try await waitUntil("two transforms waiting") { waiting.waiterCount == 2 }
        mapping.cancel()
        await #expect(throws: CancellationError.self) { try await mapping.value }
    }

    @Test func invalidArgumentsAreProgrammerErrors() async {
        await #expect(processExitsWith: .failure) {
            _ = try await [1, 2, 3].concurrentMap(maxConcurrency: 0) { $0 }
        }
        await #expect(processExitsWith: .failure) {
            _ = asCompleted([{ @Sendable in 1 }], maxConcurrency: 0)
        }
        await #expect(processExitsWith: .failure) {
            _ = AsyncSemaphore(value: -1)
        }
        await #expect(processExitsWith: .failure) {
            _ = AsyncQueue<Int>(maxSize: -1)
        }
    }
}
