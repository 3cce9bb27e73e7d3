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
        return text.lines.joined(separator: "\n") + "\n"
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
