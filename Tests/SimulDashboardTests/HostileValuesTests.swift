import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Simul
import SimulQueue
import Testing

@testable import SimulDashboard

/// Every page and fragment, rendered with hostile text in every field that a task's sender, a worker or a visitor
/// controls, keeps that text as text: no script but the dashboard's own, no attribute broken out of its quotes, no
/// `javascript:` URL (see ``HTMLAudit``).
@Suite("Hostile values", .timeLimit(.minutes(1)))
struct HostileValuesTests {
    /// Ways out of the text or the attribute a value lands in. A quote or a `<` followed by a combining mark is one
    /// grapheme cluster to Swift but a quote or a `<` to a browser.
    static let payloads = [
        "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "' onmouseover='alert(1)",
        "javascript:alert(1)", "</textarea><script>alert(2)</script>", "</title><script>alert(3)</script>",
        "\u{2028}\u{2029}", "\"\u{301} autofocus onfocus=alert(4) x=\"", "'\u{301} onfocus=alert(5) x='",
        "<\u{301}script>alert(6)</script>", "&quot;&#34;&lt;", "<!-- -->",
    ]

    /// The hostile text for `field`: its name, so that a test can find it on a page, then every payload.
    static func hostile(_ field: String) -> String { "\(field): " + payloads.joined(separator: " ") }

    /// `text` percent-encoded for a path or a query.
    static func encoded(_ text: String) -> String { HTML.queryComponent(text) }

    static let failed = "88888888-8888-4888-8888-888888888888"
    static let running = "99999999-9999-4999-8999-999999999999"
    static let stored = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"

    /// The fields whose hostile text must show, escaped, on some page, so that the audit has something to find.
    static let shownFields = [
        "id", "name", "args", "kwargs", "result", "exception", "traceback", "worker", "software", "version", "pool",
        "queue", "parent", "root", "child", "stored name", "stored worker", "stored queue", "stored result",
        "stored traceback", "dead letter queue", "reason", "letter id", "letter task", "name filter",
        "worker filter", "id filter", "state filter", "path id", "limit",
    ]

    /// A dashboard over a memory broker whose events, results, queues and dead letters carry hostile text.
    static func dashboard(token: String?) async throws -> (Dashboard, MemoryBroker) {
        let broker = MemoryBroker()
        let dashboard = try Dashboard(
            broker: broker, backend: broker, configuration: DashboardConfiguration(port: 0, token: token),
            sessions: SessionTable())
        let worker = hostile("worker")
        try await broker.commit(
            BrokerCommit(events: [
                QueueEvent(
                    "worker-online", hostname: worker,
                    [
                        "freq": 2, "active": 1, "processed": 3, "loadavg": [0.5, 0.25, 0.1],
                        "sw_ident": .string(hostile("software")), "sw_ver": .string(hostile("version")),
                        "pool": .string(hostile("pool")), "concurrency": 4, "queues": [.string(hostile("queue"))],
                        "registered": [.string(hostile("registered"))],
                    ]),
                QueueEvent(
                    "task-received", hostname: worker,
                    [
                        "uuid": .string(failed), "name": .string(hostile("name")), "args": .string(hostile("args")),
                        "kwargs": .string(hostile("kwargs")), "queue": .string(hostile("queue")),
                        "parent_id": .string(hostile("parent")), "root_id": .string(hostile("root")),
                        "retries": 1,
                    ]),
                QueueEvent("task-started", hostname: worker, ["uuid": .string(failed)]),
                QueueEvent(
                    "task-failed", hostname: worker,
                    [
                        "uuid": .string(failed), "exception": .string(hostile("exception")),
                        "traceback": .string(hostile("traceback")),
                    ]),
                QueueEvent(
                    "task-received", hostname: worker,
                    ["uuid": .string(running), "name": .string(hostile("name")), "root_id": .string(failed)]),
                QueueEvent("task-started", hostname: worker, ["uuid": .string(running)]),
                // An id no Simul client makes, sent by a foreign one: it shows in the list and in links.
                QueueEvent(
                    "task-succeeded", hostname: worker,
                    ["uuid": .string(hostile("id")), "result": .string(hostile("result")), "runtime": 0.5]),
            ]))
        var failure = TaskResult.failure(
            taskId: failed,
            TaskError(type: "ValueError", message: hostile("message"), traceback: hostile("failure traceback")))
        failure.children = [[[.string(hostile("child")), nil], nil], .string(running)]
        var backendOnly = TaskResult(
            taskId: stored, status: .success, result: .string(hostile("stored result")),
            traceback: hostile("stored traceback"))
        backendOnly.name = hostile("stored name")
        backendOnly.worker = hostile("stored worker")
        backendOnly.queue = hostile("stored queue")
        try await broker.store([failure, backendOnly])
        try await broker.send([
            TaskMessage(
                task: hostile("message task"), args: [.string(hostile("message args"))], queue: hostile("queue"))
        ])
        let body = JSONValue.object([
            "headers": .object(["id": .string(hostile("letter id")), "task": .string(hostile("letter task"))])
        ])
        let delivery = Delivery(
            tag: "t1", queue: hostile("dead letter queue"), body: Data(body.jsonText.utf8), redelivered: false)
        try await broker.commit(BrokerCommit(deadLetter: [(delivery, hostile("reason"))]))
        try await dashboard.monitor.poll()
        return (dashboard, broker)
    }

