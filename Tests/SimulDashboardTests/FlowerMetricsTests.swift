import Foundation
import SimulJSON
import SimulQueue
import Testing

@testable import SimulDashboard

/// The dashboard's `/metrics` serves Flower's series, as Flower folds them from the same events.
@Suite struct FlowerMetricsTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func event(_ type: String, _ offset: Double, _ fields: [String: JSONValue] = [:], host: String = "w@h")
        -> QueueEvent
    {
        QueueEvent(type, hostname: host, at: start.addingTimeInterval(offset), fields)
    }

    static let events: [QueueEvent] = [
        event("worker-online", 0),
        event("task-received", 1, ["uuid": "a", "name": "tasks.add", "eta": .null]),
        event("task-started", 1.25, ["uuid": "a"]),
        event("worker-heartbeat", 1.5, ["active": 1]),
        event("task-received", 2, ["uuid": "b", "name": "tasks.add"]),
        event("task-succeeded", 2, ["uuid": "a", "runtime": 0.3, "result": "3"]),
        event("task-received", 3, ["uuid": "c", "name": "tasks.later", "eta": "2027-01-15T10:00:00+00:00"]),
        event("worker-online", 0, host: "gone@h"),
        event("worker-offline", 4, host: "gone@h"),
    ]

    @Test func flowerSeriesHaveFlowerNamesLabelsAndBuckets() throws {
        let monitor = ClusterMonitor(feed: MemoryBroker())
        monitor.apply(Self.events)
        let text = PrometheusText.render(monitor.snapshot, queues: [:], now: Self.start.addingTimeInterval(5))
        let lines = Set(text.split(separator: "\n").map(String.init))
        for line in [
            "# TYPE flower_events_total counter",
            #"flower_events_total{worker="w@h",type="task-received",task="tasks.add"} 2.0"#,
            #"flower_events_total{worker="w@h",type="task-started",task="tasks.add"} 1.0"#,
            #"flower_events_total{worker="w@h",type="task-succeeded",task="tasks.add"} 1.0"#,
            #"flower_events_total{worker="w@h",type="task-received",task="tasks.later"} 1.0"#,
            "# TYPE flower_task_runtime_seconds histogram",
            #"flower_task_runtime_seconds_bucket{worker="w@h",task="tasks.add",le="0.25"} 0.0"#,
            #"flower_task_runtime_seconds_bucket{worker="w@h",task="tasks.add",le="0.5"} 1.0"#,
            #"flower_task_runtime_seconds_bucket{worker="w@h",task="tasks.add",le="10.0"} 1.0"#,
            #"flower_task_runtime_seconds_bucket{worker="w@h",task="tasks.add",le="+Inf"} 1.0"#,
            #"flower_task_runtime_seconds_count{worker="w@h",task="tasks.add"} 1.0"#,
            #"flower_task_runtime_seconds_sum{worker="w@h",task="tasks.add"} 0.3"#,
            "# TYPE flower_task_prefetch_time_seconds gauge",
            #"flower_task_prefetch_time_seconds{worker="w@h",task="tasks.add"} 0.0"#,
            #"flower_worker_prefetched_tasks{worker="w@h",task="tasks.add"} 1.0"#,
            #"flower_worker_online{worker="w@h"} 1.0"#,
            #"flower_worker_online{worker="gone@h"} 0.0"#,
            #"flower_worker_number_of_currently_executing_tasks{worker="w@h"} 1.0"#,
        ] {
            #expect(lines.contains(line), "\(line)")
        }
        #expect(!lines.contains { $0.hasPrefix("flower_worker_prefetched_tasks") && $0.contains("tasks.later") })
    }

    @Test func prefetchTimeIsFromReceivedToStartedWhileTheTaskRuns() {
        var metrics = FlowerMetrics()
        for event in Self.events.prefix(3) { metrics.apply(event, name: "tasks.add", at: event.timestamp!) }
        #expect(metrics.prefetchTimes[.init(worker: "w@h", task: "tasks.add")] == 0.25)
        #expect(metrics.prefetched[.init(worker: "w@h", task: "tasks.add")] == 0)
    }
}
