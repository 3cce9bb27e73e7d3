import Foundation
import SimulProcessSupport

/// The pages as headless Chromium sees them, after their scripts ran, the live feed on the wire, and the screenshots.
extension BrokerRun {
    /// The page's DOM after its scripts ran, into the working directory's `NAME.html`; returns the file.
    /// - Throws: ``DriverError`` if Chromium fails or takes more than 60 s, or the page wrote to the console.
    func dump(_ page: String, as name: String) throws -> String {
        let file = path("\(name).html")
        let messages = try test.chromium.dump(dashboard + page, to: file)
        try require(messages.isEmpty, "\(page) wrote to the console:\n" + messages.joined(separator: "\n"))
        return file
    }

    /// A screenshot of `page`, 1400 by 1000, into `.build/screenshots/NAME.png`.
    /// - Throws: ``DriverError`` if Chromium fails, takes more than 60 s, or writes nothing.
    func screenshot(_ name: String, _ page: String) throws {
        try test.chromium.screenshot(dashboard + page, to: "\(test.shots)/\(name).png")
    }

    /// What each page shows: the workers, the tasks, the failure filter, a traceback, the script argument as text,
    /// the queues, the dead letters, and the overview's chart.
    func checkPages() throws {
        let kind = self.kind.rawValue
        say("\(kind): pages in headless Chromium")
        let workers = try dump("/workers", as: "workers")
        try expect(workers, has: "swift@", "\(kind): the workers page shows the Simul worker")
        try expect(workers, has: "simul 0.1", "\(kind): the workers page names Simul's software")
        if self.kind == .redis {
            try expect(workers, has: "py@", "\(kind): the workers page shows the Python Celery worker")
            try expect(workers, has: "py-celery", "\(kind): the workers page names Celery's software")
        }
        let list = try dump("/tasks", as: "tasks")
        for id in tasks {
            try expect(list, has: id, "\(kind): the task list shows \(id)")
        }
        try expect(list, has: "[\"\(Self.escapedScript)\"]", "\(kind): the task list shows the script argument as text")
        try expect(list, hasNo: Self.script, "\(kind): the task list has no script element from the argument")
        let failures = try dump("/tasks?state=FAILURE", as: "failures")
        try expect(failures, has: failed, "\(kind): the FAILURE filter shows the failure")
        try expect(failures, hasNo: added, "\(kind): the FAILURE filter hides the success")
        let failure = try dump("/tasks/\(failed)", as: "failed")
        try expect(failure, has: "Traceback", "\(kind): the failure's page shows its traceback")
        try expect(failure, has: "ValueError", "\(kind): the failure's page names the exception")
        try expect(failure, has: "RECEIVED", "\(kind): the failure's page shows its timeline")
        let detail = try dump("/tasks/\(hostile)", as: "hostile")
        try expect(detail, has: Self.escapedScript, "\(kind): the detail page shows the script argument as text")
        try expect(detail, hasNo: Self.script, "\(kind): the detail page has no script element from the argument")
        let queues = try dump("/queues", as: "queues")
        try expect(
            queues, has: #"<td>parked</td><td class="num">1</td>"#, "\(kind): the queues page shows the parked message")
        try expect(queues, has: #"action="/actions/purge""#, "\(kind): the queues page offers a purge")
        let letters = try dump("/dead-letters", as: "dead-letters")
        try expect(letters, has: "invalid JSON", "\(kind): the dead letters page gives the reason")
        try expect(letters, has: #"action="/actions/replay""#, "\(kind): the dead letters page offers a replay")
        let overview = try dump("/", as: "overview")
        try expect(overview, has: #"<svg class="chart""#, "\(kind): the overview draws the throughput chart")
    }

    /// Headless Chromium dumps the DOM at the load event, before the page's EventSource has spoken, so the live feed
    /// is checked on the wire: one update with the folded state, and a worker online in it.
    func checkLiveFeed() throws {
        let file = path("events.txt")
        try get("/events?max=1", to: file, options: ["-N", "--max-time", "10"])
        let lines = contents(file).split(separator: "\n", omittingEmptySubsequences: false)
        let data = lines.filter { $0.hasPrefix("data:") }
        let online = data.contains { line in
            line.hasPrefix("data: {")
                && line.components(separatedBy: #""workers_online":"#).dropFirst().contains { value in
                    value.first.map { ("1"..."9").contains($0) } ?? false
                }
        }
        try require(
            lines.contains("event: update") && online,
            "/events did not send an update with a worker online: \(contents(file).trimmingTrailingNewlines)")
        let shown = String(decoding: Array(data.joined(separator: "\n").utf8.prefix(160)), as: UTF8.self)
        ok("\(kind.rawValue): /events streams live updates: \(shown)")
    }

    /// Screenshots of every page into `.build/screenshots/`, named after the broker.
    func takeScreenshots() throws {
        let kind = self.kind.rawValue
        for (name, page) in [
            ("overview", "/"), ("workers", "/workers"), ("tasks", "/tasks"), ("task-failure", "/tasks/\(failed)"),
            ("task-script-args", "/tasks/\(hostile)"), ("queues", "/queues"), ("dead-letters", "/dead-letters"),
        ] {
            try screenshot("\(kind)-\(name)", page)
        }
    }
}
