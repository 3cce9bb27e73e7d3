import Foundation
import SimulJSON
import SimulQueue
import SimulQueueTestSupport
import SimulTestSupport
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(3))) struct WorkerTests {
    @Test(arguments: WorkerConfiguration.Pool.allCases.filter { $0 != .processes })
    func runsTasksInEveryInProcessPool(pool: WorkerConfiguration.Pool) async throws {
        let queue = QueueHarness { $0.pool = pool }
        let results = try await (0..<20).asyncMap {
            try await queue.client.send("t.add", args: [.integer(Int64($0)), 1])
        }
        for (index, result) in results.enumerated() {
            #expect(try await result.get(timeout: .seconds(30)) == .integer(Int64(index + 1)))
        }
        try await queue.stop()
    }

    @Test func kwargsBindByNameAndOptionalsMayBeLeftOut() async throws {
        let queue = QueueHarness()
        let named = try await queue.client.send("t.add", kwargs: ["y": 2, "x": 40])
        let mixed = try await queue.client.send("t.optional", args: [1], kwargs: ["label": "a"])
        let omitted = try await queue.client.send("t.optional", args: [1])
        #expect(try await named.get(timeout: .seconds(30)) == 42)
        #expect(try await mixed.get(timeout: .seconds(30)) == "a:1")
        #expect(try await omitted.get(timeout: .seconds(30)) == "none:1")
        try await queue.stop()
    }

    @Test(arguments: [
        ([JSONValue]([1, 2, 3]), [String: JSONValue](), "t.add() takes 2 positional arguments but 3 were given"),
        ([1], [:], "t.add() missing required argument: 'y'"),
        ([1, 2], ["z": 3], "t.add() got an unexpected keyword argument 'z'"),
        ([1], ["x": 3], "t.add() got multiple values for argument 'x'"),
        (["one", 2], [:], "t.add() argument 'x' must be Int, got \"one\""),
    ])
    func argumentsThatDoNotFitFailWithTypeError(args: [JSONValue], kwargs: [String: JSONValue], message: String)
        async throws
    {
        let queue = QueueHarness()
        let result = try await queue.client.send("t.add", args: args, kwargs: kwargs)
        await #expect(throws: TaskError.self) {
            _ = try await result.get(timeout: .seconds(30))
        }
        let stored = try #require(try await result.result())
        #expect(stored.status == .failure)
        #expect(stored.error?.type == "TypeError")
        #expect(stored.error?.message == message)
        try await queue.stop()
    }

    @Test func failureCarriesTypeMessageAndTraceback() async throws {
        let queue = QueueHarness()
        let result = try await queue.client.send("t.fail", args: ["boom"])
        do {
            _ = try await result.get(timeout: .seconds(30))
            Issue.record("expected a failure")
        } catch let error as TaskError {
            #expect(error.type == "ValueError")
            #expect(error.message == "boom")
            #expect(error.module == "builtins")
            #expect(error.traceback?.hasSuffix("ValueError: boom\n") == true)
        }
        try await queue.stop()
    }

    @Test func unknownTaskFailsWithNotRegisteredAndIsAcknowledged() async throws {
        let queue = QueueHarness()
        let result = try await queue.client.send("nosuch.task")
        await #expect(throws: TaskError.self) { _ = try await result.get(timeout: .seconds(30)) }
        let stored = try #require(try await result.result())
        #expect(stored.status == .failure)
        #expect(stored.error?.type == "NotRegistered")
        #expect(stored.error?.message == "nosuch.task")
        try await waitUntil("acknowledged") { try await queue.broker.queueLengths().isEmpty }
        try await queue.stop()
        #expect(try await queue.broker.receive(from: ["celery"], limit: 10, lease: .seconds(1), timeout: .zero).isEmpty)
    }

    @Test func malformedMessagesBecomeDeadLettersWithTheirReason() async throws {
        let queue = QueueHarness()
        var good = TaskMessage(task: "t.add", args: [1, 2])
        good.deliveryTag = "good"
        let envelope = try JSONSerialization.jsonObject(with: MessageCodec.encode(good)) as! [String: Any]
        func variant(_ change: (inout [String: Any]) -> Void) throws -> Data {
            var copy = envelope
            change(&copy)
            return try JSONSerialization.data(withJSONObject: copy)
        }
        let bad: [(Data, String)] = [
            (Data("{not json".utf8), "invalid JSON envelope"),
            (try variant { $0["body"] = "***" }, "the body is not valid base64"),
            (
                try variant {
                    var p = $0["properties"] as! [String: Any]; p["delivery_info"] = nil; $0["properties"] = p
                },
                "properties.delivery_info is missing"
            ),
            (
                try variant {
                    var h = $0["headers"] as! [String: Any]; h["task"] = nil; $0["headers"] = h
                },
                "headers.task is missing: the message names no task"
            ),
        ]
        try await queue.broker.commit(BrokerCommit(send: bad.map { OutgoingMessage(raw: $0.0, queue: "celery") }))
        try await waitUntil("dead letters") { try await queue.broker.deadLetters(limit: 10).count == 4 }
        let reasons = try await queue.broker.deadLetters(limit: 10).map(\.reason)
        for (_, expected) in bad { #expect(reasons.contains { $0.hasPrefix(expected) }, "\(expected) in \(reasons)") }
        // The worker keeps serving.
        #expect(try await queue.client.send("t.add", args: [1, 2]).get(timeout: .seconds(30)) == 3)
        try await queue.stop()
    }

    @Test func aMessageOverTheSizeLimitIsDeadLetteredUndecodedAndItsTaskFails() async throws {
        let queue = QueueHarness { $0.maxMessageSize = 1_000 }
        let big = TaskMessage(task: "t.xsum", args: [.array(Array(repeating: 1, count: 1_000))])
        let body = MessageCodec.encode(big)
        try await queue.broker.commit(BrokerCommit(send: [OutgoingMessage(raw: body, queue: "celery")]))
        let reason = "the message is \(body.count) bytes, more than this worker's limit of 1000"
        await #expect(throws: TaskError(type: "InvalidTaskMessage", message: reason, module: "simul")) {
            _ = try await queue.client.result(big.id).get(timeout: .seconds(30))
        }
        #expect(try await queue.broker.deadLetters(limit: 10).map(\.reason) == [reason])
        #expect(try await queue.client.send("t.xsum", args: [[1, 2, 3]]).get(timeout: .seconds(30)) == 6)
        try await queue.stop()
    }

    /// A message whose lease ran out five times (its workers died running it) goes to the dead letters with a
    /// FAILURE `WorkerLostError` instead of running again; one whose lease ran out four times still runs.
    @Test func aMessageThatOutlivedFiveWorkersIsDeadLettered() async throws {
        let queue = QueueHarness()
        var doomed = TaskMessage(task: "t.add", args: [1, 2])
        doomed.lapsedLeases = 5
        var survivor = TaskMessage(task: "t.add", args: [3, 4])
        survivor.lapsedLeases = 4
        try await queue.broker.send([doomed, survivor])
        #expect(try await queue.client.result(survivor.id).get(timeout: .seconds(30)) == 7)
        try await waitUntil("the dead letter") { try await queue.broker.deadLetters(limit: 10).count == 1 }
        let failure = try await queue.client.result(doomed.id).result()
        #expect(failure?.status == .failure)
        #expect(failure?.error?.type == "WorkerLostError")
        let reason =
            "redelivered 5 times: each worker that took it stopped before finishing it (does t.add kill its worker?)"
        #expect(failure?.error?.message == reason)
        #expect(try await queue.broker.deadLetters(limit: 10).map(\.reason) == [reason])
        try await queue.stop()
    }

    @Test func everyStateIsStoredWhenTrackingStarts() async throws {
        let queue = QueueHarness {
            $0.trackStarted = true
            $0.concurrency = 1
        }
        #expect(try await queue.client.result(TaskID.make()).state() == .pending)
        let blocker = try await queue.client.send("t.spin", args: [30])
        try await waitUntil("started") { try await blocker.state() == .started }
        let waiting = try await queue.client.send("t.add", args: [1, 1])
        try await waitUntil("received") { try await waiting.state() == .received }
        try await queue.client.revoke([blocker.id], terminate: true)
        try await waitUntil("revoked") { try await blocker.state() == .revoked }
        #expect(try await waiting.get(timeout: .seconds(30)) == 2)
        #expect(try await waiting.state() == .success)
        let later = try await queue.client.send("t.later")
        try await waitUntil("retry") { try await later.state() == .retry }
        let failing = try await queue.client.send("t.fail", args: ["x"])
        _ = try? await failing.get(timeout: .seconds(30))
        #expect(try await failing.state() == .failure)
        try await queue.stop()
    }

    @Test func retriesCountUpUntilTheTaskSucceedsOrRunsOut() async throws {
        let queue = QueueHarness()
        let result = try await queue.client.send("t.flaky", args: [3])
        #expect(try await result.get(timeout: .seconds(30)) == 3)
        #expect(try await result.result()?.retries == 3)
        let exhausted = try await queue.client.send("t.flaky", args: [5])
        do {
            _ = try await exhausted.get(timeout: .seconds(30))
            Issue.record("expected MaxRetriesExceededError")
        } catch let error as TaskError {
            #expect(error.type == "MaxRetriesExceededError")
        }
        #expect(try await exhausted.result()?.retries == 3)
        try await queue.stop()
    }

    /// `autoRetryFor` retries the error types it names, as Celery's `autoretry_for`, and fails with the last error
    /// once the retries run out; `"Exception"` names every error but arguments that do not fit.
    @Test func autoRetryForRetriesTheTypesItNames() async throws {
        var catalog = QueueHarness.catalog
        let quick = RetryBackoff(base: 0.01, maximum: 0.01, jitter: false)
        for (name, types) in [("t.retryConnection", ["ConnectionError"]), ("t.retryAny", ["Exception"])] {
            let options = TaskOptions(maxRetries: 2, autoRetryFor: Set(types), backoff: quick)
            catalog.register(name, parameters: ["type"], options: options) { (type: String) throws -> Int in
                throw TaskError(type: type, message: "it failed")
            }
        }
        let queue = QueueHarness(catalog: catalog)
        let cases: [(task: String, error: String, retries: Int)] = [
            ("t.retryConnection", "ConnectionError", 2), ("t.retryConnection", "ValueError", 0),
            ("t.retryAny", "ValueError", 2), ("t.retryAny", "KeyError", 2),
        ]
        for (task, error, retries) in cases {
            let result = try await queue.client.send(task, args: [.string(error)])
            await #expect(throws: TaskError.self) { _ = try await result.get(timeout: .seconds(30)) }
            let stored = try #require(try await result.result())
            #expect(stored.status == .failure)
            #expect(stored.error?.type == error, "\(task) \(error)")
            #expect(stored.retries == retries, "\(task) \(error)")
        }
        // Arguments that do not fit are a TypeError, which no retry mends, even under "Exception".
        let unfit = try await queue.client.send("t.retryAny", args: [1])
        await #expect(throws: TaskError.self) { _ = try await unfit.get(timeout: .seconds(30)) }
        #expect(try await unfit.result()?.error?.type == "TypeError")
        #expect(try await unfit.result()?.retries == 0)
        try await queue.stop()
    }

    /// With `deadLetterWhenRetriesRunOut`, a task whose retries run out has its FAILURE and a dead letter that says
    /// why; replayed once what it needed is back, it runs again and succeeds.
    @Test func exhaustedRetriesCanGoToTheDeadLettersAndBeReplayed() async throws {
        let healthy = Mutex(false)
        var catalog = QueueHarness.catalog
        let options = TaskOptions(
            maxRetries: 1, autoRetryFor: ["ConnectionError"], deadLetterWhenRetriesRunOut: true,
            backoff: RetryBackoff(base: 0.01, maximum: 0.01, jitter: false))
        catalog.register("t.fetch", options: options) { () throws -> Int in
            guard healthy.withLock({ $0 }) else { throw TaskError(type: "ConnectionError", message: "refused") }
            return 42
        }
        let queue = QueueHarness(catalog: catalog)
        let result = try await queue.client.send("t.fetch")
        await #expect(throws: TaskError.self) { _ = try await result.get(timeout: .seconds(30)) }
        try await waitUntil("the dead letter") { try await queue.broker.deadLetters(limit: 10).count == 1 }
        let letter = try #require(try await queue.broker.deadLetters(limit: 10).first)
        #expect(letter.reason == "retries ran out after 1: ConnectionError: refused")
        #expect(try await result.result()?.error?.type == "ConnectionError")

        healthy.withLock { $0 = true }
        #expect(try await queue.broker.replayDeadLetters([letter.id]) == 1)
        try await waitUntil("the replay succeeds") { try await result.state() == .success }
        #expect(try await result.get(timeout: .seconds(30)) == 42)
        try await queue.stop()
    }

    @Test func backoffDoublesUpToTheMaximumAndJitterScalesIt() {
        let backoff = RetryBackoff(base: 1, maximum: 10, jitter: false)
        #expect((0..<6).map { backoff.delay(afterRetries: $0, random: 0.5) } == [1, 2, 4, 8, 10, 10])
        let jittered = RetryBackoff(base: 2, maximum: 100, jitter: true)
        #expect(jittered.delay(afterRetries: 3, random: 0.25) == 4)
        #expect(jittered.delay(afterRetries: 3, random: 0) == 0)
    }

    @Test func etaHoldsTheTaskUntilTheManualClockPassesIt() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_000_000))
        let broker = MemoryBroker(clock: clock)
        var options = SendOptions()
        options.eta = clock.now.addingTimeInterval(3600)
        let client = QueueClient(broker: broker, backend: broker)
        let result = try await client.send("t.add", args: [1, 2], options: options)
        #expect(try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(5), timeout: .zero).isEmpty)
        clock.advance(by: .seconds(3599))
        #expect(try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(5), timeout: .zero).isEmpty)
        clock.advance(by: .seconds(1))
        let due = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(5), timeout: .zero)
        #expect(due.count == 1)
        #expect(try MessageCodec.decode(due[0].body).id == result.id)
        // Not acknowledged: once the lease passes on the manual clock, it comes back.
        clock.advance(by: .seconds(6))
        #expect(
            try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(5), timeout: .zero).first?.redelivered
                == true)
    }

    @Test func countdownRunsTheTaskWhenTheClockPassesIt() async throws {
        let clock = ManualClock()
        let queue = QueueHarness(clock: clock)
        var options = SendOptions()
        options.countdown = 60
        let sent = clock.now
        let result = try await queue.client.send("t.add", args: [2, 2], options: options)
        // Idle: its renewal, heartbeat and revocation timers sleep, and so does its receive, until the countdown.
        await clock.waitForSleepers(4)
        #expect(try await result.state() == .pending)
        clock.advance(by: .seconds(60))
        #expect(try await result.get(timeout: .seconds(30)) == 4)
        #expect(try await result.result()?.dateDone == sent.addingTimeInterval(60))
        queue.worker.shutdown()
        clock.advance(by: .seconds(1))  // past the one-second receive the worker may be in
        try await queue.stop()
    }

    @Test func expiredTasksBecomeRevoked() async throws {
        let queue = QueueHarness()
        var options = SendOptions()
        options.expires = Date().addingTimeInterval(-1)
        let result = try await queue.client.send("t.add", args: [1, 2], options: options)
        do {
            _ = try await result.get(timeout: .seconds(30))
            Issue.record("expected a revocation")
        } catch let error as TaskError {
            #expect(error.type == "TaskRevokedError")
            #expect(error.message == "expired")
        }
        #expect(try await result.state() == .revoked)
        try await queue.stop()
    }

    @Test func revokingAQueuedTaskSkipsIt() async throws {
        let queue = QueueHarness { $0.concurrency = 1 }
        let blocker = try await queue.client.send("t.spin", args: [0.3])
        let doomed = try await queue.client.send("t.add", args: [1, 1])
        try await queue.client.revoke([doomed.id])
        #expect(try await blocker.get(timeout: .seconds(30)) == "finished")
        await #expect(throws: TaskError.self) { _ = try await doomed.get(timeout: .seconds(30)) }
        #expect(try await doomed.state() == .revoked)
        try await queue.stop()
    }

    @Test func aTaskRevokedBeforeTheWorkerStartsIsSkipped() async throws {
        let broker = MemoryBroker()
        let sender = QueueClient(broker: broker, backend: broker)
        let doomed = try await sender.send("t.add", args: [1, 1])
        // Many revocations before it, so the worker reads a large set at start.
        try await broker.revoke((0..<5_000).map { _ in TaskID.make() }, terminate: false)
        try await broker.revoke([doomed.id], terminate: false)
        // Its first read happens before its first fetch, whatever the interval.
        let queue = QueueHarness(broker: broker) { $0.revocationInterval = .seconds(3_600) }
        let error = await #expect(throws: TaskError.self) { try await doomed.get(timeout: .seconds(30)) }
        #expect(error?.type == "TaskRevokedError" && error?.message == "revoked")
        #expect(try await queue.client.send("t.add", args: [2, 2]).get(timeout: .seconds(30)) == 4)
        try await queue.stop()
    }

    @Test(arguments: [WorkerConfiguration.Pool.threads, .async])
    func revokingARunningTaskStopsItCooperatively(pool: WorkerConfiguration.Pool) async throws {
        let queue = QueueHarness { $0.pool = pool }
        let task = pool == .async ? "t.nap" : "t.spin"
        let running = try await queue.client.send(task, args: [60])
        try await waitUntil("running") { queue.worker.stats.active == 1 }
        try await queue.client.revoke([running.id], terminate: true)
        do {
            _ = try await running.get(timeout: .seconds(30))
            Issue.record("expected a revocation")
        } catch let error as TaskError {
            #expect(error.type == "TaskRevokedError")
            #expect(error.message == "terminated")
        }
        try await queue.stop()
    }

    @Test func softTimeLimitAsksTheTaskToStop() async throws {
        let queue = QueueHarness()
        let result = try await queue.client.send("t.soft")
        do {
            _ = try await result.get(timeout: .seconds(30))
            Issue.record("expected SoftTimeLimitExceeded")
        } catch let error as TaskError {
            #expect(error.type == "SoftTimeLimitExceeded")
        }
        try await queue.stop()
    }

    @Test func hardTimeLimitFailsTheTask() async throws {
        let queue = QueueHarness { $0.pool = .async }
        let result = try await queue.client.send("t.hard")
        do {
            _ = try await result.get(timeout: .seconds(30))
            Issue.record("expected TimeLimitExceeded")
        } catch let error as TaskError {
            #expect(error.type == "TimeLimitExceeded")
        }
        #expect(try await queue.client.send("t.add", args: [1, 1]).get(timeout: .seconds(30)) == 2)
        try await queue.stop()
    }

    /// The worker waits for a rate limit's turns on its own clock: at 4 per second, with the clock moved a quarter
    /// second at a time, one more task starts at each step, at that step's time, though 4 slots are free. (The
    /// limiter's exact spacing is `RateLimiterTests`'.)
    @Test func rateLimitSpacesStartsOnTheClock() async throws {
        let clock = ManualClock()
        var catalog = QueueHarness.catalog
        catalog.register("t.stamp", parameters: ["label"], options: TaskOptions(rateLimit: RateLimit(perSecond: 4))) {
            (_: String) in clock.now.timeIntervalSince1970
        }
        let queue = QueueHarness(catalog: catalog, clock: clock) { $0.concurrency = 4 }
        let start = clock.now.timeIntervalSince1970
        let results = try await (0..<6).asyncMap { try await queue.client.send("t.stamp", args: [.string("\($0)")]) }
        for step in 0..<6 {
            if step > 0 { clock.advance(by: .milliseconds(250)) }
            try await waitUntil("\(step + 1) tasks ran") { queue.worker.stats.processed >= step + 1 }
        }
        let starts = try await results.asyncMap { try #require(try await $0.get(timeout: .seconds(30)).doubleValue) }
        #expect(starts.sorted() == (0..<6).map { start + 0.25 * Double($0) })
        queue.worker.shutdown()
        clock.advance(by: .seconds(1))  // past the one-second receive the worker may be in
        try await queue.stop()
    }

    /// A task waiting for its rate limit's turn holds no slot: with one slot, a task sent after two rate-limited ones
    /// runs while the second waits out its minute, and the second runs when the clock gets there.
    @Test func aRateLimitedTaskWaitsWithoutHoldingASlot() async throws {
        let clock = ManualClock()
        var catalog = QueueHarness.catalog
        catalog.register("t.slow", parameters: ["x"], options: TaskOptions(rateLimit: RateLimit("1/m")!)) {
            (x: Int) in x
        }
        let queue = QueueHarness(catalog: catalog, clock: clock) { $0.concurrency = 1 }
        let first = try await queue.client.send("t.slow", args: [1])
        #expect(try await first.get(timeout: .seconds(30)) == 1)
        let second = try await queue.client.send("t.slow", args: [2])
        let other = try await queue.client.send("t.add", args: [20, 22])
        #expect(try await other.get(timeout: .seconds(30)) == 42)
        #expect(try await second.state() == .pending)
        clock.advance(by: .seconds(60))
        #expect(try await second.get(timeout: .seconds(30)) == 2)
        queue.worker.shutdown()
        clock.advance(by: .seconds(1))  // past the one-second receive the worker may be in
        try await queue.stop()
    }

    /// A retry's countdown is on the worker's clock: the task runs again when the clock passes it, not before.
    @Test func aRetryRunsAgainWhenTheClockPassesItsCountdown() async throws {
        let clock = ManualClock()
        var catalog = QueueHarness.catalog
        catalog.register("t.retryOnce") { () throws -> Int in
            let context = TaskContext.current!
            guard context.retries > 0 else { throw context.retry(countdown: 30) }
            return context.retries
        }
        let queue = QueueHarness(catalog: catalog, clock: clock)
        let sent = clock.now
        let result = try await queue.client.send("t.retryOnce")
        try await waitUntil("the first run asked for a retry") { try await result.state() == .retry }
        clock.advance(by: .seconds(29))
        clock.advance(by: .seconds(1))
        #expect(try await result.get(timeout: .seconds(30)) == 1)
        #expect(try await result.result()?.dateDone == sent.addingTimeInterval(30))
        queue.worker.shutdown()
        clock.advance(by: .seconds(1))  // past the one-second receive the worker may be in
        try await queue.stop()
    }

    @Test func warmShutdownFinishesRunningTasksAndReturnsTheRest() async throws {
        let queue = QueueHarness {
            $0.concurrency = 2
            $0.prefetchMultiplier = 4
        }
        let running = try await (0..<2).asyncMap { _ in try await queue.client.send("t.spin", args: [0.5]) }
        let waiting = try await (0..<6).asyncMap { _ in try await queue.client.send("t.add", args: [1, 1]) }
        try await waitUntil("both running") { queue.worker.stats.active == 2 }
        try await queue.stop()
        for result in running { #expect(try await result.state() == .success) }
        let unfinished = try await waiting.asyncMap { try await $0.state() }.filter { $0 != .success }.count
        #expect(try await queue.broker.queueLengths()["celery", default: 0] == unfinished)
    }
}

extension WorkerTests {
    @Test func coldShutdownStopsRunningTasksAndReturnsEveryUnacknowledgedMessage() async throws {
        let broker = MemoryBroker()
        let queue = QueueHarness(broker: broker) {
            $0.concurrency = 2
            $0.shutdownTimeout = .seconds(60)
        }
        let running = try await (0..<2).asyncMap { _ in try await queue.client.send("t.nap", args: [60]) }
        _ = try await (0..<3).asyncMap { _ in try await queue.client.send("t.add", args: [1, 1]) }
        try await waitUntil("both running") { queue.worker.stats.active == 2 }
        queue.worker.shutdown()  // warm: waits up to a minute for the naps
        queue.worker.shutdown()  // cold: stops them now
        try await queue.stop()
        for result in running { #expect(try await result.state() == .pending) }
        #expect(try await broker.queueLengths()["celery", default: 0] == 5)
        let again = try await broker.receive(from: ["celery"], limit: 10, lease: .seconds(5), timeout: .zero)
        let ids = Set(try again.map { try MessageCodec.decode($0.body).id })
        for result in running { #expect(ids.contains(result.id)) }
    }

    @Test func forgettingAResultMakesItPendingAgain() async throws {
        let queue = QueueHarness()
        let result = try await queue.client.send("t.add", args: [2, 2])
        #expect(try await result.get(timeout: .seconds(30)) == 4)
        try await result.forget()
        #expect(try await result.state() == .pending)
        try await queue.stop()
    }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
