import CoreMetrics
import Foundation
import Synchronization

/// The worker's swift-metrics instruments, named after swift-jobs' (docs/observability.md lists them).
///
/// A worker makes one when a metrics backend is bootstrapped (`MetricsSystem.bootstrap`), and none otherwise, so
/// with metrics off the task path pays one `nil` check per instrumentation point. Handles are cached per series,
/// because each `Counter(label:dimensions:)` is a locked lookup in the backend.
final class WorkerMetrics: Sendable {
    /// What happened to a task, the `status` label of ``tasksLabel``.
    enum Status: String, Sendable {
        case received, started, succeeded, failed, retried, revoked, redelivered
        case deadLettered = "dead_lettered"
    }

    /// Tasks by `name`, `queue` and `status` (and `exception` when failed): a counter.
    static let tasksLabel = "simul_tasks_total"
    /// Runtime by `name`, `queue` and `status`: a timer.
    static let runtimeLabel = "simul_task_duration_seconds"
    /// From a message's ETA, or else its sent time, to its start, by `name` and `queue`: a timer.
    static let queueWaitLabel = "simul_task_queued_duration_seconds"
    /// Tasks running and tasks prefetched, by `status` (`running`, `prefetched`): a meter.
    static let workerTasksLabel = "simul_worker_tasks"
    /// Waiting messages per `queue`, read from the broker: a meter.
    static let queueDepthLabel = "simul_queue_depth"
    /// The age of the oldest waiting message per `queue`, in seconds, read from the broker: a meter.
    static let queueOldestAgeLabel = "simul_queue_oldest_age_seconds"

    private struct Series: Hashable {
        var label: String
        var dimensions: [String]
    }

    private let factory: any MetricsFactory
    private let counters = Mutex<[Series: Counter]>([:])
    private let timers = Mutex<[Series: CoreMetrics.Timer]>([:])
    private let meters = Mutex<[Series: Meter]>([:])

    /// The instruments of the bootstrapped backend, or `nil` when none is (swift-metrics' no-op default).
    static func bootstrapped() -> WorkerMetrics? {
        let factory = MetricsSystem.factory
        return factory is NOOPMetricsHandler ? nil : WorkerMetrics(factory: factory)
    }

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// Counts one task event.
    func count(_ status: Status, task: String, queue: String, exception: String? = nil) {
        var dimensions = [("name", task), ("queue", queue), ("status", status.rawValue)]
        if let exception { dimensions.append(("exception", exception)) }
        let series = Series(label: Self.tasksLabel, dimensions: dimensions.map(\.1))
        let counter = counters.withLock { counters in
            if let counter = counters[series] { return counter }
            let counter = Counter(label: Self.tasksLabel, dimensions: dimensions, factory: factory)
            counters[series] = counter
            return counter
        }
        counter.increment()
    }

    /// Records a finished task's runtime.
    func recordRuntime(_ seconds: Double, task: String, queue: String, status: Status) {
        timer(Self.runtimeLabel, [("name", task), ("queue", queue), ("status", status.rawValue)])
            .recordSeconds(max(0, seconds))
    }

    /// Records how long a message waited, from its ETA or its sent time, before it started.
    func recordQueueWait(_ seconds: Double, task: String, queue: String) {
        timer(Self.queueWaitLabel, [("name", task), ("queue", queue)]).recordSeconds(max(0, seconds))
    }

    /// Sets the tasks running and the messages held but not running.
    func setWorkerTasks(running: Int, prefetched: Int) {
        meter(Self.workerTasksLabel, [("status", "running")]).set(running)
        meter(Self.workerTasksLabel, [("status", "prefetched")]).set(prefetched)
    }

    /// Sets the waiting messages of `queue`, and the age at `now` of the oldest: 0 when none waits, and left as it
    /// was when the broker cannot tell.
    func setQueueBacklog(_ backlog: QueueBacklog, queue: String, at now: Date) {
        meter(Self.queueDepthLabel, [("queue", queue)]).set(backlog.length)
        let age: Double
        if let since = backlog.oldestSince {
            age = max(0, now.timeIntervalSince(since))
        } else if backlog.length == 0 {
            age = 0
        } else {
            return
        }
        meter(Self.queueOldestAgeLabel, [("queue", queue)]).set(age)
    }

    private func timer(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Timer {
        let series = Series(label: label, dimensions: dimensions.map(\.1))
        return timers.withLock { timers in
            if let timer = timers[series] { return timer }
            let timer = CoreMetrics.Timer(label: label, dimensions: dimensions, factory: factory)
            timers[series] = timer
            return timer
        }
    }

    private func meter(_ label: String, _ dimensions: [(String, String)]) -> Meter {
        let series = Series(label: label, dimensions: dimensions.map(\.1))
        return meters.withLock { meters in
            if let meter = meters[series] { return meter }
            let meter = Meter(label: label, dimensions: dimensions, factory: factory)
            meters[series] = meter
            return meter
        }
    }
}
