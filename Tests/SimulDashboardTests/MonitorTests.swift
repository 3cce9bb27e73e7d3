import Foundation
import Simul
import SimulJSON
import SimulQueue
import Testing

@testable import SimulDashboard

@Suite("Throughput and runtime accounting")
struct MonitorTests {
    @Test func throughputSlots() {
        var series = ThroughputSeries(slotSeconds: 10, slotCount: 3)
        let now = Date(timeIntervalSince1970: 1_000)
        series.record(succeeded: true, at: Date(timeIntervalSince1970: 995))
        series.record(succeeded: false, at: Date(timeIntervalSince1970: 999))
        series.record(succeeded: true, at: Date(timeIntervalSince1970: 1_001))
        series.record(succeeded: true, at: Date(timeIntervalSince1970: 900))
        let slots = series.slots(endingAt: now)
        #expect(slots.map(\.succeeded) == [0, 1, 1])
        #expect(slots.map(\.failed) == [0, 1, 0])
        #expect(slots.last?.start == Date(timeIntervalSince1970: 1_000))
    }

    @Test func runtimeBuckets() {
        var histogram = RuntimeHistogram()
        histogram.observe(0.0005)
        histogram.observe(0.5)
        histogram.observe(1_000)
        #expect(histogram.count == 3)
        #expect(histogram.cumulative.first == 1)
        #expect(histogram.cumulative[RuntimeHistogram.bounds.firstIndex(of: 0.5)!] == 2)
        #expect(histogram.cumulative.last == 3)
    }

    /// A worker gone (a goodbye, or silence) stays listed, offline, for ten minutes after it was last heard from,
    /// then leaves: the events of the workers still there move the time on.
    @Test func aWorkerGoneForTenMinutesLeavesTheList() {
        var state = ClusterState()
        let start = Date(timeIntervalSince1970: 1_000_000)
        state.apply(QueueEvent("worker-online", hostname: "gone@h", at: start))
        state.apply(QueueEvent("worker-offline", hostname: "gone@h", at: start.addingTimeInterval(1)))
        for seconds in stride(from: 2.0, through: 600, by: 2) {
            state.apply(QueueEvent("worker-heartbeat", hostname: "here@h", at: start.addingTimeInterval(seconds)))
        }
        #expect(Set(state.workers.keys) == ["gone@h", "here@h"])
        #expect(state.workers["gone@h"]?.isOnline(at: start.addingTimeInterval(600)) == false)
        state.apply(QueueEvent("worker-heartbeat", hostname: "here@h", at: start.addingTimeInterval(602)))
        #expect(Set(state.workers.keys) == ["here@h"])
        state.forgetWorkers(silentSince: start.addingTimeInterval(603))
        #expect(state.workers.isEmpty)
    }

    @Test func celeryEventsFillTheTaskInfo() {
        var state = ClusterState()
        state.apply(
            QueueEvent(
                "task-received", hostname: "py@h", at: .now,
                ["uuid": "x", "name": "pytasks.add", "args": "(1, 2)", "retries": 1, "parent_id": "p", "root_id": "r"]))
        state.apply(
            QueueEvent("task-failed", hostname: "py@h", at: .now, ["uuid": "x", "exception": "E()", "traceback": "TB"]))
        let task = state.tasks["x"]
        #expect(task?.args == "(1, 2)")
        #expect(task?.retries == 1)
        #expect(task?.parentId == "p")
        #expect(task?.rootId == "r")
        #expect(task?.traceback == "TB")
        #expect(task?.outcome == "E()")
        #expect(task?.state == .failure)
    }

    /// A task's page shows a custom state the backend holds (a Python task's update_state sends no event), with
    /// its meta as the result; the task list shows the one a task-progress event brought, with its fields.
    @Test func aCustomStateShowsWithItsMeta() throws {
        var state = ClusterState()
        state.apply(QueueEvent("task-started", hostname: "py@h", at: .now, ["uuid": "x"]))
        let stored = try TaskResult(json: [
            "status": "PROGRESS", "result": ["current": 1, "total": 2], "task_id": "x", "date_done": nil,
        ])
        let detail = try #require(TaskDetail(id: "x", event: state.tasks["x"], stored: stored))
        #expect(detail.task.state == "PROGRESS")
        #expect(detail.result == #"{"current":1,"total":2}"#)

        state.apply(QueueEvent("task-progress", hostname: "w@h", at: .now, ["uuid": "y", "current": 3, "total": 4]))
        let view = TaskView(try #require(state.tasks["y"]))
        #expect(view.state == "PROGRESS")
        #expect(view.outcome == #"{"current":3,"total":4}"#)
    }
}
