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
}
