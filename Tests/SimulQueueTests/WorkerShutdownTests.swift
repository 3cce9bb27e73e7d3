import Foundation
import Simul
import SimulJSON
import SimulQueue
import SimulQueueTestSupport
import SimulTestSupport
import Synchronization
import Testing

/// A worker stops, warm or cold, even while its broker refuses every acknowledgement, as on a full disk; the
/// messages it could not acknowledge stay leased and come back when their leases end. The worker and its broker run
/// on a manual clock: the test moves time past the shutdown timeout and the leases.
@Suite(.timeLimit(.minutes(3))) struct WorkerShutdownTests {
    @Test func aWarmShutdownEndsAfterItsTimeoutWhileCommitsFail() async throws {
        let (broker, clock) = Self.brokerOnAManualClock()
        let (worker, running) = Self.start(on: broker, clock: clock, shutdownTimeout: .milliseconds(200))
        try await Self.waitForAFailedAcknowledgement(broker, inner: broker.inner)
        worker.shutdown()
        // Past the shutdown timeout, and past the one-second receive the worker may be in.
        clock.advance(by: .seconds(1))
        try await running.value
        try await Self.expectTheMessageComesBack(broker.inner, clock)
    }

    @Test func aColdShutdownEndsAtOnceWhileCommitsFail() async throws {
        let (broker, clock) = Self.brokerOnAManualClock()
        let (worker, running) = Self.start(on: broker, clock: clock, shutdownTimeout: .seconds(3_600))
        try await Self.waitForAFailedAcknowledgement(broker, inner: broker.inner)
        worker.shutdown()
        worker.shutdown()
        // Past the one-second receive the worker may be in, not the hour of the shutdown timeout.
        clock.advance(by: .seconds(1))
        try await running.value
        try await Self.expectTheMessageComesBack(broker.inner, clock)
    }

    /// Once the drain is over, the worker cancels its loops but not a write in flight: cancelled, it would fail,
    /// and its retries, failing at once, would spin and never let the worker return.
    @Test func aStopEndsAfterTheWriteInFlightWithoutCancellingIt() async throws {
        let broker = RefusingBroker(MemoryBroker(), slowHeartbeats: .milliseconds(200))
        var configuration = WorkerConfiguration()
        configuration.name = "test@host"
        configuration.heartbeatInterval = .milliseconds(20)
        let worker = Worker(
            catalog: QueueHarness.catalog, broker: broker, backend: broker.inner, configuration: configuration)
        let running = Task { try await worker.run() }
        try await waitUntil("a heartbeat written") {
            try await broker.inner.events(after: 0, limit: 100).events.contains { $0.type == "worker-heartbeat" }
        }
        worker.shutdown()
        try await running.value
        #expect(broker.refusals == 0)
    }

    // MARK: Helpers

    static func brokerOnAManualClock() -> (RefusingBroker, ManualClock) {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_000_000))
        return (RefusingBroker(MemoryBroker(clock: clock)), clock)
    }

    static func start(on broker: RefusingBroker, clock: ManualClock, shutdownTimeout: Duration)
        -> (Worker, Task<Void, any Error>)
    {
        var configuration = WorkerConfiguration()
        configuration.name = "test@host"
        configuration.concurrency = 2
        configuration.shutdownTimeout = shutdownTimeout
        let worker = Worker(
            catalog: QueueHarness.catalog, broker: broker, backend: broker.inner, configuration: configuration,
            clock: clock)
        return (worker, Task { try await worker.run() })
    }

    /// Sends a task and waits until the worker has run it and failed to acknowledge it.
    static func waitForAFailedAcknowledgement(_ broker: RefusingBroker, inner: MemoryBroker) async throws {
        try await inner.send([TaskMessage(task: "t.add", args: [1, 2])])
        try await waitUntil("a refused acknowledgement") { broker.refusals > 0 }
    }

    /// The message is not acknowledged: once its lease ends it waits in its queue again.
    static func expectTheMessageComesBack(_ inner: MemoryBroker, _ clock: ManualClock) async throws {
        #expect(try await inner.queueLengths().isEmpty)
        clock.advance(by: .seconds(3_600))
        #expect(try await inner.queueLengths() == ["celery": 1])
    }
}

/// A memory broker whose commits fail whenever they acknowledge something, as a broker on a full disk fails; or,
/// with `slowHeartbeats`, one that takes that long to write a heartbeat and fails it if its task is cancelled, as a
/// network client does.
final class RefusingBroker: Broker {
    let inner: MemoryBroker
    private let slowHeartbeats: Duration?
    private let refused = Mutex(0)

    init(_ inner: MemoryBroker, slowHeartbeats: Duration? = nil) {
        self.inner = inner
        self.slowHeartbeats = slowHeartbeats
    }

    var transport: String { inner.transport }

    /// How many commits were refused.
    var refusals: Int { refused.withLock { $0 } }

    func commit(_ commit: BrokerCommit) async throws {
        if let slowHeartbeats, commit.events.contains(where: { $0.type == "worker-heartbeat" }) {
            do {
                try await Task.sleep(for: slowHeartbeats)
            } catch {
                refused.withLock { $0 += 1 }
                throw error
            }
        } else if slowHeartbeats == nil, !commit.ack.isEmpty {
            refused.withLock { $0 += 1 }
            throw QueueError.storage("database or disk is full")
        }
        try await inner.commit(commit)
    }

    func receive(from queues: [String], limit: Int, lease: Duration, timeout: Duration) async throws -> [Delivery] {
        try await inner.receive(from: queues, limit: limit, lease: lease, timeout: timeout)
    }

    func renew(_ tags: [String], lease: Duration) async throws { try await inner.renew(tags, lease: lease) }
    func deadLetters(limit: Int) async throws -> [DeadLetter] { try await inner.deadLetters(limit: limit) }
    func replayDeadLetters(_ ids: [Int64]?) async throws -> Int { try await inner.replayDeadLetters(ids) }
    func purge(queue: String) async throws -> Int { try await inner.purge(queue: queue) }
    func queueLengths() async throws -> [String: Int] { try await inner.queueLengths() }
    func backlogs(of queues: [String]) async throws -> [String: QueueBacklog] {
        try await inner.backlogs(of: queues)
    }
    func revoke(_ ids: [String], terminate: Bool) async throws { try await inner.revoke(ids, terminate: terminate) }
    func revocations(after cursor: RevocationCursor?) async throws
        -> (revocations: [Revocation], cursor: RevocationCursor)
    {
        try await inner.revocations(after: cursor)
    }
    func events(after cursor: Int64, limit: Int) async throws -> (events: [QueueEvent], cursor: Int64) {
        try await inner.events(after: cursor, limit: limit)
    }
    func claim(_ slot: String, sending message: OutgoingMessage) async throws -> Bool {
        try await inner.claim(slot, sending: message)
    }
    func close() async { await inner.close() }
}