    /// A request to make of a route, and what it answers.
    struct Visit: CustomStringConvertible {
        var method: HTTPRequest.Method = .get
        var uri: String
        var form: String?
        var status: HTTPResponse.Status = .ok

        var description: String { "\(method) \(uri)" }
    }

    /// The routes that answer HTML, with the requests that show each of their pages and error pages. `csrf` is the
    /// dashboard's CSRF token, so that a form reaches the check it aims at.
    static func visits(csrf: String) -> [String: [Visit]] {
        [
            "GET /": [Visit(uri: "/")],
            "GET /workers": [Visit(uri: "/workers")],
            "GET /tasks": [
                Visit(uri: "/tasks"), Visit(uri: "/tasks?per_page=1&page=2"),
                Visit(
                    uri: "/tasks?page=2&name=\(encoded(hostile("name filter")))"
                        + "&worker=\(encoded(hostile("worker filter")))&id=\(encoded(hostile("id filter")))"),
                Visit(uri: "/tasks?state=\(encoded(hostile("state filter")))", status: .badRequest),
            ],
            "GET /tasks/{id}": [
                Visit(uri: "/tasks/\(failed)"), Visit(uri: "/tasks/\(running)"), Visit(uri: "/tasks/\(stored)"),
                Visit(uri: "/tasks/\(encoded(hostile("path id")))", status: .badRequest),
                Visit(uri: "/tasks/bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", status: .notFound),
            ],
            "GET /queues": [Visit(uri: "/queues")],
            "GET /dead-letters": [
                Visit(uri: "/dead-letters"),
                Visit(uri: "/dead-letters?limit=\(encoded(hostile("limit")))", status: .badRequest),
            ],
            "GET /login": [Visit(uri: "/login")],
            "POST /login": [
                Visit(method: .post, uri: "/login", form: "token=\(encoded(hostile("token")))&csrf=\(csrf)"),
                Visit(method: .post, uri: "/login", form: "token=\(encoded(hostile("token")))"),
            ],
            "POST /logout": [Visit(method: .post, uri: "/logout", form: "csrf=\(encoded(hostile("csrf")))")],
            "POST /actions/revoke": [
                Visit(
                    method: .post, uri: "/actions/revoke", form: "task_id=\(encoded(hostile("task_id")))&csrf=\(csrf)")
            ],
            "POST /actions/purge": [Visit(method: .post, uri: "/actions/purge", form: "queue=&csrf=\(csrf)")],
            "POST /actions/replay": [
                Visit(method: .post, uri: "/actions/replay", form: "id=\(encoded(hostile("replay id")))&csrf=\(csrf)")
            ],
        ]
    }

    /// The routes that answer JSON, plain text, an event stream or an asset, never HTML.
    static let otherRoutes: Set<String> = [
        "GET /api/workers", "GET /api/tasks", "GET /api/tasks/{id}", "GET /api/queues", "GET /api/dead-letters",
        "GET /events", "GET /metrics", "GET /healthz", "GET /assets/dashboard.css", "GET /assets/dashboard.js",
    ]

    @Test func everyRouteIsVisitedOrAnswersNoHTML() async throws {
        let (dashboard, _) = try await Self.dashboard(token: nil)
        let routes = Set(dashboard.router().routes.map { "\($0.method) \($0.path)" })
        #expect(routes == Set(Self.visits(csrf: "").keys).union(Self.otherRoutes))
    }

