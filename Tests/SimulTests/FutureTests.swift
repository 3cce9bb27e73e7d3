import Dispatch
import Simul
import Testing

struct Boom: Error, CustomStringConvertible, Equatable {
    var code: Int
    var description: String { "boom \(code)" }
}

@Suite struct FutureStateTests {
    @Test func pendingRunningFinished() throws {
        let future = Future<Int>()
        #expect(future.state == .pending)
        #expect(future.markRunning())
        #expect(future.state == .running)
        #expect(!future.cancel())
        #expect(future.complete(with: .success(7)))
        #expect(future.state == .finished)
        #expect(future.isDone)
        #expect(!future.cancel())
        #expect(!future.complete(with: .success(8)))
        #expect(try future.result() == 7)
    }

    @Test func pendingCancelled() {
        let future = Future<Int>()
        #expect(future.cancel())
        #expect(future.cancel())
        #expect(future.state == .cancelled)
        #expect(future.isDone)
        #expect(!future.markRunning())
        #expect(!future.complete(with: .success(1)))
        #expect(throws: CancellationError.self) { try future.result() }
    }

    @Test func anErrorArrivesWithItsTypeAndMessage() {
        let future = Future<Int>()
        _ = future.markRunning()
        future.complete(with: .failure(Boom(code: 3)))
        let error = #expect(throws: Boom.self) { try future.result() }
        #expect(error == Boom(code: 3))
        #expect(error?.description == "boom 3")
    }

    @Test func resultTimesOutWhilePending() {
        let future = Future<Int>()
        let error = #expect(throws: TimeoutError.self) { try future.result(timeout: .milliseconds(20)) }
        #expect(error?.description == "timed out after 20 ms: future unfinished")
        #expect(future.state == .pending)
    }

    @Test func resultWakesWhenAnotherThreadCompletes() throws {
        let future = Future<String>()
        let started = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            started.wait()
            future.complete(with: .success("done"))
        }
        started.signal()
        #expect(try future.result(timeout: .seconds(30)) == "done")
    }

    @Test func callbacksRunInOrderOnceAndAtOnceWhenDone() {
        let future = Future<Int>()
        let log = Log()
        future.onCompletion { log.append("first \(try! $0.get())") }
        future.onCompletion { log.append("second \(try! $0.get())") }
        #expect(log.lines.isEmpty)
        future.complete(with: .success(5))
        future.onCompletion { log.append("late \(try! $0.get())") }
        #expect(log.lines == ["first 5", "second 5", "late 5"])
    }

    @Test func aCancelledFutureReportsCancellationToCallbacks() {
        let future = Future<Int>()
        let log = Log()
        future.onCompletion { result in
            if case .failure(let error) = result, error is CancellationError { log.append("cancelled") }
        }
        future.cancel()
        #expect(log.lines == ["cancelled"])
    }

    @Test(.timeLimit(.minutes(3))) func awaitingDoesNotCancelTheWork() async throws {
        let future = Future<Int>()
        let waiter = Task { try await future.value }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(future.state == .pending)
        future.complete(with: .success(1))
        #expect(try await future.value == 1)
    }
}

@Suite(.timeLimit(.minutes(3))) struct FutureWaitingTests {
    @Test func asCompletedYieldsDoneFuturesFirstThenInCompletionOrder() async throws {
        let a = Future<String>(), b = Future<String>(), c = Future<String>(), done = Future<String>()
        done.complete(with: .success("done"))
        var order: [String] = []
        var iterator = asCompleted([a, b, c, done, done]).makeAsyncIterator()
        order.append(try await iterator.next()!.value)
        c.complete(with: .success("c"))
        order.append(try await iterator.next()!.value)
        a.complete(with: .success("a"))
        order.append(try await iterator.next()!.value)
        b.complete(with: .failure(Boom(code: 1)))
        let last = try #require(try await iterator.next())
        await #expect(throws: Boom.self) { try await last.value }
        #expect(try await iterator.next() == nil)
        #expect(order == ["done", "c", "a"])
    }

    @Test func asCompletedTimesOutWithTheUnfinishedCount() async throws {
        let a = Future<Int>(), b = Future<Int>(), c = Future<Int>()
        a.complete(with: .success(1))
        var seen = 0
        let error = await #expect(throws: TimeoutError.self) {
            for try await _ in asCompleted([a, b, c], timeout: .milliseconds(50)) { seen += 1 }
        }
        #expect(seen == 1)
        #expect(error?.detail == "2 (of 3) futures unfinished")
    }

    @Test func waitFirstCompleted() async {
        let a = Future<Int>(), b = Future<Int>()
        let waiting = Task { await wait([a, b], returnWhen: .firstCompleted) }
        b.complete(with: .success(2))
        let (done, notDone) = await waiting.value
        #expect(done == [b])
        #expect(notDone == [a])
    }

    @Test func waitFirstExceptionReturnsOnTheFirstError() async {
        let a = Future<Int>(), b = Future<Int>(), c = Future<Int>()
        let waiting = Task { await wait([a, b, c], returnWhen: .firstException) }
        a.complete(with: .success(1))
        c.complete(with: .failure(Boom(code: 2)))
        let (done, notDone) = await waiting.value
        #expect(done == [a, c])
        #expect(notDone == [b])
    }

    @Test func waitFirstExceptionWithoutErrorsWaitsForAll() async {
        let a = Future<Int>(), b = Future<Int>()
        let waiting = Task { await wait([a, b], returnWhen: .firstException) }
        a.complete(with: .success(1))
        b.cancel()
        let (done, notDone) = await waiting.value
        #expect(done == [a, b])
        #expect(notDone.isEmpty)
    }

    @Test func waitAllCompleted() async {
        let futures = (0..<5).map { _ in Future<Int>() }
        let waiting = Task { await wait(futures) }
        for (n, future) in futures.enumerated() { future.complete(with: .success(n)) }
        let (done, notDone) = await waiting.value
        #expect(done.count == 5)
        #expect(notDone.isEmpty)
    }

    @Test func waitReturnsOnTimeoutWithoutThrowing() async {
        let a = Future<Int>(), b = Future<Int>()
        a.complete(with: .success(1))
        let (done, notDone) = await wait([a, b], timeout: .milliseconds(30))
        #expect(done == [a])
        #expect(notDone == [b])
    }
}

/// A thread-safe list of lines, for checking what callbacks did.
final class Log: Sendable {
    private let storage = DispatchQueue(label: "log")
    nonisolated(unsafe) private var stored: [String] = []

    func append(_ line: String) { storage.sync { stored.append(line) } }

    var lines: [String] { storage.sync { stored } }
}
