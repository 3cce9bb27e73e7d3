import SimulTestSupport
import Testing

@testable import Simul

@Suite(.timeLimit(.minutes(3)))
struct AsyncAsCompletedTests {
    @Test func yieldsInCompletionOrderWithIndices() async throws {
        let gates = (0..<3).map { _ in Gate() }
        let operations: [@Sendable () async throws -> String] = (0..<3).map { index in
            {
                try await gates[index].wait()
                if index == 1 { throw ExampleError(message: "second failed") }
                return "value \(index)"
            }
        }
        var outcomes = asCompleted(operations).makeAsyncIterator()

        gates[2].open()
        let first = try #require(await outcomes.next())
        #expect(first.index == 2)
        #expect(try first.result.get() == "value 2")

        gates[0].open()
        let second = try #require(await outcomes.next())
        #expect(second.index == 0)
        #expect(try second.result.get() == "value 0")

        gates[1].open()
        let third = try #require(await outcomes.next())
        #expect(third.index == 1)
        #expect(throws: ExampleError(message: "second failed")) { try third.result.get() }

        #expect(await outcomes.next() == nil)
    }

    @Test func emptyInputFinishesAtOnce() async {
        var outcomes = asCompleted([] as [@Sendable () async throws -> Int]).makeAsyncIterator()
        #expect(await outcomes.next() == nil)
    }

    @Test(arguments: [1, 3])
    func neverRunsMoreThanMaxConcurrency(limit: Int) async throws {
        let count = 8
        let gates = (0..<count).map { _ in Gate() }
        let inFlight = InFlight()
        let started = Recorder<Int>()
        let operations: [@Sendable () async throws -> Int] = (0..<count).map { index in
            {
                inFlight.enter()
                defer { inFlight.leave() }
                started.record(index)
                try await gates[index].wait()
                return index
            }
        }
        var outcomes = asCompleted(operations, maxConcurrency: limit).makeAsyncIterator()
        for index in 0..<count {
            // Operations start in index order, so after `index` completions exactly these have started.
            let expected = min(index + limit, count)
            try await waitUntil("\(expected) operations started") { started.all.count == expected }
            #expect(Set(started.all) == Set(0..<expected))
            #expect(inFlight.current == expected - index)
            gates[index].open()
            #expect(await outcomes.next()?.index == index)
        }
        #expect(await outcomes.next() == nil)
        #expect(inFlight.maximum == limit)
    }

    @Test func droppingTheStreamCancelsRunningOperations() async throws {
        let cancelled = Recorder<Int>()
        let operations: [@Sendable () async throws -> Int] = (0..<5).map { index in
            {
                if index == 0 { return 0 }
                try await runUntilCancelled { _ in cancelled.record(index) }
                return index
            }
        }
        var received: [Int] = []
        for await outcome in asCompleted(operations) {
            received.append(outcome.index)
            break
        }
        #expect(received == [0])
        try await waitUntil("the four waiting operations cancelled") { cancelled.all.count == 4 }
        #expect(Set(cancelled.all) == [1, 2, 3, 4])
    }

    @Test func cancellingTheConsumerCancelsRunningOperations() async throws {
        let cancelled = Recorder<Int>()
        let waiting = Gate()
        let operations: [@Sendable () async throws -> Int] = (0..<3).map { index in
            {
                do {
                    try await waiting.wait()
                } catch {
                    cancelled.record(index)
                    throw error
                }
                return index
            }
        }
        let consumer = Task {
            var count = 0
            for await _ in asCompleted(operations) { count += 1 }
            return count
        }
        try await waitUntil("three operations waiting") { waiting.waiterCount == 3 }
        consumer.cancel()
        _ = await consumer.value
        try await waitUntil("the operations cancelled") { cancelled.all.count == 3 }
    }
}
