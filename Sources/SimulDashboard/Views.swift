package import Foundation
import Simul
import SimulJSON
package import SimulQueue

/// A worker as the pages and `/api/workers` show it.
package struct WorkerView: Codable, Sendable, Equatable {
    package var hostname: String
    package var online: Bool
    /// `sw_ident sw_ver`: `simul 0.1`, `py-celery 5.7.0`.
    package var software: String?
    package var pool: String?
    package var concurrency: Int?
    package var processed: Int?
    package var active: Int?
    package var loadavg: [Double]
    /// Seconds since its last heartbeat.
    package var heartbeatAge: Double
    package var lastSeen: Date
    package var queues: [String]
    package var registered: [String]
    /// Ids of the tasks it runs now, as the task events tell.
    package var activeTasks: [String]

    enum CodingKeys: String, CodingKey {
        case hostname, online, software, pool, concurrency, processed, active, loadavg, queues, registered
        case heartbeatAge = "heartbeat_age"
        case lastSeen = "last_seen"
        case activeTasks = "active_tasks"
    }

    init(_ worker: ClusterState.WorkerInfo, tasks: [ClusterState.TaskInfo], now: Date) {
        hostname = worker.hostname
        online = worker.isOnline(at: now)
        let ident = worker.fields["sw_ident"]?.stringValue
        let version = worker.fields["sw_ver"]?.stringValue
        software = ident.map { [$0, version].compactMap(\.self).joined(separator: " ") }
        pool = worker.fields["pool"]?.stringValue
        concurrency = worker.fields["concurrency"]?.intValue
        processed = worker.fields["processed"]?.intValue
        active = worker.fields["active"]?.intValue
        loadavg = worker.fields["loadavg"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        heartbeatAge = max(0, now.timeIntervalSince(worker.lastSeen))
        lastSeen = worker.lastSeen
        queues = worker.fields["queues"]?.arrayValue?.compactMap(\.stringValue) ?? []
        registered = worker.registered
        activeTasks = tasks.filter { $0.worker == worker.hostname && $0.state == .started }.map(\.id).sorted()
    }

    /// Every worker, by hostname.
    static func all(_ cluster: ClusterState, now: Date) -> [WorkerView] {
        let tasks = Array(cluster.tasks.values)
        return cluster.workers.values.sorted { $0.hostname < $1.hostname }.map {
            WorkerView($0, tasks: tasks, now: now)
        }
    }
}

/// A task as the task list and `/api/tasks` show it.
package struct TaskView: Codable, Sendable, Equatable {
    package var id: String
    package var name: String?
    package var state: TaskState
    package var worker: String?
    package var queue: String?
    package var args: String?
    package var kwargs: String?
    /// The result's or the exception's text, from the events.
    package var outcome: String?
    package var runtime: Double?
    package var retries: Int?
    package var received: Date?
    package var started: Date?
    /// When it succeeded, failed or was revoked.
    package var finished: Date?
    package var updated: Date?

    init(id: String, state: TaskState) {
        self.id = id
        self.state = state
    }

    init(_ task: ClusterState.TaskInfo) {
        id = task.id
        name = task.name
        state = task.state
        worker = task.worker
        queue = task.queue
        args = task.args
        kwargs = task.kwargs
        outcome = task.outcome
        runtime = task.runtime
        retries = task.retries
        received = task.timeline[TaskState.received.rawValue]
        started = task.timeline[TaskState.started.rawValue]
        finished = [TaskState.success, .failure, .revoked].compactMap { task.timeline[$0.rawValue] }.max()
        updated = task.updated
    }
}

/// One task with everything known of it: its events and its stored result.
package struct TaskDetail: Codable, Sendable, Equatable {
    package var task: TaskView
    /// The stored result's value, as JSON text.
    package var result: String?
    package var traceback: String?
    /// When each state was reached.
    package var timeline: [String: Date]
    package var parentId: String?
    package var rootId: String?
    package var children: [String]

    enum CodingKeys: String, CodingKey {
        case task, result, traceback, timeline, children
        case parentId = "parent_id"
        case rootId = "root_id"
    }

    /// Joins what the events said with what the backend stored; `nil` when neither knows the task.
    init?(id: String, event: ClusterState.TaskInfo?, stored: TaskResult?) {
        if event == nil && (stored == nil || stored?.status == .pending) { return nil }
        var view = event.map(TaskView.init) ?? TaskView(id: id, state: stored?.status ?? .pending)
        timeline = event?.timeline ?? [:]
        if let stored {
            view.name = view.name ?? stored.name
            view.worker = view.worker ?? stored.worker
            view.queue = view.queue ?? stored.queue
            view.retries = view.retries ?? stored.retries
            // The backend knows the end, and a custom state (PROGRESS) that no event told.
            if event == nil || ((stored.status.isReady || stored.status.isCustom) && !view.state.isReady) {
                view.state = stored.status
            }
            if stored.status.isReady, let done = stored.dateDone {
                view.finished = view.finished ?? done
                if timeline[stored.status.rawValue] == nil { timeline[stored.status.rawValue] = done }
            }
        }
        task = view
        result = stored.flatMap { $0.status == .pending ? nil : $0.result.jsonText }
        traceback = event?.traceback ?? stored?.traceback
        parentId = event?.parentId ?? stored?.parentId
        rootId = event?.rootId
        children = (stored?.children ?? []).compactMap(Self.childId)
    }

    /// The id in one of Celery's result tuples, `[[id, parent], null]`.
    static func childId(_ tuple: JSONValue) -> String? {
        if let id = tuple.stringValue { return id }
        guard let outer = tuple.arrayValue, let first = outer.first else { return nil }
        if let id = first.stringValue { return id }
        return first.arrayValue?.first?.stringValue
    }
}

/// A queue and its waiting messages.
package struct QueueView: Codable, Sendable, Equatable {
    package var name: String
    package var waiting: Int
}

/// A dead letter as `/api/dead-letters` shows it.
package struct DeadLetterView: Codable, Sendable, Equatable {
    package var id: Int64
    package var queue: String
    package var reason: String
    package var at: Date
    package var taskId: String?
    package var task: String?

    enum CodingKeys: String, CodingKey {
        case id, queue, reason, at, task
        case taskId = "task_id"
    }

    init(_ letter: DeadLetter) {
        id = letter.id
        queue = letter.queue
        reason = letter.reason
        at = letter.at
        (taskId, task) = (letter.taskId, letter.task)
    }
}
