import SimulTestSupport
import Testing

@testable import Simul

@Suite(.timeLimit(.minutes(3)))
struct AsyncGatherTests {
    /// Operation `i` finishes only after operation `i + 1` has, so they complete in reverse order, and only if
    /// they all run at once.
    private static func reverseCompletion(
        count: Int,
        finished: Recorder<Int>
    ) -> [@Sendable () async throws -> String] {
        let gates = (0..<count).map { _ in Gate() }
        return (0..<count).map { index in
            {
                if index + 1 < count { try await gates[index + 1].wait() }
                finished.record(index)
                gates[index].open()
                return "result \(index)"
            }
        }
    }

    @Test func arrayResultsComeInArgumentOrder() async throws {
        let finished = Recorder<Int>()
        let results = try await gatherAll(Self.reverseCompletion(count: 20, finished: finished))
        #expect(finished.all == Array((0..<20).reversed()))
        #expect(results == (0..<20).map { "result \($0)" })
    }

    @Test func manyOperationsKeepTheirOrder() async throws {
        let operations: [@Sendable () async throws -> Int] = (0..<20_000).map { index in { index * 2 } }
        let results = try await gatherAll(operations)
        #expect(results == (0..<20_000).map { $0 * 2 })
    }

    @Test func operationsStartAtOnceInArgumentOrder() async throws {
        // Each child runs on the caller's thread until its first suspension, so the starts are in argument order
        // even though the operations then wait for each other and finish in reverse.
        let started = Recorder<Int>()
        let finished = Recorder<Int>()
        let operations = Self.reverseCompletion(count: 50, finished: finished)
        _ = try await gatherAll(
            operations.enumerated().map { index, operation in
                {
                    started.record(index); return try await operation()
                }
            })
        #expect(started.all == Array(0..<50))
        let outcomes = await gatherAllSettled((0..<50).map { index in { started.record(100 + index) } })
        #expect(outcomes.count == 50)
        #expect(started.all.suffix(50) == Array(100..<150))
    }

    @Test func emptyArrayGivesEmptyResult() async throws {
        let results = try await gatherAll([] as [@Sendable () async throws -> Int])
        #expect(results.isEmpty)
    }

    @Test func packGathersDifferentTypesInArgumentOrder() async throws {
        let first = Gate()
        let second = Gate()
        let (number, text, list) = try await gather(
            {
                try await second.wait()  // finishes last
                return 1
            },
            {
                try await first.wait()
                second.open()
                return "two"
            },
            {
                first.open()  // finishes first
                return [3.0, 4.0]
            }
        )
        #expect(number == 1)
        #expect(text == "two")
        #expect(list == [3.0, 4.0])
    }

    @Test func packWithOneAndNoOperations() async throws {
        let single = try await gather({ 42 })
        #expect(single == 42)
        try await gather()
    }

    @Test func packRethrowsTheFirstErrorAndCancelsTheOthers() async throws {
        let cancelled = Recorder<String>()
        await #expect(throws: ExampleError(message: "disk full")) {
            _ = try await gather(
                {
                    try await runUntilCancelled { cancelled.record("\(type(of: $0))") }
                    return 1
                },
                { @Sendable () async throws -> String in throw ExampleError(message: "disk full") }
            )
        }
        // gather waits for its children, so the sibling has already seen the cancellation.
        #expect(cancelled.all == ["CancellationError"])
    }

    @Test func arrayRethrowsTheOriginalErrorAndCancelsTheOthers() async throws {
        let cancelled = Recorder<Int>()
        let started = Recorder<Int>()
        let operations: [@Sendable () async throws -> Int] = (0..<50).map { index in
            {
                started.record(index)
                if index == 25 { throw ExampleError(message: "item 25 is broken") }
                try await runUntilCancelled { _ in cancelled.record(index) }
                return index
            }
        }
        let error = await #expect(throws: ExampleError.self) { try await gatherAll(operations) }
        #expect(error?.message == "item 25 is broken")
        #expect(error?.description == "ExampleError: item 25 is broken")
        // Operation 25 fails before it suspends, so the operations after it are never started.
        #expect(started.all == Array(0...25))
        #expect(Set(cancelled.all) == Set(0..<25))
    }

    @Test func cancellingTheCallerCancelsEveryOperation() async throws {
        let waiting = Gate()
        let started = Recorder<Int>()
        let task = Task {
            try await gatherAll(
                (0..<3).map { index in
                    { () async throws -> Int in
                        started.record(index)
                        try await waiting.wait()
                        return index
                    }
                }
            )
        }
        try await waitUntil("all three operations waiting") { waiting.waiterCount == 3 }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func settledArrayKeepsSuccessesAndErrorsInOrder() async throws {
        let finished = Recorder<Int>()
        var operations = Self.reverseCompletion(count: 4, finished: finished)
        operations.append { throw ExampleError(message: "no luck") }
        let outcomes = await gatherAllSettled(operations)
        #expect(outcomes.count == 5)
        #expect(try outcomes[0..<4].map { try $0.get() } == ["result 0", "result 1", "result 2", "result 3"])
        let error = try #require(throws: ExampleError.self) { try outcomes[4].get() }
        #expect(error.message == "no luck")
        #expect(await gatherAllSettled([] as [@Sendable () async throws -> Int]).isEmpty)
    }

    @Test func settledErrorDoesNotCancelTheOthers() async throws {
        let failed = Gate()
        let outcomes = await gatherAllSettled([
            { @Sendable () async throws -> Int in
                defer { failed.open() }
                throw ExampleError(message: "first")
            },
            { @Sendable () async throws -> Int in
                try await failed.wait()  // runs on after its sibling failed
                return 2
            },
        ])
        #expect(throws: ExampleError(message: "first")) { try outcomes[0].get() }
        #expect(try outcomes[1].get() == 2)
    }

    @Test func settledPackGivesOneResultPerOperation() async throws {
        let (number, text) = await gatherSettled(
            { 7 },
            { @Sendable () async throws -> String in throw ExampleError(message: "no text") }
        )
        #expect(try number.get() == 7)
        #expect(throws: ExampleError(message: "no text")) { try text.get() }
    }
}
