import Foundation
import SimulQueue

/// The dashboard's HTML pages. Each takes what it shows and returns the whole document; every value from a task, a
/// worker or a queue goes through ``HTML/escape(_:)``.
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

    let access: Access
    /// Whether this viewer holds the token, so action buttons work for them.
    let signedIn: Bool

    // MARK: Layout

    func layout(_ title: String, section: Section?, _ body: String) -> String {
        let navigation = Section.allCases.map { item in
            "<a href=\"\(item.rawValue)\"\(item == section ? " class=\"here\"" : "")>\(item.title)</a>"
        }.joined(separator: "\n")
        let account: String
        if access.actionsEnabled {
            account =
                signedIn
                ? "<span class=\"muted\">signed in</span>" + actionForm("/logout", fields: [:], label: "Log out")
                : "<a href=\"/login\">Log in</a>"
        } else {
            account = ""
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
            <title>\(HTML.escape(title)) · Simul</title>
            <link rel="stylesheet" href="/assets/dashboard.css"><script src="/assets/dashboard.js" defer></script>
            </head><body>
            <header><a class="brand" href="/">Simul</a>
            \(navigation)
            <span id="live" class="live">static</span>\(account)</header>
            <main id="main">
            <h1>\(HTML.escape(title))</h1>
            \(body)
            </main></body></html>
            """
    }

    func error(_ status: Int, _ message: String) -> String {
        layout("Error \(status)", section: nil, "<p class=\"error\">\(HTML.escape(message))</p>")
    }

    // MARK: Overview

    func overview(_ snapshot: ClusterMonitor.Snapshot, queues: [QueueView], now: Date) -> String {
        let workers = WorkerView.all(snapshot.cluster, now: now)
        let online = workers.filter(\.online).count
        var counts: [TaskState: Int] = [:]
        for task in snapshot.cluster.tasks.values { counts[task.state, default: 0] += 1 }
        let cards = [
            ("workers online", online, "/workers"), ("workers offline", workers.count - online, "/workers"),
            ("tasks seen", snapshot.cluster.tasks.count, "/tasks"),
            ("waiting in queues", queues.map(\.waiting).reduce(0, +), "/queues"),
        ].map { label, value, link in
            "<a class=\"card\" href=\"\(link)\"><div class=\"value\">\(value)</div>"
                + "<div class=\"label\">\(label)</div></a>"
        }.joined()
        let states = TaskState.allCases.filter { $0 != .pending }.map { state in
            let name = state.rawValue
            return "<tr><td><a class=\"state \(name)\" href=\"/tasks?state=\(name)\">\(name)</a></td>"
                + "<td class=\"num\">\(counts[state] ?? 0)</td></tr>"
        }.joined()
        let minutes = snapshot.throughput.slotCount * snapshot.throughput.slotSeconds / 60
        return layout(
            "Overview", section: .overview,
            """
            <div class="cards">\(cards)</div>
            <h2>Throughput, tasks finished per \(snapshot.throughput.slotSeconds) s \
            over the last \(minutes) minutes</h2>
            \(chart(snapshot.throughput.slots(endingAt: now), slotSeconds: snapshot.throughput.slotSeconds))
            <p class="legend"><span><i class="swatch ok"></i>succeeded</span>\
            <span><i class="swatch bad"></i>failed</span></p>
            <h2>Tasks by state</h2>
            <table class="narrow"><tr><th>state</th><th class="num">tasks</th></tr>\(states)</table>
            <h2>Queues</h2>
            \(queueTable(queues, actions: false))
            <h2>Workers</h2>
            \(workerTable(workers))
            """)
    }

    /// Stacked bars, successes under failures, as inline SVG.
    func chart(_ slots: [ThroughputSeries.Slot], slotSeconds: Int) -> String {
        let width = 900.0
        let height = 180.0
        let left = 40.0
        let bottom = 20.0
        let top = 10.0
        let peak = max(1, slots.map { $0.succeeded + $0.failed }.max() ?? 1)
        let step = (width - left - 10) / Double(max(1, slots.count))
        let scale = (height - bottom - top) / Double(peak)
        var bars = ""
        for (index, slot) in slots.enumerated() {
            let x = left + Double(index) * step
            let ok = Double(slot.succeeded) * scale
            let bad = Double(slot.failed) * scale
            let base = height - bottom
            if slot.succeeded > 0 {
                bars +=
                    "<rect x=\"\(f(x + 1))\" y=\"\(f(base - ok))\" width=\"\(f(step - 2))\" height=\"\(f(ok))\" "
                    + "fill=\"#1f8a4c\"><title>\(slot.succeeded) succeeded</title></rect>"
            }
            if slot.failed > 0 {
                bars +=
                    "<rect x=\"\(f(x + 1))\" y=\"\(f(base - ok - bad))\" width=\"\(f(step - 2))\" "
                    + "height=\"\(f(bad))\" fill=\"#c23b32\"><title>\(slot.failed) failed</title></rect>"
            }
        }
        let minutes = slots.count * slotSeconds / 60
        return """
            <svg class="chart" id="throughput" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" \
            aria-label="tasks finished per \(slotSeconds) seconds" xmlns="http://www.w3.org/2000/svg">
            <line x1="\(f(left))" y1="\(f(height - bottom))" x2="\(f(width - 10))" y2="\(f(height - bottom))" \
            stroke="#d9dde5"/>
            <line x1="\(f(left))" y1="\(f(top))" x2="\(f(width - 10))" y2="\(f(top))" stroke="#eef1f5"/>
            <text x="4" y="\(f(top + 10))">\(peak)</text><text x="4" y="\(f(height - bottom))">0</text>
            <text x="\(f(left))" y="\(f(height - 4))">-\(minutes) min</text>
            <text x="\(f(width - 40))" y="\(f(height - 4))">now</text>
            \(bars)
            </svg>
            """
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    // MARK: Workers

    func workers(_ workers: [WorkerView]) -> String {
        layout(
            "Workers", section: .workers,
            workers.isEmpty ? "<p class=\"muted\">No worker has reported yet.</p>" : workerTable(workers))
    }

    func workerTable(_ workers: [WorkerView]) -> String {
        guard !workers.isEmpty else { return "<p class=\"muted\">No worker has reported yet.</p>" }
        let rows = workers.map { worker in
            let status = worker.online ? "online" : "offline"
            let active = worker.activeTasks.prefix(5).map {
                "<a class=\"mono\" href=\"\(taskPath($0))\">\(HTML.escape(String($0.prefix(8))))</a>"
            }
            .joined(separator: " ")
            return """
                <tr class="worker">\
                <td><a href="/tasks?worker=\(HTML.queryComponent(worker.hostname))">\
                \(HTML.escape(worker.hostname))</a></td>\
                <td><span class="state \(status)">\(status)</span></td>\
                <td>\(HTML.escape(worker.software ?? "—"))</td><td>\(HTML.escape(worker.pool ?? "—"))</td>\
                <td class="num">\(worker.concurrency.map(String.init) ?? "—")</td>\
                <td class="num">\(worker.processed.map(String.init) ?? "—")</td>\
                <td class="num">\(worker.active.map(String.init) ?? "—") \(active)</td>\
                <td>\(worker.loadavg.map { String(format: "%.2f", $0) }.joined(separator: " "))</td>\
                <td class="num">\(String(format: "%.1f", worker.heartbeatAge)) s</td></tr>
                """
        }.joined(separator: "\n")
        return """
            <table id="workers"><tr><th>worker</th><th>status</th><th>software</th><th>pool</th>\
            <th class="num">concurrency</th><th class="num">processed</th><th class="num">active</th><th>load</th>\
            <th class="num">heartbeat</th></tr>
            \(rows)</table>
            """
    }

    // MARK: Tasks

    func tasks(_ page: TaskPage) -> String {
        let query = page.query
        let stateOptions = (["" as String] + TaskState.allCases.filter { $0 != .pending }.map(\.rawValue)).map {
            state in
            let selected = (query.state?.rawValue ?? "") == state
            return "<option value=\"\(state)\"\(selected ? " selected" : "")>"
                + "\(state.isEmpty ? "any" : state)</option>"
        }.joined()
        let filters = """
            <form class="filters" method="get" action="/tasks">
            <label>state<select name="state">\(stateOptions)</select></label>
            <label>name<input name="name" value="\(HTML.escape(query.name ?? ""))"></label>
            <label>worker<input name="worker" value="\(HTML.escape(query.worker ?? ""))"></label>
            <label>task id<input name="id" value="\(HTML.escape(query.id ?? ""))" size="38"></label>
            <button type="submit">Filter</button> <a href="/tasks">clear</a>
            </form>
            """
        let rows = page.tasks.map { task in
            """
            <tr class="task"><td><a class="mono" href="\(taskPath(task.id))">\(HTML.escape(task.id))</a></td>\
            <td>\(HTML.escape(task.name ?? "—"))</td>\
            <td><span class="state \(task.state.rawValue)">\(task.state.rawValue)</span></td>\
            <td class="mono args">\(HTML.escape(task.args ?? "", limit: 120))</td>\
            <td class="mono">\(HTML.escape(task.outcome ?? "", limit: 80))</td>\
            <td>\(HTML.escape(task.worker ?? "—"))</td><td>\(time(task.received ?? task.updated))</td>\
            <td class="num">\(task.runtime.map { String(format: "%.3f s", $0) } ?? "")</td></tr>
            """
        }.joined(separator: "\n")
        let table =
            page.tasks.isEmpty
            ? "<p class=\"muted\">No task matches.</p>"
            : """
            <table id="tasks"><tr><th>id</th><th>name</th><th>state</th><th>args</th><th>result</th><th>worker</th>\
            <th>received</th><th class="num">runtime</th></tr>
            \(rows)</table>
            """
        var pager =
            "<div class=\"pages\"><span class=\"muted\">\(page.total) task\(page.total == 1 ? "" : "s"), "
            + "page \(query.page) of \(page.pageCount)</span>"
        if query.page > 1 {
            pager += "<a href=\"/tasks?\(query.with(page: query.page - 1).queryString)\">← newer</a>"
        }
        if query.page < page.pageCount {
            pager += "<a href=\"/tasks?\(query.with(page: query.page + 1).queryString)\">older →</a>"
        }
        pager += "</div>"
        return layout("Tasks", section: .tasks, filters + table + pager)
    }

    func task(_ detail: TaskDetail) -> String {
        let task = detail.task
        func row(_ label: String, _ value: String?) -> String {
            "<dt>\(label)</dt><dd>\(value ?? "<span class=\"muted\">—</span>")</dd>"
        }
        func pre(_ text: String?, id: String) -> String? {
            text.map { "<pre id=\"\(id)\">\(HTML.escape($0))</pre>" }
        }
        func link(_ id: String?) -> String? {
            id.map { "<a class=\"mono\" href=\"\(taskPath($0))\">\(HTML.escape($0))</a>" }
        }
        let timeline = ["RECEIVED", "STARTED", "RETRY", "SUCCESS", "FAILURE", "REVOKED"].compactMap { state in
            detail.timeline[state].map { "<tr><td>\(state)</td><td>\(time($0, full: true))</td></tr>" }
        }.joined()
        let children = detail.children.isEmpty ? nil : detail.children.compactMap(link).joined(separator: "<br>")
        var actions = ""
        if access.actionsEnabled && !task.state.isReady {
            actions = """
                <h2>Actions</h2>
                \(actionForm("/actions/revoke", fields: ["task_id": task.id], label: "Revoke"))\
                \(actionForm("/actions/revoke", fields: ["task_id": task.id, "terminate": "1"], label: "Terminate",
                    danger: true))
                """
        }
        return layout(
            "Task \(task.name ?? task.id)", section: .tasks,
            """
            <dl class="detail" id="task">
            \(row("id", "<span class=\"mono\">\(HTML.escape(task.id))</span>"))
            \(row("name", task.name.map(HTML.escape)))
            \(row("state", "<span class=\"state \(task.state.rawValue)\">\(task.state.rawValue)</span>"))
            \(row("worker", task.worker.map(HTML.escape)))
            \(row("queue", task.queue.map(HTML.escape)))
            \(row("retries", task.retries.map(String.init)))
            \(row("runtime", task.runtime.map { String(format: "%.4f s", $0) }))
            \(row("args", pre(task.args, id: "args")))
            \(row("kwargs", pre(task.kwargs, id: "kwargs")))
            \(row("result", pre(detail.result ?? task.outcome, id: "result")))
            \(row("traceback", pre(detail.traceback, id: "traceback")))
            \(row("parent", link(detail.parentId)))
            \(row("root", link(detail.rootId == task.id ? nil : detail.rootId)))
            \(row("children", children))
            </dl>
            <h2>Timeline</h2>
            \(timeline.isEmpty
                ? "<p class=\"muted\">No events yet.</p>"
                : "<table id=\"timeline\"><tr><th>state</th><th>at (UTC)</th></tr>\(timeline)</table>")
            \(actions)
            """)
    }

    // MARK: Queues and dead letters

    func queues(_ queues: [QueueView]) -> String {
        layout("Queues", section: .queues, actionsNote + queueTable(queues, actions: access.actionsEnabled))
    }

    func queueTable(_ queues: [QueueView], actions: Bool) -> String {
        guard !queues.isEmpty else { return "<p class=\"muted\">No message is waiting in any queue.</p>" }
        let rows = queues.map { queue in
            "<tr class=\"queue\"><td>\(HTML.escape(queue.name))</td><td class=\"num\">\(queue.waiting)</td>"
                + (actions
                    ? "<td>" + actionForm("/actions/purge", fields: ["queue": queue.name], label: "Purge", danger: true)
                        + "</td>"
                    : "")
                + "</tr>"
        }.joined(separator: "\n")
        return
            "<table id=\"queues\"><tr><th>queue</th><th class=\"num\">waiting</th>\(actions ? "<th></th>" : "")</tr>"
            + "\(rows)</table>"
    }

    func deadLetters(_ letters: [DeadLetterView]) -> String {
        guard !letters.isEmpty else {
            return layout("Dead letters", section: .deadLetters, "<p class=\"muted\">No dead letters.</p>")
        }
        let actions = access.actionsEnabled
        let rows = letters.map { letter in
            "<tr class=\"dead-letter\"><td class=\"num\">\(letter.id)</td><td>\(time(letter.at, full: true))</td>"
                + "<td>\(HTML.escape(letter.queue))</td><td>\(HTML.escape(letter.task ?? "?"))</td>"
                + "<td class=\"mono\">\(HTML.escape(letter.taskId ?? "?"))</td>"
                + "<td>\(HTML.escape(letter.reason, limit: 300))</td>"
                + (actions
                    ? "<td>\(actionForm("/actions/replay", fields: ["id": String(letter.id)], label: "Replay"))</td>"
                    : "")
                + "</tr>"
        }.joined(separator: "\n")
        let all = actions ? "<p>\(actionForm("/actions/replay", fields: ["id": "all"], label: "Replay all"))</p>" : ""
        return layout(
            "Dead letters", section: .deadLetters,
            actionsNote + all + """
                <table id="dead-letters"><tr><th class="num">id</th><th>at (UTC)</th><th>queue</th><th>task</th>\
                <th>task id</th><th>reason</th>\(actions ? "<th></th>" : "")</tr>\(rows)</table>
                """)
    }

    // MARK: Login and actions

    func login(error: String?) -> String {
        layout(
            "Log in", section: nil,
            (error.map { "<p class=\"error\">\(HTML.escape($0))</p>" } ?? "")
                + """
                <form method="post" action="/login" class="filters">
                <label>dashboard token<input type="password" name="token" autocomplete="current-password"></label>
                <input type="hidden" name="csrf" value="\(access.csrf)">
                <button type="submit">Log in</button></form>
                <p class="muted">The token is the one given to <code>simul dashboard --token</code> or \
                <code>SIMUL_DASHBOARD_TOKEN</code>. Logging in opens a session for this browser, kept in a same-site, \
                HTTP-only cookie that holds a random id, not the token; it ends after 12 hours or at "Log out".</p>
                """)
    }

    private var actionsNote: String {
        if !access.actionsEnabled {
            return "<p class=\"note\">Actions are off: start the dashboard with <code>--token</code> to purge, replay "
                + "and revoke.</p>"
        }
        return signedIn ? "" : "<p class=\"note\">Actions need the token: <a href=\"/login\">log in</a>.</p>"
    }

    func actionForm(_ path: String, fields: [String: String], label: String, danger: Bool = false) -> String {
        let hidden = fields.sorted { $0.key < $1.key }.map {
            "<input type=\"hidden\" name=\"\(HTML.escape($0.key))\" value=\"\(HTML.escape($0.value))\">"
        }.joined()
        return "<form class=\"inline\" method=\"post\" action=\"\(path)\">\(hidden)"
            + "<input type=\"hidden\" name=\"csrf\" value=\"\(access.csrf)\">"
            + "<button type=\"submit\"\(danger ? " class=\"danger\"" : "")>\(HTML.escape(label))</button></form>"
    }

    // MARK: Formatting

    /// The task page's path for `id`, percent-encoded, so an id from a foreign client cannot change the URL's shape.
    func taskPath(_ id: String) -> String { "/tasks/" + HTML.escape(HTML.queryComponent(id)) }

    /// `HH:MM:SS` (UTC), or with `full` the date and milliseconds too.
    func time(_ date: Date?, full: Bool = false) -> String {
        guard let date else { return "" }
        let text = ISODate.format(date)  // 2026-12-05T11:31:04.123456+00:00
        return full
            ? String(text.prefix(23)).replacingOccurrences(of: "T", with: " ") : String(text.dropFirst(11).prefix(8))
    }
}
