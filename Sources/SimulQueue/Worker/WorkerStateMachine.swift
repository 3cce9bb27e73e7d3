import Foundation
import Simul

/// A worker's bookkeeping and decisions, with no I/O, no locks and no clock of its own: how much to fetch, what runs
/// next, when an ETA is due, which leases to renew, what goes back to the queue and when shutdown ends.
///
/// ``Worker`` is the shell around it: it receives, runs, writes and sleeps, and tells the machine what happened,
/// passing the time it read from its ``QueueClock``. Tests drive the machine directly, without threads or waiting.
struct WorkerStateMachine {
    /// A message the worker holds: waiting for its ETA, waiting for a slot, running, or written but not yet
    /// acknowledged.
    struct Job: Sendable {
        let delivery: Delivery
        let message: TaskMessage

        var tag: String { delivery.tag }
    }

    /// Where the worker is in its life.
    enum Phase: Equatable {
        /// Fetching and running.
        case running
        /// A warm shutdown: nothing new starts, running tasks may finish.
        case warm
        /// A cold shutdown: running tasks are stopped and go back to their queue.
        case cold
    }

    /// What a slot does next.
    enum Next {
        /// Run this job; `revoked` when it was revoked before it started.
        case run(Job, revoked: Bool)
        /// Nothing is ready: wait until something is.
        case wait
        /// The worker is stopping: the slot ends.
        case stop
        /// The pool shrank: this slot ends, the others go on.
        case retire
    }

    /// What a request to resize the pool came to: Celery's `pool_grow` and `pool_shrink`.
    enum Resize: Equatable {
        /// The pool has `concurrency` slots now; the shell starts `newSlots` slot loops (the rest retire when they
        /// next look for work).
        case resized(concurrency: Int, newSlots: Int)
        /// Refused, with the reason a remote-control client sees.
        case refused(String)
    }

    /// Messages held per slot: the prefetch is `concurrency × prefetchMultiplier`.
    let prefetchMultiplier: Int
    /// The most slots `pool_grow` may reach: the pool was made with room for this many.
    let maxConcurrency: Int
    /// Whether the pool can change its size (the solo pool cannot).
    let resizable: Bool
    /// The most messages held waiting to run; it follows the concurrency.
    private(set) var prefetch: Int
    /// Tasks that may run at once.
    private(set) var concurrency: Int
    /// Slot loops that have not retired; more than `concurrency` for a while after a shrink.
    private(set) var slots: Int
    /// The queues the worker consumes from, in order.
    private(set) var queues: [String]
    /// Tasks started, by name: Celery's `stats.total`.
    private(set) var totals: [String: Int] = [:]
    /// How long a warm shutdown lets running tasks finish and results be written.
    let shutdownTimeout: Duration
    private(set) var phase = Phase.running
    /// When the shutdown stops waiting: the shutdown timeout after it was asked for.
    private(set) var shutdownDeadline: Date?
    /// Every message received and not yet acknowledged or requeued, by delivery tag.
    private(set) var held: [String: Job] = [:]
    /// Held messages whose ETA has not come, with the time it comes.
    private(set) var scheduled: [String: Date] = [:]
    /// Held messages due to run, oldest first.
    private var ready: [String] = []
    /// Held messages that are running.
    private(set) var running: Set<String> = []
    /// Held messages that have run and wait for their batch to be written.
    private(set) var finished: Set<String> = []
    /// Every revocation, read from the broker or received by remote control.
    private(set) var revoked: RevokedSet
    private(set) var processed = 0
    private(set) var failed = 0

    init(
        prefetch: Int, concurrency: Int, shutdownTimeout: Duration, revocationLimits: RevokedSet.Limits,
        queues: [String] = ["celery"], maxConcurrency: Int? = nil, resizable: Bool = true
    ) {
        self.prefetch = prefetch
        self.concurrency = concurrency
        self.shutdownTimeout = shutdownTimeout
        self.queues = queues
        self.maxConcurrency = max(concurrency, maxConcurrency ?? concurrency)
        self.resizable = resizable
        prefetchMultiplier = max(1, prefetch / max(1, concurrency))
        slots = concurrency
        revoked = RevokedSet(limits: revocationLimits)
    }

