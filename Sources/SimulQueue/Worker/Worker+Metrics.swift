import Foundation
import Logging
import Synchronization

extension Worker {
    /// Counts a received message, and a redelivered one again as redelivered.
    func recordReceived(_ message: TaskMessage, queue: String, redelivered: Bool) {
        guard let metrics else { return }
        metrics.count(.received, task: message.task, queue: queue)
        if redelivered { metrics.count(.redelivered, task: message.task, queue: queue) }
    }

    /// Counts a message moved to the dead letters, by the task name it names, if any.
    func recordDeadLetter(_ delivery: Delivery) {
        guard let metrics else { return }
        let task = MessageCodec.identify(delivery.body).task ?? "unknown"
        metrics.count(.deadLettered, task: task, queue: delivery.queue)
    }

    /// Counts a start, and the wait to `now` from the message's ETA, or else from its sent time when it has one.
    func recordStarted(_ message: TaskMessage, queue: String, at now: Date) {
        guard let metrics else { return }
        metrics.count(.started, task: message.task, queue: queue)
        if let since = message.eta ?? message.sentAt {
            metrics.recordQueueWait(now.timeIntervalSince(since), task: message.task, queue: queue)
        }
    }

    /// Counts what a task came to, and the runtime of one that ran.
    func recordFinished(_ message: TaskMessage, queue: String, outcome: Outcome, runtime: Double) {
        guard let metrics else { return }
        let status: WorkerMetrics.Status
        switch outcome {
        case .success: status = .succeeded
        case .failure(let error):
            metrics.count(.failed, task: message.task, queue: queue, exception: error.type)
            metrics.recordRuntime(runtime, task: message.task, queue: queue, status: .failed)
            return
        case .retry: status = .retried
        case .revoked:
            metrics.count(.revoked, task: message.task, queue: queue)
            return
        case .interrupted: return
        }
        metrics.count(status, task: message.task, queue: queue)
        metrics.recordRuntime(runtime, task: message.task, queue: queue, status: status)
    }

    /// Every ``WorkerConfiguration/metricsInterval``, from the start: the tasks running and prefetched, and the depth
    /// and oldest message's age of each queue the worker was configured for or consumes from, read from the broker
    /// when it can count them (``QueueAdministration/backlogs(of:)``).
    func sampleMetrics(_ metrics: WorkerMetrics) async {
        let configured = configuration.queues
        repeat {
            let (running, held, finished, queues) = state.withLock {
                ($0.machine.running.count, $0.machine.held.count, $0.machine.finished.count, $0.machine.queues)
            }
            metrics.setWorkerTasks(running: running, prefetched: max(0, held - running - finished))
            if let administration = broker.queueAdministration {
                do {
                    let backlogs = try await administration.backlogs(of: Array(Set(configured + queues)))
                    let now = clock.now
                    for (queue, backlog) in backlogs { metrics.setQueueBacklog(backlog, queue: queue, at: now) }
                } catch {
                    logger.debug("cannot read queue backlogs for metrics: \(error)")
                }
            }
        } while (try? await clock.sleep(for: configuration.metricsInterval)) != nil
    }
}
