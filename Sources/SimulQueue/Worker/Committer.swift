import Foundation
import Logging
import Synchronization
import Tracing

/// Writes a worker's results, acknowledgements, follow-up messages and events in batches.
///
/// Tasks finishing close together share one result write and one broker commit (group commit), so a durable
/// broker pays one sync per batch rather than per task. A failed write is retried with backoff and its batch kept:
/// nothing is acknowledged before its result is stored. A shutdown that cannot wait any longer calls ``abandon()``:
/// from then on a write is tried once and, if it fails, dropped; its messages stay leased in the broker and go back
/// to their queue when their leases end, so nothing is lost.
final class Committer: Sendable {
    private struct Pending {
        var results: [TaskResult] = []
        var commit = BrokerCommit()
        /// The trace contexts of the tasks whose results are in the batch.
        var traced: [ServiceContext] = []
        var finished = false
        var abandoned = false
        /// Enqueue calls so far, and how many of them are written.
        var enqueued = 0
        var written = 0
    }

    private let broker: any Broker
    private let backend: any ResultBackend
    private let logger: Logger
    private let clock: any QueueClock
    private let pending = Mutex(Pending())
    private let changed = ChangeSignal()
    private let written = ChangeSignal()
    private let abandoned = ChangeSignal()

    init(broker: any Broker, backend: any ResultBackend, logger: Logger, clock: any QueueClock) {
        self.broker = broker
        self.backend = backend
        self.logger = logger
        self.clock = clock
    }

    /// Adds writes to the next batch, stamping each ready result's `dateDone` with the clock's time.
    /// - Parameter context: the trace context of the task whose writes these are, if it is traced: the span of the
    ///   batch's write is its child, or links to it.
    func enqueue(
        results: [TaskResult] = [], commit: BrokerCommit = .init(), events: [QueueEvent] = [],
        tracedBy context: ServiceContext? = nil
    ) {
        var results = results
        if results.contains(where: \.status.isReady) {
            let now = clock.now
            for index in results.indices where results[index].status.isReady && results[index].dateDone == nil {
                results[index].dateDone = now
            }
        }
        pending.withLock { pending in
            pending.results += results
            pending.commit.append(commit)
            pending.commit.events += events
            if let context { pending.traced.append(context) }
            pending.enqueued += 1
        }
        changed.signal()
    }

    /// Writes `commit` now, outside the batches.
    func write(_ commit: BrokerCommit) async throws { try await broker.commit(commit) }

    /// Writes batches until ``finish()``, telling `released` the delivery tags each batch acknowledged, requeued or
    /// dead-lettered.
    func run(released: @Sendable ([String]) -> Void) async {
        while true {
            let generation = changed.generation
            let (results, commit, traced, upTo, finished) = pending.withLock { pending in
                defer {
                    pending.results = []
                    pending.commit = BrokerCommit()
                    pending.traced = []
                }
                return (pending.results, pending.commit, pending.traced, pending.enqueued, pending.finished)
            }
            if results.isEmpty && commit.isEmpty {
                pending.withLock { $0.written = upTo }
                written.signal()
                if finished { return }
                await changed.wait(after: generation)
                continue
            }
            await write(results: results, commit: commit, traced: traced)
            released(commit.ack + commit.requeue + commit.deadLetter.map(\.delivery.tag))
            pending.withLock { $0.written = upTo }
            written.signal()
        }
    }

    /// Waits until everything enqueued so far is written, or, past `deadline`, abandons what is not (see
    /// ``abandon()``) and waits for that.
    func flush(abandoningAt deadline: Date? = nil) async {
        let target = pending.withLock { $0.enqueued }
        changed.signal()
        while true {
            let generation = written.generation
            if pending.withLock({ $0.written >= target }) { return }
            if let deadline, clock.now >= deadline {
                abandon()
                await written.wait(after: generation)
            } else {
                await written.wait(after: generation, until: deadline, on: clock)
            }
        }
    }

    /// Stops retrying failed writes, for a shutdown that cannot wait: the write in progress and every later one is
    /// tried once, then dropped. Their messages stay leased and go back to their queue when the leases end.
    func abandon() {
        let first = pending.withLock { pending in
            defer { pending.abandoned = true }
            return !pending.abandoned
        }
        if first { abandoned.signal() }
    }

    private var isAbandoned: Bool { pending.withLock { $0.abandoned } }

    /// Lets ``run()`` return once the queue is empty.
    func finish() {
        pending.withLock { $0.finished = true }
        changed.signal()
    }

    /// Writes a batch, inside a `store_results` span when tasks in it are traced: a child of the first one's run span,
    /// linked to the others'.
    private func write(results: [TaskResult], commit: BrokerCommit, traced: [ServiceContext]) async {
        guard let parent = traced.first, let tracer = MessageTracing.tracer else {
            return await writeWithRetry(results: results, commit: commit)
        }
        let span = tracer.startSpan("store_results", context: parent, ofKind: .client)
        for other in traced.dropFirst() { span.addLink(SpanLink(context: other, attributes: [:])) }
        if span.isRecording {
            span.updateAttributes { attributes in
                attributes["celery.action"] = "store_results"
                attributes["simul.results.count"] = results.count
                attributes["simul.messages.sent"] = commit.send.count
                attributes["simul.messages.acknowledged"] = commit.ack.count
            }
        }
        await writeWithRetry(results: results, commit: commit)
        span.end()
    }

    private func writeWithRetry(results: [TaskResult], commit: BrokerCommit) async {
        await retrying { try await broker.commit(commit, storing: results, in: backend) }
    }

    /// Runs `write` until it succeeds, pausing longer after each failure: nothing is dropped while the broker is
    /// away, unless the committer is abandoned.
    private func retrying(_ write: () async throws -> Void) async {
        var attempt = 0
        while true {
            let generation = abandoned.generation
            do {
                try await write()
                return
            } catch {
                // A cancelled task's writes fail at once, and its waits end at once: it must not go round again.
                if isAbandoned || Task.isCancelled {
                    logger.warning("cannot write results (\(error)); shutting down: their messages go back by lease")
                    return
                }
                attempt += 1
                let pause = Duration.milliseconds(min(5_000, 50 << min(attempt, 7)))
                logger.warning("cannot write results (\(error)); retrying in \(pause)")
                await abandoned.wait(after: generation, timeout: pause, on: clock)
            }
        }
    }
}
