public import Foundation
import Simul
public import SimulJSON

/// What the events say about the cluster: the workers and the tasks they hold. `simul inspect` and the dashboard
/// build it by folding the broker's events in order.
public struct ClusterState: Sendable {
    /// A worker as its events describe it.
    public struct WorkerInfo: Sendable, Codable, Equatable {
        /// `name@host`.
        public var hostname: String
        /// Its last heartbeat (or online) event's fields: pool, concurrency, processed, active, loadavg, freq.
        public var fields: [String: JSONValue]
        /// When it last said it was alive.
        public var lastSeen: Date
        /// Whether it said goodbye.
        public var offline: Bool
        /// The tasks it can run, from its online event.
        public var registered: [String]

        /// Whether it is online: no goodbye, and a heartbeat within two heartbeat intervals.
        public func isOnline(at now: Date) -> Bool {
            let interval = fields["freq"]?.doubleValue ?? 2
            return !offline && now.timeIntervalSince(lastSeen) <= 2 * interval + 1
        }
    }

    /// A task's latest known state.
    public struct TaskInfo: Sendable, Codable, Equatable {
        /// The task id.
        public var id: String
        /// Its name.
        public var name: String?
        /// Its state, from the latest event.
        public var state: TaskState
        /// The worker holding or having run it.
        public var worker: String?
        /// The arguments, as JSON text.
        public var args: String?
        /// The keyword arguments, as JSON text.
        public var kwargs: String?
        /// When each state was reached.
        public var timeline: [String: Date]
        /// The result or exception text.
        public var outcome: String?
        /// Seconds it ran.
        public var runtime: Double?
        /// The traceback of a failure or retry.
        public var traceback: String?
        /// How many times it was retried before this run.
        public var retries: Int?
        /// The task that sent it.
        public var parentId: String?
        /// The first task of its workflow.
        public var rootId: String?
        /// The queue it came from.
        public var queue: String?

        /// The time of its latest state change.
        public var updated: Date? { timeline.values.max() }
    }

    /// Workers by hostname: those heard from within ``offlineWorkersKept`` of the latest event.
    public private(set) var workers: [String: WorkerInfo] = [:]
    /// How long a worker stays listed after it last said it was alive (it said goodbye, or fell silent): ten minutes.
    /// Then it leaves the dashboard and `simul inspect`, so a cluster whose workers come and go lists those it has.
    public static let offlineWorkersKept: TimeInterval = 600
    /// Tasks by id, the most recent `taskLimit`.
    public private(set) var tasks: [String: TaskInfo] = [:]
    private var order: [String] = []
    private let taskLimit: Int

    /// An empty state that remembers up to `taskLimit` tasks.
    /// The latest event time folded in.
    private var latest = Date.distantPast

    public init(taskLimit: Int = 10_000) {
        self.taskLimit = taskLimit
    }

    /// Folds one event in.
    public mutating func apply(_ event: QueueEvent) {
        let hostname = event.hostname ?? "?"
        // An event without a time (none of Celery's or Simul's) is taken to come right after the latest one.
        let time = event.timestamp ?? latest
        latest = max(latest, time)
        if event.type.hasPrefix("worker-") {
            var worker =
                workers[hostname]
                ?? WorkerInfo(hostname: hostname, fields: [:], lastSeen: time, offline: false, registered: [])
            worker.fields.merge(event.fields) { _, new in new }
            worker.lastSeen = time
            worker.offline = event.type == "worker-offline"
            if let names = event.fields["registered"]?.arrayValue {
                worker.registered = names.compactMap(\.stringValue)
            }
            workers[hostname] = worker
            forgetWorkers(silentSince: latest.addingTimeInterval(-Self.offlineWorkersKept))
            return
        }
        guard let id = event.taskId else { return }
        let state: TaskState
        switch event.type {
        case "task-received": state = .received
        case "task-started": state = .started
        case "task-succeeded": state = .success
        case "task-failed": state = .failure
        case "task-retried": state = .retry
        case "task-revoked": state = .revoked
        case "task-sent": return
        default:
            // Celery's rule for a custom event: `task-progress` puts the task in the state PROGRESS.
            guard event.type.hasPrefix("task-"), event.type.count > 5 else { return }
            state = TaskState(rawValue: event.type.dropFirst(5).uppercased())
        }
        if tasks[id] == nil {
            order.append(id)
            if order.count > taskLimit { tasks[order.removeFirst()] = nil }
        }
        var task = tasks[id] ?? TaskInfo(id: id, state: state, timeline: [:])
        // A custom state comes before the end: one that arrives after it does not undo it.
        if state.isCustom {
            guard !task.state.isReady else { return }
            let meta = event.fields.filter { !Self.commonEventFields.contains($0.key) }
            task.outcome = JSONValue.object(meta).jsonText
        }
        task.state = state
        task.worker = hostname
        task.timeline[state.rawValue] = time
        if let name = event.fields["name"]?.stringValue { task.name = name }
        if let args = event.fields["args"]?.stringValue { task.args = args }
        if let kwargs = event.fields["kwargs"]?.stringValue { task.kwargs = kwargs }
        if let result = event.fields["result"]?.stringValue { task.outcome = result }
        if let exception = event.fields["exception"]?.stringValue { task.outcome = exception }
        if let runtime = event.fields["runtime"]?.doubleValue { task.runtime = runtime }
        // Celery sends these on task-received (and a traceback on task-failed and task-retried); absent fields and
        // nulls leave what an earlier event said.
        if let traceback = event.fields["traceback"]?.stringValue, !traceback.isEmpty { task.traceback = traceback }
        if let retries = event.fields["retries"]?.intValue { task.retries = retries }
        if let parent = event.fields["parent_id"]?.stringValue { task.parentId = parent }
        if let root = event.fields["root_id"]?.stringValue { task.rootId = root }
        if let queue = event.fields["queue"]?.stringValue { task.queue = queue }
        tasks[id] = task
    }

    /// Forgets the workers last heard from before `cutoff`.
    public mutating func forgetWorkers(silentSince cutoff: Date) {
        workers = workers.filter { $0.value.lastSeen >= cutoff }
    }

    /// The fields every event has; a custom task event's other fields are its metadata.
    private static let commonEventFields: Set<String> = [
        "type", "hostname", "timestamp", "utcoffset", "pid", "clock", "uuid", "local_received",
    ]

    /// The tasks running now (started, or in a custom state such as PROGRESS), by worker.
    public var active: [TaskInfo] {
        tasks.values.filter { $0.state == .started || $0.state.isCustom }.sorted { $0.id < $1.id }
    }

    /// Reads every stored event from `feed` into a state.
    public static func load(from feed: any EventFeed) async throws -> ClusterState {
        var state = ClusterState()
        var cursor: Int64 = 0
        while true {
            let (events, next) = try await feed.events(after: cursor, limit: 5_000)
            for event in events { state.apply(event) }
            if events.isEmpty || next == cursor { return state }
            cursor = next
        }
    }
}