    // MARK: Remote control

    /// Grows the pool by `n` slots (Celery's `pool_grow`), up to ``maxConcurrency``; the prefetch grows with it.
    mutating func grow(by n: Int) -> Resize {
        guard resizable else { return .refused("the solo pool runs one task at a time; it cannot grow") }
        guard n >= 1 else { return .refused("pool_grow needs n of at least 1, got \(n)") }
        guard phase == .running else { return .refused("the worker is shutting down") }
        guard concurrency + n <= maxConcurrency else {
            return .refused(
                "cannot grow the pool to \(concurrency + n): this worker was started with room for \(maxConcurrency) "
                    + "(simul worker --max-concurrency)")
        }
        concurrency += n
        prefetch = concurrency * prefetchMultiplier
        // Slots that a shrink asked to retire and that have not yet retired are kept instead of new ones.
        let newSlots = max(0, concurrency - slots)
        slots += newSlots
        return .resized(concurrency: concurrency, newSlots: newSlots)
    }

    /// Shrinks the pool by `n` slots (Celery's `pool_shrink`), keeping at least one; running tasks finish, and their
    /// slots then retire. The prefetch shrinks with it.
    mutating func shrink(by n: Int) -> Resize {
        guard resizable else { return .refused("the solo pool runs one task at a time; it cannot shrink") }
        guard n >= 1 else { return .refused("pool_shrink needs n of at least 1, got \(n)") }
        guard concurrency - n >= 1 else {
            return .refused("cannot shrink the pool of \(concurrency) by \(n): at least one slot stays")
        }
        concurrency -= n
        prefetch = concurrency * prefetchMultiplier
        return .resized(concurrency: concurrency, newSlots: 0)
    }

    /// Starts consuming from `queue` (Celery's `add_consumer`); adding a queue consumed already changes nothing.
    /// - Returns: whether the queue is new.
    @discardableResult
    mutating func addConsumer(_ queue: String) -> Bool {
        guard !queues.contains(queue) else { return false }
        queues.append(queue)
        return true
    }

    /// Stops consuming from `queue` (Celery's `cancel_consumer`); messages already held from it still run.
    /// - Returns: whether the queue was consumed.
    @discardableResult
    mutating func cancelConsumer(_ queue: String) -> Bool {
        guard let index = queues.firstIndex(of: queue) else { return false }
        queues.remove(at: index)
        return true
    }

    // MARK: Fetching

    /// How many messages to ask the broker for now; 0 while stopping.
    ///
    /// Prefetch counts messages still to run; finished ones waiting for their write do not hold back the next
    /// receive, so receiving, running and writing overlap. Holding at most prefetch + concurrency bounds what a killed
    /// worker can leave to run twice: its running and finished-but-unwritten messages.
    var fetchCapacity: Int {
        guard phase == .running, !queues.isEmpty else { return 0 }
        return max(0, min(prefetch - (held.count - finished.count), prefetch + concurrency - held.count))
    }

    /// Holds a received message: due now, it is ready to run; with a later ETA, it waits for ``releaseDue(at:)``.
    /// - Returns: whether it is ready to run now.
    @discardableResult
    mutating func receive(_ job: Job, at now: Date) -> Bool {
        held[job.tag] = job
        if let eta = job.message.eta, eta > now {
            scheduled[job.tag] = eta
            return false
        }
        ready.append(job.tag)
        return true
    }

    /// The earliest ETA still to come, if any.
    var nextDue: Date? { scheduled.values.min() }

    /// Makes every message whose ETA has come ready, earliest first.
    /// - Returns: how many became ready.
    mutating func releaseDue(at now: Date) -> Int {
        let due = scheduled.filter { $0.value <= now }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
        for (tag, _) in due {
            scheduled[tag] = nil
            ready.append(tag)
        }
        return due.count
    }

