import Foundation
import Mustache
import SimulQueue

/// The dashboard's HTML pages. Each takes what it shows, turns it into a view of text and numbers
/// (`PageViews.swift`) and renders that with its ``Template``, which escapes every value.
package struct Pages: Sendable {
    /// The sections, in the navigation's order.
    package enum Section: String, CaseIterable, Sendable {
        case overview = "/"
        case workers = "/workers"
        case tasks = "/tasks"
        case queues = "/queues"
        case deadLetters = "/dead-letters"

        var title: String {
            switch self {
            case .overview: "Overview"
            case .workers: "Workers"
            case .tasks: "Tasks"
            case .queues: "Queues"
            case .deadLetters: "Dead letters"
            }
        }
    }

    /// The parsed templates, ``Template/library``.
    let templates: MustacheLibrary
    let access: Access
    /// Whether this viewer holds the token, so action buttons work for them.
    let signedIn: Bool
    /// The path the dashboard is mounted at, such as `/ops`; empty at the root. Every link starts with it.
    var base = ""

    // MARK: Layout

    /// The whole page: `page` rendered with `template`, inside the layout.
    func render(_ template: Template, title: String, section: Section?, _ page: some Sendable) -> String {
        let document = Document(
            title: title, base: base,
            navigation: Section.allCases.map {
                NavigationLink(path: base + $0.rawValue, title: $0.title, here: $0 == section)
            },
            logout: access.actionsEnabled && signedIn ? actionForm("/logout", fields: [:], label: "Log out") : nil,
            mayLogIn: access.actionsEnabled && !signedIn, actionsOff: !access.actionsEnabled, page: page)
        guard let html = templates.render(document, withTemplate: template.rawValue) else {
            preconditionFailure("the template library has no \(template.rawValue)")
        }
        return html
    }

    /// An error page saying `message`; with `logInLink`, it offers the login page.
    func error(_ status: Int, _ message: String, logInLink: Bool = false) -> String {
        render(.error, title: "Error \(status)", section: nil, ErrorPage(message: message, logInLink: logInLink))
    }

    // MARK: Overview

    func overview(_ snapshot: ClusterMonitor.Snapshot, queues: [QueueView], now: Date) -> String {
        let workers = WorkerView.all(snapshot.cluster, now: now)
        let online = workers.filter(\.online).count
        var counts: [TaskState: Int] = [:]
        for task in snapshot.cluster.tasks.values { counts[task.state, default: 0] += 1 }
        // Celery's states, then the custom ones seen (PROGRESS), each linked to the task list filtered on it.
        let custom = counts.keys.filter { $0.isCustom && TaskQuery.isFilterable($0) }.sorted {
            $0.rawValue < $1.rawValue
        }
        let page = OverviewPage(
            cards: [
                .init(label: "workers online", value: online, link: base + "/workers"),
                .init(label: "workers offline", value: workers.count - online, link: base + "/workers"),
                .init(label: "tasks seen", value: snapshot.cluster.tasks.count, link: base + "/tasks"),
                .init(label: "waiting in queues", value: queues.map(\.waiting).reduce(0, +), link: base + "/queues"),
            ],
            chart: chart(snapshot.throughput.slots(endingAt: now), slotSeconds: snapshot.throughput.slotSeconds),
            states: (TaskState.allCases.filter { $0 != .pending } + custom).map {
                OverviewPage.StateCount(state: $0.rawValue, count: counts[$0] ?? 0)
            },
            queues: queueRows(queues), queueActions: false, workers: workers.map(workerRow))
        return render(.overview, title: "Overview", section: .overview, page)
    }

    /// The throughput chart's geometry: bars scaled to the busiest slot.
    func chart(_ slots: [ThroughputSeries.Slot], slotSeconds: Int) -> ThroughputChart {
        let width = 900.0
        let height = 180.0
        let left = 40.0
        let bottom = 20.0
        let top = 10.0
        let peak = max(1, slots.map { $0.succeeded + $0.failed }.max() ?? 1)
        let step = (width - left - 10) / Double(max(1, slots.count))
        let scale = (height - bottom - top) / Double(peak)
        let base = height - bottom
        var bars: [ThroughputChart.Bar] = []
        for (index, slot) in slots.enumerated() {
            let x = left + Double(index) * step
            let ok = Double(slot.succeeded) * scale
            let bad = Double(slot.failed) * scale
            if slot.succeeded > 0 {
                bars.append(
                    .init(
                        x: f(x + 1), y: f(base - ok), width: f(step - 2), height: f(ok), fill: "#1f8a4c",
                        count: slot.succeeded, outcome: "succeeded"))
            }
            if slot.failed > 0 {
                bars.append(
                    .init(
                        x: f(x + 1), y: f(base - ok - bad), width: f(step - 2), height: f(bad), fill: "#c23b32",
                        count: slot.failed, outcome: "failed"))
            }
        }
        return ThroughputChart(
            width: Int(width), height: Int(height), slotSeconds: slotSeconds, minutes: slots.count * slotSeconds / 60,
            peak: peak, left: f(left), right: f(width - 10), top: f(top), baseline: f(base), peakY: f(top + 10),
            labelY: f(height - 4), nowX: f(width - 40), bars: bars)
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    // MARK: Workers

    func workers(_ workers: [WorkerView]) -> String {
        render(.workers, title: "Workers", section: .workers, WorkersPage(workers: workers.map(workerRow)))
    }

    func workerRow(_ worker: WorkerView) -> WorkerRow {
        WorkerRow(
            hostname: worker.hostname, tasksLink: base + "/tasks?worker=\(HTML.queryComponent(worker.hostname))",
            status: worker.online ? "online" : "offline", software: worker.software ?? "—",
            pool: worker.pool ?? "—", concurrency: worker.concurrency.map(String.init) ?? "—",
            processed: worker.processed.map(String.init) ?? "—", active: worker.active.map(String.init) ?? "—",
            activeTasks: worker.activeTasks.prefix(5).map {
                TaskLink(href: taskPath($0), label: String($0.prefix(8)))
            },
            load: worker.loadavg.map { String(format: "%.2f", $0) }.joined(separator: " "),
            heartbeat: String(format: "%.1f", worker.heartbeatAge))
    }

    // MARK: Tasks

    func tasks(_ page: TaskPage) -> String {
        let query = page.query
        // Celery's states, then the custom ones seen (PROGRESS), and the one asked for even if no task has it now.
        var offered = TaskState.allCases.filter { $0 != .pending } + page.customStates
        if let state = query.state, !offered.contains(state) { offered.append(state) }
        let states = [""] + offered.map(\.rawValue)
        let view = TaskListPage(
            stateOptions: states.map {
                TaskListPage.StateOption(
                    value: $0, label: $0.isEmpty ? "any" : $0, selected: (query.state?.rawValue ?? "") == $0)
            },
            nameFilter: query.name ?? "", workerFilter: query.worker ?? "", idFilter: query.id ?? "",
            tasks: page.tasks.map { task in
                TaskRow(
                    href: taskPath(task.id), id: task.id, name: task.name ?? "—", state: task.state.rawValue,
                    args: Self.cut(task.args ?? "", to: 120), outcome: Self.cut(task.outcome ?? "", to: 80),
                    worker: task.worker ?? "—", received: Self.time(task.received ?? task.updated),
                    runtime: task.runtime.map { String(format: "%.3f s", $0) } ?? "")
            },
            summary: "\(page.total) task\(page.total == 1 ? "" : "s"), page \(query.page) of \(page.pageCount)",
            newer: query.page > 1 ? base + "/tasks?\(query.with(page: query.page - 1).queryString)" : nil,
            older: query.page < page.pageCount ? base + "/tasks?\(query.with(page: query.page + 1).queryString)" : nil)
        return render(.tasks, title: "Tasks", section: .tasks, view)
    }

    func task(_ detail: TaskDetail) -> String {
        let task = detail.task
        func link(_ id: String) -> TaskLink { TaskLink(href: taskPath(id), label: id) }
        var actions: [ActionForm] = []
        if access.actionsEnabled && !task.state.isReady {
            actions = [
                actionForm("/actions/revoke", fields: ["task_id": task.id], label: "Revoke"),
                actionForm(
                    "/actions/revoke", fields: ["task_id": task.id, "terminate": "1"], label: "Terminate",
                    danger: true),
            ]
        }
        let view = TaskDetailPage(
            id: task.id, name: task.name, state: task.state.rawValue, worker: task.worker, queue: task.queue,
            retries: task.retries.map(String.init), runtime: task.runtime.map { String(format: "%.4f s", $0) },
            args: task.args, kwargs: task.kwargs, result: detail.result ?? task.outcome, traceback: detail.traceback,
            parent: detail.parentId.map(link), root: detail.rootId == task.id ? nil : detail.rootId.map(link),
            children: detail.children.map(link),
            timeline: ["RECEIVED", "STARTED", "RETRY", "SUCCESS", "FAILURE", "REVOKED"].compactMap { state in
                detail.timeline[state].map { TaskDetailPage.TimelineRow(state: state, at: Self.time($0, full: true)) }
            },
            actions: actions)
        return render(.task, title: "Task \(task.name ?? task.id)", section: .tasks, view)
    }

    // MARK: Queues and dead letters

    func queues(_ queues: [QueueView]) -> String {
        let view = QueuesPage(queues: queueRows(queues), queueActions: access.actionsEnabled)
        return render(.queues, title: "Queues", section: .queues, view)
    }

    func queueRows(_ queues: [QueueView]) -> [QueueRow] {
        queues.map {
            QueueRow(
                name: $0.name, waiting: $0.waiting,
                purge: actionForm("/actions/purge", fields: ["queue": $0.name], label: "Purge", danger: true))
        }
    }

    func deadLetters(_ letters: [DeadLetterView]) -> String {
        let view = DeadLettersPage(
            letters: letters.map { letter in
                DeadLettersPage.Row(
                    id: letter.id, at: Self.time(letter.at, full: true), queue: letter.queue, task: letter.task ?? "?",
                    taskId: letter.taskId ?? "?", reason: Self.cut(letter.reason, to: 300),
                    replay: actionForm("/actions/replay", fields: ["id": String(letter.id)], label: "Replay"))
            },
            letterActions: access.actionsEnabled,
            replayAll: actionForm("/actions/replay", fields: ["id": "all"], label: "Replay all"))
        return render(.deadLetters, title: "Dead letters", section: .deadLetters, view)
    }

    // MARK: Login and actions

    func login(error: String?) -> String {
        render(.login, title: "Log in", section: nil, LoginPage(error: error, csrf: access.csrf))
    }

    func actionForm(_ path: String, fields: [String: String], label: String, danger: Bool = false) -> ActionForm {
        ActionForm(
            action: base + path, fields: fields.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value) },
            label: label, danger: danger, csrf: access.csrf)
    }

    // MARK: Formatting

    /// The task page's path for `id`, percent-encoded, so an id from a foreign client cannot change the URL's shape.
    func taskPath(_ id: String) -> String { base + "/tasks/" + HTML.queryComponent(id) }

    /// `text` cut to `limit` characters, with an ellipsis when it was longer.
    static func cut(_ text: String, to limit: Int) -> String {
        text.count > limit ? String(text.prefix(limit)) + "…" : text
    }

    /// `HH:MM:SS` (UTC), or with `full` the date and milliseconds too.
    static func time(_ date: Date?, full: Bool = false) -> String {
        guard let date else { return "" }
        let text = ISODate.format(date)  // 2026-12-05T11:31:04.123456+00:00
        return full
            ? String(text.prefix(23)).replacingOccurrences(of: "T", with: " ") : String(text.dropFirst(11).prefix(8))
    }
}
