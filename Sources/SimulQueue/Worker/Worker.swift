public import Foundation
public import Logging
public import ServiceLifecycle
import Simul
import SimulJSON
import Synchronization

/// Takes task messages from a broker, runs them in a pool, and stores their results: `simul worker`.
///
/// Delivery is at least once. A message is acknowledged only after its result is stored and its follow-ups (the
/// next step of a chain, a retry, callbacks) are sent, in one broker commit; until then its lease is renewed, and
/// if the worker dies the message goes to another worker when the lease runs out.
///
/// ```swift
/// let worker = Worker(catalog: catalog, broker: broker, backend: broker, configuration: configuration)
/// try await worker.run()          // until shutdown() is called, for example from a SIGTERM handler
/// ```
///
/// It is a ServiceLifecycle `Service`: in a `ServiceGroup` beside an HTTP server, the group's graceful shutdown
/// (SIGTERM) is the worker's warm shutdown, and cancelling its task the cold one.
public final class Worker: Service, Sendable {
    let catalog: TaskCatalog
    let broker: any Broker
    let backend: any ResultBackend
    let configuration: WorkerConfiguration
    let logger: Logger
    let now: @Sendable () -> Date
    let state: Mutex<State>
    let ready = AsyncQueue<Job>()
    let released = ChangeSignal()
    let committer: Committer
    let limiter = RateLimiter()
    let executor: TaskExecutorPool
    let started = ContinuousClock.now
    private let stopRequested = ChangeSignal()

    /// A message the worker holds: waiting for its ETA, waiting for a slot, or running.
    struct Job: Sendable {
        let delivery: Delivery
        let message: TaskMessage
    }

    struct Running {
        let context: TaskContext
        let message: TaskMessage
        var work: Task<Void, Never>?
    }

    struct State {
        /// Every message received and not yet acknowledged or requeued, by delivery tag.
        var held: [String: Job] = [:]
        var running: [String: Running] = [:]
        /// Held messages that have run and wait for their batch to be written.
        var finished: Set<String> = []
        var etaTimers: [String: Task<Void, Never>] = [:]
        /// Every revocation, read from the broker or received by remote control, bounded as the broker bounds its.
        var revoked: RevokedSet
        var processed = 0
        var failed = 0
        var stopping = false
        var cold = false
        /// Why the worker stopped by itself: a broker it can no longer use.
        var failure: QueueError?
    }

    /// A worker statistics snapshot, for `simul inspect stats`.
    public struct Stats: Sendable, Codable {
        /// Tasks finished, in any state.
        public var processed: Int
        /// Tasks that failed.
        public var failed: Int
        /// Tasks running now.
        public var active: Int
        /// Messages held: running, waiting for a slot, or waiting for their ETA.
        public var held: Int
    }

    /// Creates a worker.
    /// - Parameters:
    ///   - catalog: the tasks it can run.
    ///   - broker: where messages come from.
    ///   - backend: where results go.
    ///   - configuration: its queues, pool and limits.
    ///   - logger: where it reports.
    ///   - now: the clock for ETAs and expiry.
    public init(
        catalog: TaskCatalog, broker: any Broker, backend: any ResultBackend,
        configuration: WorkerConfiguration = .init(), logger: Logger = Logger(label: "simul.worker"),
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        precondition(configuration.concurrency >= 1, "a worker needs a concurrency of at least 1")
        self.catalog = catalog
        self.broker = broker
        self.backend = backend
        var configuration = configuration
        if configuration.pool == .solo { configuration.concurrency = 1 }
        self.configuration = configuration
        self.logger = logger
        self.now = now
        state = Mutex(State(revoked: RevokedSet(limits: configuration.revocationLimits)))
        committer = Committer(broker: broker, backend: backend, logger: logger)
        executor = TaskExecutorPool(configuration: configuration)
    }

    /// The current counts.
    public var stats: Stats {
        state.withLock {
            Stats(processed: $0.processed, failed: $0.failed, active: $0.running.count, held: $0.held.count)
        }
    }

