import Dispatch
import Foundation
import Simul
import Testing

@Suite(.timeLimit(.minutes(3))) struct ThreadPoolTests {
    @Test func submitReturnsValuesAndErrors() async throws {
        let pool = ThreadPool(maxWorkers: 4)
        let squares = (0..<100).map { n in pool.submit { n * n } }
        for (n, future) in squares.enumerated() { #expect(try await future.value == n * n) }
        let failing = pool.submit { () throws -> Int in throw Boom(code: 9) }
        let error = await #expect(throws: Boom.self) { try await failing.value }
        #expect(error?.description == "boom 9")
        await pool.shutdown()
    }

    @Test func blockingWorkRunsOnRealThreadsBeyondTheCoreCount() async throws {
        // Eight tasks that block until all eight have arrived: this only finishes with eight real threads.
        let parties = 8
        let pool = ThreadPool(maxWorkers: parties)
        let barrier = Barrier(parties: parties)
        let futures = (0..<parties).map { _ in pool.submit { barrier.arriveAndWait() } }
        for future in futures { #expect(try await future.value) }
        await pool.shutdown()
    }

    @Test func aBurstLeftToTheSpinningThreadStillFansOut() async throws {
        // A thread that has just finished a job spins for more, and submissions made meanwhile wake no one: the
        // spinner must hand the rest of a burst on. Each round completes only with four threads blocked at once.
        let parties = 4
        let pool = ThreadPool(maxWorkers: parties)
        for _ in 0..<50 {
            try await pool.submit {}.value
            let barrier = Barrier(parties: parties, timeout: 5)
            let futures = (0..<parties).map { _ in pool.submit { barrier.arriveAndWait() } }
            for future in futures { try #require(try await future.value) }
        }
        await pool.shutdown()
    }

    @Test func neverRunsMoreThanMaxWorkersAtOnce() async throws {
        let pool = ThreadPool(maxWorkers: 3)
        let meter = ConcurrencyMeter()
        // Each task holds its thread for a millisecond, so the meter sees them overlap.
        let futures = (0..<30).map { _ in pool.submit { meter.measure { usleep(1000) } } }
        for future in futures { try await future.value }
        #expect(meter.maximum <= 3)
        await pool.shutdown()
    }

    @Test func isATaskExecutorForBlockingCalls() async throws {
        let poolThreads = ThreadSet()
        let pool = ThreadPool(maxWorkers: 2, initializer: { poolThreads.insertCurrent() })
        _ = try await pool.run { 0 }
        #expect(await Task(executorPreference: pool) { poolThreads.containsCurrent() }.value)
        let onPool = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<4 { group.addTask(executorPreference: pool) { poolThreads.containsCurrent() } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(onPool == [true, true, true, true])
        #expect(!poolThreads.containsCurrent())
        await pool.shutdown()
    }

    @Test func mapIsOrderedAndLazy() async throws {
        let pool = ThreadPool(maxWorkers: 2)
        let started = Counter()
        var results: [Int] = []
        for try await value in pool.map(
            0..<1000, maxInFlight: 4,
            { n -> Int in
                started.increment()
                return n * 2
            })
        {
            results.append(value)
            if results.count == 3 { break }
        }
        #expect(results == [0, 2, 4])
        await pool.shutdown()
        #expect(started.value <= 3 + 4)
    }

    @Test func mapStopsAtTheFirstError() async throws {
        let pool = ThreadPool(maxWorkers: 2)
        var seen: [Int] = []
        await #expect(throws: Boom.self) {
            for try await value in pool.map(
                [1, 2, 3, 4],
                { n -> Int in
                    if n == 3 { throw Boom(code: n) }
                    return n
                })
            {
                seen.append(value)
            }
        }
        #expect(seen == [1, 2])
        await pool.shutdown()
    }

    @Test func shutdownCancelsPendingWorkWhenAsked() async throws {
        let pool = ThreadPool(maxWorkers: 1)
        let gate = DispatchSemaphore(value: 0)
        let (started, starting) = AsyncStream.makeStream(of: Void.self)
        let running = pool.submit {
            starting.yield()
            gate.wait()
        }
        var startedIterator = started.makeAsyncIterator()
        await startedIterator.next()
        let queued = (0..<5).map { _ in pool.submit { 1 } }
        pool.shutdownNow(cancelPending: true)
        gate.signal()
        await pool.shutdown()
        try await running.value
        #expect(queued.allSatisfy { $0.state == .cancelled })
    }

    @Test func submitAfterShutdownFailsClearly() async throws {
        let pool = ThreadPool(maxWorkers: 1)
        await pool.shutdown()
        let error = await #expect(throws: ThreadPoolError.self) { try await pool.run { 1 } }
        #expect(error?.description == "cannot schedule new work after shutdown")
    }

    @Test func aFailingInitializerBreaksThePool() async throws {
        let pool = ThreadPool(maxWorkers: 1, initializer: { throw Boom(code: 4) })
        let first = pool.submit { 1 }
        let error = await #expect(throws: ThreadPoolError.self) { try await first.value }
        #expect(error?.description == "the thread pool is broken: its initializer failed: boom 4")
        let later = await #expect(throws: ThreadPoolError.self) { try await pool.run { 2 } }
        #expect(later?.description == "the thread pool is broken: its initializer failed: boom 4")
        await pool.shutdown()
    }

    @Test func cancellingRunDropsWorkThatHasNotStarted() async throws {
        let pool = ThreadPool(maxWorkers: 1)
        let gate = DispatchSemaphore(value: 0)
        let blocker = pool.submit { gate.wait() }
        let ran = Counter()
        let waiting = Task { try await pool.run { ran.increment() } }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        gate.signal()
        try await blocker.value
        await pool.shutdown()
        #expect(ran.value == 0)
    }
}

/// The threads that registered themselves, by pthread id.
final class ThreadSet: @unchecked Sendable {
    private let lock = NSLock()
    private var threads: Set<UInt> = []

    func insertCurrent() { lock.withLock { _ = threads.insert(UInt(bitPattern: Int(pthread_self()))) } }

    func containsCurrent() -> Bool { lock.withLock { threads.contains(UInt(bitPattern: Int(pthread_self()))) } }
}

/// Blocks arriving threads until `parties` have arrived; false if that takes more than 30 s.
final class Barrier: @unchecked Sendable {
    private let condition = NSCondition()
    private var arrived = 0
    private let parties: Int

    private let timeout: TimeInterval

    init(parties: Int, timeout: TimeInterval = 30) {
        self.parties = parties
        self.timeout = timeout
    }

    func arriveAndWait() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: timeout)
        while arrived < parties {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func increment() { lock.withLock { count += 1 } }

    var value: Int { lock.withLock { count } }
}

final class ConcurrencyMeter: @unchecked Sendable {
    private let lock = NSLock()
    private var current = 0
    private(set) var maximum = 0

    func measure(_ body: () -> Void) {
        lock.withLock {
            current += 1
            maximum = max(maximum, current)
        }
        body()
        lock.withLock { current -= 1 }
    }
}