    /// Each page as three viewers see it: with actions off, signed out of a dashboard with a token, and signed in
    /// (with every action form). Pages no route serves (a 404, a refusal) are visited too.
    @Test func everyPageKeepsHostileValuesAsText() async throws {
        var shown = ""
        for token in [nil, SecurityTests.token] {
            let (dashboard, _) = try await Self.dashboard(token: token)
            let csrf = dashboard.access.csrf
            let visits =
                Self.visits(csrf: csrf).values.flatMap(\.self) + [
                    Visit(uri: "/nowhere/\(Self.encoded(Self.hostile("path")))", status: .notFound),
                    // The router's test client passes the target as it is, unencoded, as a careless proxy might.
                    Visit(uri: "/nowhere/" + Self.payloads.prefix(3).joined(), status: .notFound),
                ]
            shown += try await Application(responder: dashboard.responder()).test(.router) { client in
                var shown = ""
                var session: String?
                if token != nil { session = try await SecurityTests.logIn(client, csrf: csrf) }
                for signedIn in token == nil ? [false] : [false, true] {
                    for visit in visits {
                        var headers = SecurityTests.form.with(.origin, "http://localhost")
                        if signedIn, let session { headers = SecurityTests.session(session) }
                        let response = try await client.execute(
                            uri: visit.uri, method: visit.method, headers: headers,
                            body: ByteBuffer(string: visit.form ?? ""))
                        let html = response.text
                        let viewer = token == nil ? "actions off" : signedIn ? "signed in" : "signed out"
                        #expect(response.headers[.contentType] == "text/html; charset=utf-8", "\(visit), \(viewer)")
                        if visit.method == .get {
                            #expect(response.status == visit.status, "\(visit), \(viewer): \(html)")
                        }
                        #expect(HTMLAudit.problems(in: html) == [], "\(visit), \(viewer)")
                        shown += html
                    }
                }
                return shown
            }
        }
        for field in Self.shownFields {
            let escaped = HTML.escape(String(Self.hostile(field).prefix(30)))
            #expect(shown.contains(escaped), "no page shows the hostile \(field)")
        }
        // Every fragment was rendered somewhere: the chart, the tables, the action forms and the notes.
        for fragment in [
            #"<svg class="chart""#, #"<table id="workers">"#, #"<table id="queues">"#, #"<table id="tasks">"#,
            #"<dl class="detail""#, #"<table id="dead-letters">"#, #"<form class="inline""#, #"<p class="note">"#,
            #"<span class="muted">signed in</span>"#, #"<a href="/login">Log in</a>"#,
        ] {
            #expect(shown.contains(fragment), "no page shows \(fragment)")
        }
        // Signed in, the forms carry hostile values in their hidden fields.
        #expect(shown.contains(#"name="queue" value="\#(HTML.escape(Self.hostile("queue")))""#))
    }

    /// The audit finds what it looks for: each of these is what a missed escape would write.
    @Test(arguments: [
        #"<p><img src=x onerror=alert(1)></p>"#, #"<a href="/x" onmouseover='alert(1)'>x</a>"#,
        "<input value=\"\"\u{301} onfocus=alert(1) x=\"\">", #"<a href="javascript:alert(1)">x</a>"#,
        #"<a href=" &#106;avascript:alert(1)">x</a>"#, #"<a href="//evil.example/">x</a>"#,
        #"<script>alert(1)</script>"#, #"<title></title><script>alert(1)</script></title>"#,
        #"<pre></textarea><script>alert(1)</script></pre>"#,
    ])
    func theAuditFindsBreakouts(html: String) {
        #expect(HTMLAudit.problems(in: HTMLAudit.script + html) != [])
    }

    @Test func theAuditPassesEscapedText() {
        let html =
            HTMLAudit.script + #"<p class="x">\#(HTML.escape(Self.hostile("text")))</p>"#
            + #"<input value="\#(HTML.escape(Self.hostile("value")))">"#
        #expect(HTMLAudit.problems(in: html) == [])
    }

    /// No template writes a value unescaped: `{{{value}}}` and `{{& value}}` are not used.
    @Test(arguments: Template.allCases)
    func templatesEscapeEveryValue(template: Template) {
        #expect(!template.source.contains("{{{"))
        #expect(!template.source.contains("{{&"))
    }
}