    /// Asks the worker to stop. The first call is a warm shutdown: stop fetching, put back what is waiting, let
    /// running tasks finish within the shutdown timeout. A second call is a cold shutdown: stop running tasks and put
    /// them back too. Either way nothing received is lost.
    ///
    /// While the broker refuses writes (a full disk), the worker retries storing results until the warm shutdown's
    /// timeout, or the cold shutdown, and then stops without them: their messages stay leased in the broker and go
    /// back to their queue when the leases end.
    public func shutdown() { stop(cold: false) }

    /// Stops warm, or cold when `cold` is set or a warm shutdown is under way already.
    private func stop(cold forced: Bool) {
        let (running, cold) = state.withLock { state -> ([Task<Void, Never>], Bool) in
            if state.stopping || forced { state.cold = true }
            state.stopping = true
            return (state.cold ? state.running.values.compactMap(\.work) : [], state.cold)
        }
        for work in running { work.cancel() }
        if cold { committer.abandon() }
        stopRequested.signal()
        released.signal()
    }

    /// Runs until ``shutdown()`` finishes, then returns. In a `ServiceGroup`, the group's graceful shutdown starts
    /// a warm shutdown, and cancelling the task a cold one.
    /// - Throws: ``QueueError`` if the broker fails at start, or if it can no longer be used
    ///   (``QueueError/isBrokerGone``): then the worker stops as after a warm shutdown, and throws that.
    public func run() async throws {
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await work()
            } onGracefulShutdown: {
                self.shutdown()
            }
        } onCancel: {
            self.stop(cold: true)
        }
    }

    private func work() async throws {
        var online = workerEvent("worker-online")
        online.fields["registered"] = .array(catalog.names.map(JSONValue.string))
        try await committer.write(BrokerCommit(events: [online]))
        // Before the first fetch, so a task revoked before the worker started is never run.
        let revocationCursor = await readRevocations(after: nil)
        logger.info(
            "worker \(configuration.name) ready: pool \(configuration.pool.rawValue), concurrency \(configuration.concurrency), queues \(configuration.queues.joined(separator: ","))"
        )
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await self.committer.run { tags in
                    self.state.withLock { state in
                        for tag in tags {
                            state.held[tag] = nil
                            state.finished.remove(tag)
                        }
                    }
                    self.released.signal()
                }
            }
            let slots = configuration.concurrency
            group.addTask {
                await withTaskGroup(of: Void.self) { slotGroup in
                    for _ in 0..<slots { slotGroup.addTask { await self.slotLoop() } }
                }
            }
            group.addTask { await self.every(self.configuration.lease / 3) { await self.renewLeases() } }
            group.addTask { await self.followRevocations(from: revocationCursor) }
            if let control = broker.remoteControl {
                group.addTask { await self.serveRemoteControl(control) }
            }
            group.addTask {
                await self.every(self.configuration.heartbeatInterval) {
                    self.committer.enqueue(events: [self.workerEvent("worker-heartbeat")])
                }
            }
            await fetchLoop()
            await drain()
            group.cancelAll()
        }
        await executor.shutdown()
        try? await committer.write(BrokerCommit(events: [workerEvent("worker-offline")]))
        logger.info("worker \(configuration.name) stopped")
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    // MARK: Fetching

    private func fetchLoop() async {
        var failures = 0
        while !isStopping {
            let generation = released.generation
            // Prefetch counts messages still to run; finished ones waiting for their write do not hold back the next
            // receive, so receiving, running and writing overlap. Holding at most prefetch + concurrency bounds what a
            // killed worker can leave to run twice: its running and finished-but-unwritten messages.
            let capacity = state.withLock { state in
                min(
                    configuration.prefetch - (state.held.count - state.finished.count),
                    configuration.prefetch + configuration.concurrency - state.held.count)
            }
            guard capacity > 0 else {
                await released.wait(after: generation, timeout: .seconds(1))
                continue
            }
            let deliveries: [Delivery]
            do {
                deliveries = try await broker.receive(
                    from: configuration.queues, limit: capacity, lease: configuration.lease, timeout: .seconds(1))
                failures = 0
            } catch let error as QueueError where error.isBrokerGone {
                logger.error("\(error); stopping")
                state.withLock { $0.failure = error }
                shutdown()
                continue
            } catch {
                failures += 1
                let pause = Duration.milliseconds(min(5_000, 100 << min(failures, 6)))
                logger.warning("cannot receive from the broker (\(error)); retrying in \(pause)")
                await stopRequested.wait(after: stopRequested.generation, timeout: pause)
                continue
            }
            for delivery in deliveries { await accept(delivery) }
        }
    }

    private func accept(_ delivery: Delivery) async {
        guard delivery.body.count <= configuration.maxMessageSize else {
            reject(
                delivery,
                MessageError(
                    "the message is \(delivery.body.count) bytes, more than this worker's limit of "
                        + "\(configuration.maxMessageSize)", taskId: MessageCodec.identify(delivery.body).id))
            return
        }
        let message: TaskMessage
        do {
            message = try MessageCodec.decode(delivery.body)
        } catch {
            reject(delivery, error)
            return
        }
        let job = Job(delivery: delivery, message: message)
        state.withLock { $0.held[delivery.tag] = job }
        let received = configuration.trackStarted ? [TaskResult(taskId: message.id, status: .received)] : []
        committer.enqueue(
            results: received,
            events: taskEvent(
                "task-received", message,
                [
                    "name": .string(message.task), "args": .string(JSONValue.array(message.args).jsonText),
                    "kwargs": .string(JSONValue.object(message.kwargs).jsonText),
                    "retries": .integer(Int64(message.retries)),
                    "root_id": message.rootId.map(JSONValue.string) ?? .null,
                    "parent_id": message.parentId.map(JSONValue.string) ?? .null,
                    "eta": message.eta.map { .string(ISODate.format($0)) } ?? .null,
                    "queue": .string(delivery.queue), "redelivered": .bool(delivery.redelivered || message.redelivered),
                ]))
        if let eta = message.eta, eta > now() {
            let wait = min(eta.timeIntervalSince(now()), Seconds.limit)
            let timer = Task {
                guard (try? await Task.sleep(for: .seconds(wait))) != nil else { return }
                self.state.withLock { _ = $0.etaTimers.removeValue(forKey: delivery.tag) }
                try? self.ready.tryPut(job)
            }
            state.withLock { $0.etaTimers[delivery.tag] = timer }
        } else {
            try? ready.tryPut(job)
        }
    }

    /// Moves a message the worker cannot run to the dead letters with the reason, and stores a FAILURE with that
    /// reason when the message names a task id, so whoever waits for the result hears why.
    ///
    /// The reason is cut to ``DeadLetterLimits/maxReasonLength``'s default: it can quote a field of any length.
    private func reject(_ delivery: Delivery, _ error: MessageError) {
        let reason = DeadLetterLimits.cut(error.reason, to: DeadLetterLimits().maxReasonLength)
        logger.warning("dead letter from \(delivery.queue): \(reason)")
        var results: [TaskResult] = []
        if let id = error.taskId {
            results.append(
                .failure(
                    taskId: id,
                    TaskError(
                        type: "InvalidTaskMessage", message: reason,
                        module: "simul")))
        }
        committer.enqueue(results: results, commit: BrokerCommit(deadLetter: [(delivery, reason)]))
    }

    // MARK: Leases, revocations, shutdown

    private func every(_ interval: Duration, _ body: @Sendable () async -> Void) async {
        while !Task.isCancelled {
            guard (try? await Task.sleep(for: interval)) != nil else { return }
            await body()
        }
    }

    private func renewLeases() async {
        let tags = state.withLock { Array($0.held.keys) }
        guard !tags.isEmpty else { return }
        do {
            try await broker.renew(tags, lease: configuration.lease)
        } catch {
            logger.warning("cannot renew leases: \(error)")
        }
    }

    /// Every `revocationInterval`, reads the revocations stored since the last read: the broker's cursor makes each
    /// poll cost what is new, not the size of the set.
    private func followRevocations(from cursor: RevocationCursor?) async {
        var cursor = cursor
        while (try? await Task.sleep(for: configuration.revocationInterval)) != nil {
            cursor = await readRevocations(after: cursor)
        }
    }

    /// Applies the revocations stored after `cursor` (all of them when `nil`).
    /// - Returns: the cursor to read from next; `cursor` itself when the broker cannot be read.
    private func readRevocations(after cursor: RevocationCursor?) async -> RevocationCursor? {
        do {
            let read = try await broker.revocations(after: cursor)
            applyRevocations(read.revocations)
            return read.cursor
        } catch {
            logger.debug("cannot read revocations: \(error)")
            return cursor
        }
    }

    /// Adds `revocations`, from the broker or by remote control, to the revoked set, and stops the running tasks
    /// they revoke with termination. The lock is held for O(new revocations + running tasks).
    func applyRevocations(_ revocations: [Revocation]) {
        guard !revocations.isEmpty else { return }
        let time = now()
        let terminating = Set(revocations.lazy.filter(\.terminate).map(\.id))
        let toStop = state.withLock { state -> [(TaskContext, Task<Void, Never>?)] in
            for revocation in revocations { state.revoked.insert(revocation, now: time) }
            guard !terminating.isEmpty else { return [] }
            return state.running.values.compactMap { running in
                guard terminating.contains(running.message.id), !running.context.isCancelled else { return nil }
                return (running.context, running.work)
            }
        }
        for (context, work) in toStop {
            logger.info("terminating revoked task \(context.name)[\(context.id)]")
            context.stop(.revoked("terminated"))
            work?.cancel()
        }
    }

    /// After fetching stops: put back what is waiting, let running tasks finish, put back what is left.
    private func drain() async {
        ready.shutdown(immediate: true)
        let waiting = state.withLock { state -> [String] in
            for timer in state.etaTimers.values { timer.cancel() }
            state.etaTimers.removeAll()
            // Finished messages are not waiting: their batch acknowledges them (or, abandoned, leaves them leased).
            let waiting = state.held.keys.filter { state.running[$0] == nil && !state.finished.contains($0) }
            for tag in waiting { state.held[tag] = nil }
            return waiting
        }
        if !waiting.isEmpty {
            logger.info("returning \(waiting.count) waiting messages to the queue")
            try? await committer.write(BrokerCommit(requeue: waiting))
        }
        let deadline = ContinuousClock.now + configuration.shutdownTimeout
        while ContinuousClock.now < deadline {
            let generation = released.generation
            let (busy, cold) = state.withLock { ($0.running.count, $0.cold) }
            if busy == 0 || cold { break }
            await released.wait(after: generation, timeout: deadline - .now)
        }
        // A cold shutdown abandoned the writes already; a warm one gives them until its deadline.
        await committer.flush(abandoningAt: deadline)
        let unfinished = state.withLock { state -> [String] in
            let tags = Array(state.held.keys)
            state.held.removeAll()
            for running in state.running.values { running.work?.cancel() }
            return tags
        }
        if !unfinished.isEmpty {
            logger.warning("returning \(unfinished.count) unfinished messages to the queue")
            try? await committer.write(BrokerCommit(requeue: unfinished))
        }
        committer.finish()
    }

    // MARK: Events

    func workerEvent(_ type: String) -> QueueEvent {
        let (active, processed) = state.withLock { ($0.running.count, $0.processed) }
        var load: [JSONValue] = []
        var averages = [Double](repeating: 0, count: 3)
        if getloadavg(&averages, 3) == 3 { load = averages.map { .number(($0 * 100).rounded() / 100) } }
        return QueueEvent(
            type, hostname: configuration.name,
            [
                "freq": .number(configuration.heartbeatInterval.seconds), "active": .integer(Int64(active)),
                "processed": .integer(Int64(processed)), "loadavg": .array(load), "sw_ident": "simul",
                "sw_ver": "0.1", "sw_sys": .string(SystemInfo.operatingSystem),
                "pool": .string(configuration.pool.rawValue), "concurrency": .integer(Int64(configuration.concurrency)),
                "queues": .array(configuration.queues.map(JSONValue.string)),
            ])
    }

    /// The task event, or none when task events are off.
    func taskEvent(_ type: String, _ message: TaskMessage, _ fields: @autoclosure () -> [String: JSONValue] = [:])
        -> [QueueEvent]
    {
        guard configuration.taskEvents else { return [] }
        var fields = fields()
        fields["uuid"] = .string(message.id)
        return [QueueEvent(type, hostname: configuration.name, fields)]
    }
}
