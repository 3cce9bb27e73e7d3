package import Foundation
import SimulQueue

/// The `/metrics` page in Prometheus' text exposition format, version 0.0.4.
///
/// Written here rather than through swift-prometheus: every value is a snapshot of the folded events taken at scrape
/// time (tasks by state move between states, workers come and go), which a registry of long-lived instruments would
/// only mirror (docs/dashboard.md).
package struct PrometheusText {
    private var lines: [String] = []

    /// The exposition of `snapshot`, with the queues' lengths and the time `now`.
    package static func render(_ snapshot: ClusterMonitor.Snapshot, queues: [String: Int], now: Date) -> String {
        var text = PrometheusText()
        var byStateAndName: [TaskState: [String: Int]] = [:]
        for task in snapshot.cluster.tasks.values {
            byStateAndName[task.state, default: [:]][task.name ?? "unknown", default: 0] += 1
        }
        text.family("simul_tasks", type: "gauge", help: "Tasks the dashboard has seen, by their latest state and name.")
        for state in TaskState.allCases where state != .pending {
            for (name, count) in (byStateAndName[state] ?? [:]).sorted(by: { $0.key < $1.key }) {
                text.sample("simul_tasks", ["state": state.rawValue, "name": name], Double(count))
            }
        }
        text.family(
            "simul_task_runtime_seconds", type: "histogram",
            help: "Runtime of finished tasks, by name, from the task events that carry one.")
        for (name, histogram) in snapshot.runtimes.sorted(by: { $0.key < $1.key }) {
            let cumulative = histogram.cumulative
            for (bound, count) in zip(RuntimeHistogram.bounds, cumulative) {
                text.sample("simul_task_runtime_seconds_bucket", ["name": name, "le": format(bound)], Double(count))
            }
            text.sample("simul_task_runtime_seconds_bucket", ["name": name, "le": "+Inf"], Double(histogram.count))
            text.sample("simul_task_runtime_seconds_sum", ["name": name], histogram.sum)
            text.sample("simul_task_runtime_seconds_count", ["name": name], Double(histogram.count))
        }
        text.family("simul_queue_length", type: "gauge", help: "Messages waiting in each queue.")
        for (queue, length) in queues.sorted(by: { $0.key < $1.key }) {
            text.sample("simul_queue_length", ["queue": queue], Double(length))
        }
        let workers = snapshot.cluster.workers.values
        let online = workers.filter { $0.isOnline(at: now) }.count
        text.family("simul_workers_online", type: "gauge", help: "Workers whose last heartbeat is recent.")
        text.sample("simul_workers_online", [:], Double(online))
        text.family("simul_workers_offline", type: "gauge", help: "Workers that said goodbye or fell silent.")
        text.sample("simul_workers_offline", [:], Double(workers.count - online))
        text.flower(snapshot.flower)
        return text.lines.joined(separator: "\n") + "\n"
    }

    /// Flower's series, with Flower's names, help, label order and buckets.
    private mutating func flower(_ metrics: FlowerMetrics) {
        family("flower_events_total", type: "counter", help: "Number of events")
        let events = metrics.events.sorted {
            ($0.key.worker, $0.key.type, $0.key.task) < ($1.key.worker, $1.key.type, $1.key.task)
        }
        for (event, count) in events {
            let labels = [("worker", event.worker), ("type", event.type), ("task", event.task)]
            ordered("flower_events_total", labels, Double(count))
        }
        family("flower_task_runtime_seconds", type: "histogram", help: "Task runtime")
        for (key, histogram) in Self.byWorkerAndTask(metrics.runtimes) {
            let labels = [("worker", key.worker), ("task", key.task)]
            var total = 0
            for (bound, count) in zip(FlowerMetrics.runtimeBounds, histogram.counts) {
                total += count
                ordered("flower_task_runtime_seconds_bucket", labels + [("le", "\(bound)")], Double(total))
            }
            ordered("flower_task_runtime_seconds_bucket", labels + [("le", "+Inf")], Double(histogram.count))
            ordered("flower_task_runtime_seconds_count", labels, Double(histogram.count))
            ordered("flower_task_runtime_seconds_sum", labels, histogram.sum)
        }
        family(
            "flower_task_prefetch_time_seconds", type: "gauge",
            help: "The time the task spent waiting at the celery worker to be executed.")
        for (key, seconds) in Self.byWorkerAndTask(metrics.prefetchTimes) {
            ordered("flower_task_prefetch_time_seconds", [("worker", key.worker), ("task", key.task)], seconds)
        }
        family(
            "flower_worker_prefetched_tasks", type: "gauge",
            help: "Number of tasks of given type prefetched at a worker")
        for (key, count) in Self.byWorkerAndTask(metrics.prefetched) {
            ordered("flower_worker_prefetched_tasks", [("worker", key.worker), ("task", key.task)], Double(count))
        }
        family("flower_worker_online", type: "gauge", help: "Worker online status")
        for (worker, value) in metrics.online.sorted(by: { $0.key < $1.key }) {
            ordered("flower_worker_online", [("worker", worker)], Double(value))
        }
        family(
            "flower_worker_number_of_currently_executing_tasks", type: "gauge",
            help: "Number of tasks currently executing at a worker")
        for (worker, value) in metrics.executing.sorted(by: { $0.key < $1.key }) {
            ordered("flower_worker_number_of_currently_executing_tasks", [("worker", worker)], Double(value))
        }
    }

    private static func byWorkerAndTask<Value>(_ values: [FlowerMetrics.WorkerTask: Value])
        -> [(key: FlowerMetrics.WorkerTask, value: Value)]
    {
        values.sorted { ($0.key.worker, $0.key.task) < ($1.key.worker, $1.key.task) }
    }

    /// A sample whose labels keep the order given, as Flower's do, and whose value is written as Python writes a
    /// float (`1.0`), as Flower's client does.
    private mutating func ordered(_ name: String, _ labels: [(String, String)], _ value: Double) {
        lines.append("\(name){\(Self.labelText(labels))} \(value)")
    }

    private static func labelText(_ labels: [(String, String)]) -> String {
        labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",")
    }

    private mutating func family(_ name: String, type: String, help: String) {
        lines.append(
            "# HELP \(name) "
                + help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
        )
        lines.append("# TYPE \(name) \(type)")
    }

    private mutating func sample(_ name: String, _ labels: [String: String], _ value: Double) {
        let order = ["state", "name", "queue", "le"]
        let sorted = labels.sorted {
            (order.firstIndex(of: $0.key) ?? 9, $0.key) < (order.firstIndex(of: $1.key) ?? 9, $1.key)
        }
        let labelText = sorted.map { "\($0.key)=\"\(Self.escapeLabel($0.value))\"" }.joined(separator: ",")
        lines.append(
            labelText.isEmpty ? "\(name) \(Self.format(value))" : "\(name){\(labelText)} \(Self.format(value))")
    }

    /// A label value with `\`, `"` and newlines escaped, as the format asks.
    package static func escapeLabel(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A sample value: integers without a fraction, `+Inf`, `-Inf` and `NaN` by name.
    package static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
