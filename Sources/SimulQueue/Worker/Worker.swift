import Foundation
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
    typealias Job = WorkerStateMachine.Job

    let catalog: TaskCatalog
    let broker: any Broker
    let backend: any ResultBackend
    /// What its tasks send further tasks with (``TaskContext/client``).
    let client: QueueClient
    let configuration: WorkerConfiguration
    let logger: Logger
    let clock: any QueueClock
    let state: Mutex<State>
    /// One permit per job made ready, and one per slot when the worker stops: a slot waits on it, and each wakes
    /// one slot, not all of them.
    let readyPermits = AsyncSemaphore(value: 0)
    /// Signalled when a slot frees, a batch is written, or the worker stops: what fetching and draining wait for.
    let changed = ChangeSignal()
    /// Signalled when an earlier ETA arrives, or the worker stops.
    let scheduleChanged = ChangeSignal()
    let committer: Committer
    let limiter: RateLimiter
    let executor: TaskExecutorPool
    let started: Date
    /// Slot loops to start: `pool_grow` yields how many, and the slot group starts them.
    let newSlots: AsyncStream<Int>
    let newSlotsContinuation: AsyncStream<Int>.Continuation
    /// Task events on or off: ``WorkerConfiguration/taskEvents``, then `enable_events` and `disable_events`.
    let taskEventsEnabled: Atomic<Bool>
    /// Celery's Lamport clock, which remote control carries in its headers.
    let lamportClock = Atomic<Int>(0)
    /// Rate and time limits set by remote control, by task name; they override the task's own.
    let limitOverrides = Mutex(LimitOverrides())
    /// The swift-metrics instruments, or `nil` when no metrics backend is bootstrapped.
    let metrics: WorkerMetrics?
    /// Whether a message with a malformed `traceparent` came, which the worker says once.
    let malformedTraceParentSeen = Atomic(false)

    /// Limits set by `rate_limit` and `time_limit`, over the registered ones.
    struct LimitOverrides {
        /// A task's rate limit; `.some(nil)` when remote control turned it off.
        var rates: [String: RateLimit?] = [:]
        /// A task's soft and hard time limits; `nil` for no limit.
        var timeLimits: [String: (soft: Double?, hard: Double?)] = [:]
    }

    /// A running task's handles: what stops it.
    struct Running {
        let context: TaskContext
        let message: TaskMessage
        /// When it started, for `inspect active`.
        let started: Date
        var work: Task<Void, Never>?
    }

    struct State {
        /// The decisions: what is held, ready, running and finished, and the shutdown's phase.
        var machine: WorkerStateMachine
        /// The running tasks' handles, by delivery tag.
        var running: [String: Running] = [:]
        /// Jobs that waited out their rate limit's turn, off the slots: they start without taking another.
        var waitedTurns: Set<String> = []
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
    ///
    /// Its metrics go to the swift-metrics backend bootstrapped when it is created; with none, it makes no
    /// instruments (docs/observability.md).
    /// - Parameters:
    ///   - catalog: the tasks it can run.
    ///   - broker: where messages come from. The worker follows its stored revocations when it is a
    ///     ``RevocationStore``, and serves remote control when it has ``Broker/remoteControl``.
    ///   - backend: where results go.
    ///   - configuration: its queues, pool and limits.
    ///   - logger: where it reports. Made with ``Logging/Logger/MetadataProvider/simulTask``, its lines about a task
    ///     carry the task (``TaskLogMetadata``).
    ///   - clock: its time: ETAs, expiry, leases, time limits, rate limits, retries and the shutdown timeout.
    public init(
        catalog: TaskCatalog, broker: any Broker, backend: any ResultBackend,
        configuration: WorkerConfiguration = .init(), logger: Logger = Logger(label: "simul.worker"),
        clock: any QueueClock = .system
    ) {
        precondition(configuration.concurrency >= 1, "a worker needs a concurrency of at least 1")
        self.catalog = catalog
        self.broker = broker
        self.backend = backend
        client = QueueClient(broker: broker, backend: backend, clock: clock)
        var configuration = configuration
        if configuration.pool == .solo { configuration.concurrency = 1 }
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        started = clock.now
        state = Mutex(
            State(
                machine: WorkerStateMachine(
                    prefetch: configuration.prefetch, concurrency: configuration.concurrency,
                    shutdownTimeout: configuration.shutdownTimeout, revocationLimits: configuration.revocationLimits,
                    queues: configuration.queues, maxConcurrency: configuration.poolCapacity,
                    resizable: configuration.pool != .solo)))
        committer = Committer(broker: broker, backend: backend, logger: logger, clock: clock)
        limiter = RateLimiter()
        executor = TaskExecutorPool(configuration: configuration)
        (newSlots, newSlotsContinuation) = AsyncStream.makeStream(of: Int.self)
        taskEventsEnabled = Atomic(configuration.taskEvents)
        metrics = WorkerMetrics.bootstrapped()
    }

    /// The current counts.
    public var stats: Stats {
        state.withLock {
            Stats(
                processed: $0.machine.processed, failed: $0.machine.failed, active: $0.machine.running.count,
                held: $0.machine.held.count)
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
        let now = clock.now
        let (running, cold, slots) = state.withLock { state -> ([Task<Void, Never>], Bool, Int) in
            let cold = state.machine.stop(cold: forced, at: now)
            return (cold ? state.running.values.compactMap(\.work) : [], cold, state.machine.slots)
        }
        for work in running { work.cancel() }
        if cold { committer.abandon() }
        newSlotsContinuation.finish()
        for _ in 0..<slots { readyPermits.release() }
        changed.signal()
        scheduleChanged.signal()
    }

    /// Runs until ``shutdown()`` finishes, then returns. In a `ServiceGroup`, the group's graceful shutdown starts
    /// a warm shutdown, and cancelling the task a cold one.
    /// - Throws: ``QueueError`` if the broker fails at start, or if it can no longer be used
    ///   (``QueueError/isBrokerGone``): then the worker stops as after a warm shutdown, and throws that.
    public func run() async throws {
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                // The work runs in a task of its own, which the caller's cancellation does not reach: that becomes a
                // cold shutdown, which stops the loops in order. Cancelled, their waits would end at once, and a loop
                // waiting for its next turn would spin until the shutdown reached it.
                try await Task { try await self.work() }.value
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
        let revocations = broker.revocationStore
        let revocationCursor: RevocationCursor? =
            if let revocations { await readRevocations(from: revocations, after: nil) } else { nil }
        if configuration.mingle, let control = broker.remoteControl { await mingle(through: control) }
        logger.info(
            "worker \(configuration.name) ready: pool \(configuration.pool.rawValue), concurrency \(configuration.concurrency), queues \(configuration.queues.joined(separator: ","))"
        )
        // The committer is not cancelled with the loops: the drain waited for the results, and what the loops left
        // after it (events) is tried once; then it returns.
        await withTaskGroup(of: Void.self) { writing in
            writing.addTask {
                await self.committer.run { tags in
                    self.state.withLock { $0.machine.release(tags) }
                    self.changed.signal()
                }
            }
            await runLoops(revocations: revocations, from: revocationCursor)
            committer.abandon()
            committer.finish()
        }
        await executor.shutdown()
        try? await committer.write(BrokerCommit(events: [workerEvent("worker-offline")]))
        logger.info("worker \(configuration.name) stopped")
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// Fetches and runs tasks until the worker stops, with the loops beside them (slots, scheduled messages, metrics,
    /// leases, revocations, remote control, heartbeats), then drains and cancels those loops.
    private func runLoops(revocations: (any RevocationStore)?, from revocationCursor: RevocationCursor?) async {
        await withTaskGroup(of: Void.self) { group in
            let slots = configuration.concurrency
            group.addTask {
                await withTaskGroup(of: Void.self) { slotGroup in
                    for _ in 0..<slots { slotGroup.addTask { await self.slotLoop() } }
                    // `pool_grow` adds slots; the stream ends when the worker stops.
                    for await count in self.newSlots {
                        for _ in 0..<count { slotGroup.addTask { await self.slotLoop() } }
                    }
                }
            }
            group.addTask { await self.releaseScheduled() }
            if let metrics { group.addTask { await self.sampleMetrics(metrics) } }
            group.addTask { await self.every(self.configuration.lease / 3) { await self.renewLeases() } }
            if let revocations {
                group.addTask { await self.followRevocations(in: revocations, from: revocationCursor) }
            }
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
    }

    private var isStopping: Bool { state.withLock { $0.machine.phase != .running } }

    // MARK: Fetching

    private func fetchLoop() async {
        var failures = 0
        while !isStopping {
            let generation = changed.generation
            let (capacity, queues) = state.withLock { ($0.machine.fetchCapacity, $0.machine.queues) }
            guard capacity > 0 else {
                await changed.wait(after: generation)
                continue
            }
            let deliveries: [Delivery]
            do {
                deliveries = try await broker.receive(
                    from: queues, limit: capacity, lease: configuration.lease, timeout: .seconds(1))
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
                try? await clock.sleep(for: pause)
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
        recordReceived(message, queue: delivery.queue, redelivered: delivery.redelivered || message.redelivered)
        let lapsed = max(delivery.lapsedLeases, message.lapsedLeases)
        if let limit = configuration.maxLapsedLeases, lapsed >= limit {
            let reason =
                "redelivered \(lapsed) times: each worker that took it stopped before finishing it "
                + "(does \(message.task) kill its worker?)"
            reject(
                delivery, MessageError(reason, taskId: message.id, taskName: message.task),
                as: TaskError(type: "WorkerLostError", message: reason, module: "celery.exceptions"))
            return
        }
        let job = Job(delivery: delivery, message: message)
        let now = clock.now
        let (ready, earliest) = state.withLock { state in
            let before = state.machine.nextDue
            let ready = state.machine.receive(job, at: now)
            return (ready, state.machine.nextDue != before)
        }
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
        if ready {
            readyPermits.release()
        } else if earliest {
            scheduleChanged.signal()
        }
    }

    /// Makes messages ready as their ETAs come, sleeping on the clock until the earliest.
    private func releaseScheduled() async {
        while !Task.isCancelled {
            let generation = scheduleChanged.generation
            let (due, stopping) = state.withLock { ($0.machine.nextDue, $0.machine.phase != .running) }
            if stopping { return }
            await scheduleChanged.wait(after: generation, until: due, on: clock)
            let released = state.withLock { $0.machine.releaseDue(at: clock.now) }
            for _ in 0..<released { readyPermits.release() }
        }
    }

    /// Moves a message the worker cannot run to the dead letters with the reason, and stores a FAILURE with that
    /// reason when the message names a task id, so whoever waits for the result hears why: `failure`, or an
    /// `InvalidTaskMessage`.
    ///
    /// The reason is cut to ``DeadLetterLimits/maxReasonLength``'s default: it can quote a field of any length.
    private func reject(_ delivery: Delivery, _ error: MessageError, as failure: TaskError? = nil) {
        let reason = DeadLetterLimits.cut(error.reason, to: DeadLetterLimits().maxReasonLength)
        logger.warning("dead letter from \(delivery.queue): \(reason)")
        recordDeadLetter(delivery)
        var results: [TaskResult] = []
        if let id = error.taskId {
            results.append(
                .failure(taskId: id, failure ?? TaskError(type: "InvalidTaskMessage", message: reason, module: "simul"))
            )
        }
        committer.enqueue(results: results, commit: BrokerCommit(deadLetter: [(delivery, reason)]))
    }

    // MARK: Leases, revocations, shutdown

    private func every(_ interval: Duration, _ body: @Sendable () async -> Void) async {
        while !Task.isCancelled {
            guard (try? await clock.sleep(for: interval)) != nil else { return }
            await body()
        }
    }

    private func renewLeases() async {
        let tags = state.withLock { $0.machine.leases }
        guard !tags.isEmpty else { return }
        do {
            try await broker.renew(tags, lease: configuration.lease)
        } catch {
            logger.warning("cannot renew leases: \(error)")
        }
    }

    /// Every `revocationInterval`, reads the revocations stored since the last read: the broker's cursor makes each
    /// poll cost what is new, not the size of the set.
    private func followRevocations(in store: any RevocationStore, from cursor: RevocationCursor?) async {
        var cursor = cursor
        while (try? await clock.sleep(for: configuration.revocationInterval)) != nil {
            cursor = await readRevocations(from: store, after: cursor)
        }
    }

    /// Applies the revocations stored after `cursor` (all of them when `nil`).
    /// - Returns: the cursor to read from next; `cursor` itself when the broker cannot be read.
    private func readRevocations(from store: any RevocationStore, after cursor: RevocationCursor?) async
        -> RevocationCursor?
    {
        do {
            let read = try await store.revocations(after: cursor)
            applyRevocations(read.revocations)
            return read.cursor
        } catch {
            logger.debug("cannot read revocations: \(error)")
            return cursor
        }
    }

    /// Adds `revocations`, from the broker or by remote control, to the revoked set, and stops the running tasks
    /// they revoke with termination. The lock is held for O(new revocations + running tasks).
    /// - Returns: the ids of the running tasks it stops.
    @discardableResult
    func applyRevocations(_ revocations: [Revocation]) -> [String] {
        guard !revocations.isEmpty else { return [] }
        let now = clock.now
        let toStop = state.withLock { state -> [(TaskContext, Task<Void, Never>?)] in
            state.machine.revoke(revocations, at: now).compactMap { tag in
                guard let running = state.running[tag], !running.context.isCancelled else { return nil }
                return (running.context, running.work)
            }
        }
        for (context, work) in toStop {
            logger.info("terminating revoked task \(context.name)[\(context.id)]")
            context.stop(.revoked("terminated"))
            work?.cancel()
        }
        return toStop.map(\.0.id)
    }

    /// After fetching stops: put back what is waiting, let running tasks finish, put back what is left.
    private func drain() async {
        changed.signal()
        let waiting = state.withLock { $0.machine.returnWaiting() }
        if !waiting.isEmpty {
            logger.info("returning \(waiting.count) waiting messages to the queue")
            try? await committer.write(BrokerCommit(requeue: waiting))
        }
        let deadline = state.withLock { $0.machine.shutdownDeadline } ?? clock.now
        while clock.now < deadline {
            let generation = changed.generation
            if state.withLock({ $0.machine.runningHaveEnded }) { break }
            await changed.wait(after: generation, until: deadline, on: clock)
        }
        // A cold shutdown abandoned the writes already; a warm one gives them until its deadline.
        await committer.flush(abandoningAt: deadline)
        let unfinished = state.withLock { state -> [String] in
            for running in state.running.values { running.work?.cancel() }
            return state.machine.returnUnfinished()
        }
        if !unfinished.isEmpty {
            logger.warning("returning \(unfinished.count) unfinished messages to the queue")
            try? await committer.write(BrokerCommit(requeue: unfinished))
        }
    }

    // MARK: Events

    func workerEvent(_ type: String) -> QueueEvent {
        let (active, processed, concurrency, queues) = state.withLock {
            ($0.machine.running.count, $0.machine.processed, $0.machine.concurrency, $0.machine.queues)
        }
        var load: [JSONValue] = []
        var averages = [Double](repeating: 0, count: 3)
        if getloadavg(&averages, 3) == 3 { load = averages.map { .number(($0 * 100).rounded() / 100) } }
        return QueueEvent(
            type, hostname: configuration.name, at: clock.now,
            [
                "freq": .number(configuration.heartbeatInterval.seconds), "active": .integer(Int64(active)),
                "processed": .integer(Int64(processed)), "loadavg": .array(load), "sw_ident": "simul",
                "sw_ver": "0.1", "sw_sys": .string(SystemInfo.operatingSystem),
                "pool": .string(configuration.pool.rawValue), "concurrency": .integer(Int64(concurrency)),
                "queues": .array(queues.map(JSONValue.string)),
            ])
    }

    /// The task event, or none when task events are off.
    func taskEvent(_ type: String, _ message: TaskMessage, _ fields: @autoclosure () -> [String: JSONValue] = [:])
        -> [QueueEvent]
    {
        guard taskEventsEnabled.load(ordering: .relaxed) else { return [] }
        var fields = fields()
        fields["uuid"] = .string(message.id)
        return [QueueEvent(type, hostname: configuration.name, at: clock.now, fields)]
    }
}
