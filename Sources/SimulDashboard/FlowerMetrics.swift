package import Foundation
import SimulJSON
package import SimulQueue

/// The series Flower's `/metrics` serves, folded from the same events as Flower folds them (`flower/events.py`), so
/// Grafana boards and alerts made for Flower work on the dashboard unchanged.
package struct FlowerMetrics: Sendable {
    /// `flower_task_runtime_seconds`' bounds: Flower's default, the Prometheus Python client's `DEFAULT_BUCKETS`.
    package static let runtimeBounds: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
    ]

    /// A worker and a task name: the labels of the per-task series.
    package struct WorkerTask: Hashable, Sendable {
        package var worker: String
        package var task: String
    }

    /// A worker, an event type and a task name: the labels of `flower_events_total`.
    package struct Event: Hashable, Sendable {
        package var worker: String
        package var type: String
        package var task: String
    }

    /// A runtime histogram with Flower's buckets.
    package struct Histogram: Sendable {
        /// Observations per bucket, not cumulative; the last one is above every bound.
        package var counts = [Int](repeating: 0, count: FlowerMetrics.runtimeBounds.count + 1)
        package var sum = 0.0
        package var count = 0
    }

    /// `flower_events_total`: task events by worker, type and task name.
    package private(set) var events: [Event: Int] = [:]
    /// `flower_task_runtime_seconds`: runtimes by worker and task name.
    package private(set) var runtimes: [WorkerTask: Histogram] = [:]
    /// `flower_task_prefetch_time_seconds`: from received to started, for tasks without an ETA; 0 once they end.
    package private(set) var prefetchTimes: [WorkerTask: Double] = [:]
    /// `flower_worker_prefetched_tasks`: received and not yet started, for tasks without an ETA.
    package private(set) var prefetched: [WorkerTask: Int] = [:]
    /// `flower_worker_online`: 1 after `worker-online` or a heartbeat, 0 after `worker-offline`.
    package private(set) var online: [String: Int] = [:]
    /// `flower_worker_number_of_currently_executing_tasks`: the `active` count of the latest heartbeat.
    package private(set) var executing: [String: Int] = [:]
    /// When each task without an ETA was received, until it starts.
    private var received: [String: Date] = [:]
    /// Tasks that have started, for the prefetch time to reset when they end.
    private var startedWithoutETA: Set<String> = []
    /// How many tasks ``received`` and ``startedWithoutETA`` each hold at most.
    private static let pendingLimit = 100_000

    package init() {}

    /// Folds one event in. `name` is the task's name as the cluster state knows it after the event.
    package mutating func apply(_ event: QueueEvent, name: String?, at time: Date) {
        let worker = event.hostname ?? "?"
        switch event.type {
        case "worker-online": online[worker] = 1
        case "worker-heartbeat":
            online[worker] = 1
            if let active = event.fields["active"]?.intValue { executing[worker] = active }
        case "worker-offline": online[worker] = 0
        default: break
        }
        guard event.type.hasPrefix("task-"), let id = event.taskId else { return }
        let task = event.fields["name"]?.stringValue ?? name ?? ""
        let key = WorkerTask(worker: worker, task: task)
        events[Event(worker: worker, type: event.type, task: task), default: 0] += 1
        if let runtime = event.fields["runtime"]?.doubleValue, runtime != 0 {
            var histogram = runtimes[key] ?? Histogram()
            histogram.counts[Self.runtimeBounds.firstIndex { runtime <= $0 } ?? Self.runtimeBounds.count] += 1
            histogram.sum += runtime
            histogram.count += 1
            runtimes[key] = histogram
        }
        switch event.type {
        case "task-received":
            guard event.fields["eta"] == nil || event.fields["eta"] == .null else { return }
            if received.count < Self.pendingLimit { received[id] = time }
            prefetched[key, default: 0] += 1
        case "task-started":
            guard let receivedAt = received.removeValue(forKey: id) else { return }
            prefetchTimes[key] = time.timeIntervalSince(receivedAt)
            prefetched[key, default: 0] -= 1
            if startedWithoutETA.count < Self.pendingLimit { startedWithoutETA.insert(id) }
        case "task-succeeded", "task-failed":
            if startedWithoutETA.remove(id) != nil { prefetchTimes[key] = 0 }
        default: break
        }
    }
}