    /// A job a slot took that may not start before `start` (its rate limit's turn): it leaves the slot and waits as
    /// an ETA does, for ``releaseDue(at:)``.
    mutating func postpone(_ tag: String, until start: Date) {
        guard running.remove(tag) != nil, let job = held[tag] else { return }
        totals[job.message.task, default: 1] -= 1
        scheduled[tag] = start
    }

    /// Messages ready to run, in the order they will start: Celery's reserved.
    var readyJobs: [Job] { ready.compactMap { held[$0] } }

    /// Running messages.
    var runningJobs: [Job] { running.compactMap { held[$0] } }

    /// Messages waiting for their ETA, earliest first.
    var scheduledJobs: [Job] {
        scheduled.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.compactMap { held[$0.key] }
    }

    // MARK: Running

    /// The next job for a free slot, marked running.
    mutating func next(at now: Date) -> Next {
        guard phase == .running else { return .stop }
        if slots > concurrency {
            slots -= 1
            return .retire
        }
        while !ready.isEmpty {
            let tag = ready.removeFirst()
            guard let job = held[tag] else { continue }
            running.insert(tag)
            totals[job.message.task, default: 0] += 1
            return .run(job, revoked: revoked.contains(job.message.id, now: now))
        }
        return .wait
    }

    /// A running job was stopped by a cold shutdown: it stays held, for the shutdown to put back.
    mutating func interrupt(_ tag: String) {
        running.remove(tag)
    }

    /// A running job finished, its result now waiting to be written with its acknowledgement.
    mutating func finish(_ tag: String, failed didFail: Bool) {
        running.remove(tag)
        if held[tag] != nil { finished.insert(tag) }
        processed += 1
        if didFail { failed += 1 }
    }

    /// The broker has acknowledged or requeued `tags`: they are no longer held.
    mutating func release(_ tags: [String]) {
        for tag in tags {
            held[tag] = nil
            finished.remove(tag)
        }
    }

    /// The leases to renew: every held message.
    var leases: [String] { Array(held.keys) }

    // MARK: Revocations

    /// Adds `revocations` to the revoked set.
    /// - Returns: the running messages' tags that a revocation with `terminate` stops.
    mutating func revoke(_ revocations: [Revocation], at now: Date) -> [String] {
        for revocation in revocations { revoked.insert(revocation, now: now) }
        let terminating = Set(revocations.lazy.filter(\.terminate).map(\.id))
        guard !terminating.isEmpty else { return [] }
        return running.filter { tag in held[tag].map { terminating.contains($0.message.id) } ?? false }
    }

    // MARK: Shutdown

    /// Stops warm, or cold when `cold` is set or a warm shutdown is under way already. The first call, at `now`,
    /// sets the ``shutdownDeadline``.
    /// - Returns: whether the worker is now stopping cold.
    mutating func stop(cold: Bool, at now: Date) -> Bool {
        if shutdownDeadline == nil { shutdownDeadline = now.addingTimeInterval(shutdownTimeout.seconds) }
        phase = phase == .running && !cold ? .warm : .cold
        return phase == .cold
    }

    /// The first step of a shutdown: every held message that is neither running nor finished goes back.
    /// - Returns: their tags, to requeue.
    mutating func returnWaiting() -> [String] {
        let waiting = held.keys.filter { !running.contains($0) && !finished.contains($0) }
        for tag in waiting { held[tag] = nil }
        scheduled.removeAll()
        ready.removeAll()
        return waiting
    }

    /// Whether the shutdown may stop waiting for running tasks: none is left, or the shutdown is cold.
    var runningHaveEnded: Bool { running.isEmpty || phase == .cold }

    /// The last step of a shutdown: what is still held goes back, running or not.
    /// - Returns: their tags, to requeue.
    mutating func returnUnfinished() -> [String] {
        let tags = Array(held.keys)
        held.removeAll()
        running.removeAll()
        finished.removeAll()
        return tags
    }
}
