import Foundation
import SimulJSON
@testable import SimulQueue
import SimulQueueTestSupport
import SimulTestSupport
import Testing

@Suite(.timeLimit(.minutes(3))) struct TaskStateTests {
    /// `t.progress(gate)` stores PROGRESS 1 of 2, waits for the gate, stores 2 of 2, and returns "done".
    static let catalog: TaskCatalog = {
        var catalog = QueueHarness.catalog
        catalog.register("t.progress", parameters: ["gate"]) { (gate: String) async throws -> String in
            let context = try #require(TaskContext.current)
            try context.updateState("PROGRESS", meta: ["current": 1, "total": 2])
            try await waitUntil("gate \(gate) opened") { Gates.shared.isOpen(gate) }
            try context.updateState("PROGRESS", meta: ["current": 2, "total": 2])
            return "done"
        }
        catalog.register("t.progressSync", parameters: ["state"]) { (state: String) throws -> String in
            try TaskContext.current!.updateState(TaskState(rawValue: state), meta: "working")
            return "done"
        }
        return catalog
    }()

    @Test(arguments: BrokerKind.allCases)
    func aTasksOwnStateAndMetaAreStoredWhileItRunsThenItsResult(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(catalog: Self.catalog, broker: try kind.make(in: scratch))
        let gate = UUID().uuidString
        let result = try await queue.client.send("t.progress", args: [.string(gate)])
        try await waitUntil("PROGRESS stored") { try await result.state() == "PROGRESS" }
        let stored = try #require(try await result.result())
        #expect(stored.status == TaskState(rawValue: "PROGRESS"))
        #expect(stored.status.isCustom && !stored.status.isReady)
        #expect(stored.result == ["current": 1, "total": 2])
        #expect(stored.dateDone == nil)
        #expect(stored.name == "t.progress")
        // Celery's meta, key for key: what Python's AsyncResult reads as .state and .info.
        let meta = try #require(stored.jsonValue.objectValue)
        #expect(meta["status"] == "PROGRESS")
        #expect(meta["result"] == ["current": 1, "total": 2])
        #expect(meta["date_done"] == .null)
        #expect(meta["task_id"] == .string(result.id))

        Gates.shared.open(gate)
        #expect(try await result.get(timeout: .seconds(30)) == "done")
        #expect(try await result.state() == .success)

        // The events carry it too, as Celery's send_event('task-progress', current=…, total=…) would.
        let cluster = try await ClusterState.load(from: queue.broker)
        #expect(cluster.tasks[result.id]?.state == .success)
        let events = try await queue.broker.events(after: 0, limit: 1_000).events
        let progress = events.filter { $0.type == "task-progress" && $0.taskId == result.id }
        #expect(progress.map { $0.fields["current"] } == [1, 2])
        try await queue.stop()
    }

    @Test func aSynchronousTaskStoresAStateOnItsThread() async throws {
        let queue = QueueHarness(catalog: Self.catalog) { $0.pool = .threads }
        let result = try await queue.client.send("t.progressSync", args: ["CRUNCHING"])
        #expect(try await result.get(timeout: .seconds(30)) == "done")
        try await queue.stop()
        let events = try await queue.broker.events(after: 0, limit: 1_000).events
        #expect(events.contains { $0.type == "task-crunching" && $0.fields["meta"] == "working" })
    }

    @Test func anUnknownStateIsKeptAsItsStringNeverPending() async throws {
        let broker = MemoryBroker()
        let id = TaskID.make()
        // As a Python worker stores `self.update_state(state='MY_STATE', meta={...})`.
        let python: JSONValue = [
            "status": "MY_STATE", "result": ["step": "download"], "traceback": nil, "children": [],
            "date_done": nil, "task_id": .string(id),
        ]
        let read = try TaskResult(json: python)
        #expect(read.status.rawValue == "MY_STATE")
        #expect(read.jsonValue["status"] == "MY_STATE")
        try await broker.store([read])
        let handle = AsyncResult(id: id, backend: broker)
        #expect(try await handle.state() == "MY_STATE")
        #expect(try await handle.state() != .pending)
        #expect(try await handle.result()?.result == ["step": "download"])
        // Still not ready: a wait with a timeout says so, naming the state.
        do {
            _ = try await handle.get(timeout: .milliseconds(50))
            Issue.record("expected a timeout")
        } catch let error as QueueError {
            #expect(error.isTimeout)
            #expect("\(error)".contains("still MY_STATE"))
        }
        #expect(throws: MessageError.self) { try TaskResult(json: ["status": "", "task_id": .string(id)]) }
    }

    @Test func aCustomEventPutsTheTaskInThatStateUntilItEnds() {
        var cluster = ClusterState()
        let id = TaskID.make()
        let at = Date(timeIntervalSince1970: 1_000)
        cluster.apply(QueueEvent("task-started", hostname: "w@h", at: at, ["uuid": .string(id)]))
        cluster.apply(
            QueueEvent(
                "task-progress", hostname: "w@h", at: at.addingTimeInterval(1),
                ["uuid": .string(id), "current": 1, "total": 3]))
        #expect(cluster.tasks[id]?.state == "PROGRESS")
        #expect(cluster.tasks[id]?.outcome == #"{"current":1,"total":3}"#)
        #expect(cluster.active.map(\.id) == [id])
        cluster.apply(
            QueueEvent(
                "task-succeeded", hostname: "w@h", at: at.addingTimeInterval(2),
                ["uuid": .string(id), "result": "3"]))
        cluster.apply(
            QueueEvent(
                "task-progress", hostname: "w@h", at: at.addingTimeInterval(3),
                ["uuid": .string(id), "current": 3, "total": 3]))
        #expect(cluster.tasks[id]?.state == .success)
        #expect(cluster.tasks[id]?.outcome == "3")
    }

    /// The state a task stores in a processes pool's worker process crosses the pipe as `{"state", "meta"}` JSON
    /// text, exactly; anything else is not an update, and the worker drops it.
    @Test func aStateUpdateCrossesThePipeExactly() throws {
        let update = QueueProcessTask.StateUpdate(
            state: "PROGRESS", meta: ["current": .bigInteger("1180591620717411303424"), "total": 2])
        #expect(QueueProcessTask.StateUpdate(decoding: update.encoded) == update)
        for bad in ["", "not json", "[]", #"{"state": 1, "meta": {}}"#, #"{"state": "PROGRESS"}"#] {
            #expect(QueueProcessTask.StateUpdate(decoding: Data(bad.utf8)) == nil, "\(bad)")
        }
    }

    @Test func updateStateRefusesReadyStatesAndRunsOnlyInAWorker() async throws {
        let context = TaskContext(id: "t1", name: "t.x", retries: 0, hostname: "h")
        #expect(throws: TaskError.self) { try context.updateState("PROGRESS") }
        do {
            try context.updateState("PROGRESS")
        } catch let error as TaskError {
            #expect(error.type == "RuntimeError")
            #expect(
                error.message
                    == "t.x[t1] cannot store the state PROGRESS: only a task run by a worker has a result backend")
        }
        let queue = QueueHarness(catalog: Self.catalog)
        let result = try await queue.client.send("t.progressSync", args: ["SUCCESS"])
        do {
            _ = try await result.get(timeout: .seconds(30))
            Issue.record("expected a ValueError")
        } catch let error as TaskError {
            #expect(error.type == "ValueError")
            #expect(
                error.message
                    == "updateState takes a state of the task's own, not 'SUCCESS': the worker stores the end state")
        }
        try await queue.stop()
    }
}
