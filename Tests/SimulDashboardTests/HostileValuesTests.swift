import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SimulJSON
import SimulQueue
import Testing

@testable import SimulDashboard

/// Every page and fragment, rendered with hostile text in every field that a task's sender, a worker or a visitor
/// controls, keeps that text as text: no script but the dashboard's own, no attribute broken out of its quotes, no
/// `javascript:` URL (see ``HTMLAudit``).
@Suite("Hostile values", .timeLimit(.minutes(3)))
struct HostileValuesTests {
    /// Ways out of the text or the attribute a value lands in. A quote or a `<` followed by a combining mark is one
    /// grapheme cluster to Swift but a quote or a `<` to a browser.
    static let payloads = [
        "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "' onmouseover='alert(1)",
        "javascript:alert(1)", "</textarea><script>alert(2)</script>", "</title><script>alert(3)</script>",
        "\u{2028}\u{2029}", "\"\u{301} autofocus onfocus=alert(4) x=\"", "'\u{301} onfocus=alert(5) x='",
        "<\u{301}script>alert(6)</script>", "&quot;&#34;&lt;", "<!-- -->", "\" class=\"x\" id=\"main", "' id='y",
    ]

    /// The hostile text for `field`: its name, so that a test can find it on a page, then every payload.
    @Sendable static func hostile(_ field: String) -> String { "\(field): " + payloads.joined(separator: " ") }

    /// The plain twin of ``hostile(_:)``, for pages to compare with.
    @Sendable static func plain(_ field: String) -> String { "\(field): plain words" }

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

    /// A dashboard over a memory broker whose events, results, queues and dead letters carry `text(field)` in every
    /// field a sender or a worker controls.
    static func dashboard(token: String?, text: (String) -> String = hostile) async throws -> Dashboard {
        let broker = MemoryBroker()
        let dashboard = try Dashboard(
            broker: broker, backend: broker, configuration: DashboardConfiguration(port: 0, token: token),
            sessions: SessionTable())
        let worker = text("worker")
        try await broker.commit(
            BrokerCommit(events: [
                QueueEvent(
                    "worker-online", hostname: worker, at: .now,
                    [
                        "freq": 2, "active": 1, "processed": 3, "loadavg": [0.5, 0.25, 0.1],
                        "sw_ident": .string(text("software")), "sw_ver": .string(text("version")),
                        "pool": .string(text("pool")), "concurrency": 4, "queues": [.string(text("queue"))],
                        "registered": [.string(text("registered"))],
                    ]),
                QueueEvent(
                    "task-received", hostname: worker, at: .now,
                    [
                        "uuid": .string(failed), "name": .string(text("name")), "args": .string(text("args")),
                        "kwargs": .string(text("kwargs")), "queue": .string(text("queue")),
                        "parent_id": .string(text("parent")), "root_id": .string(text("root")),
                        "retries": 1,
                    ]),
                QueueEvent("task-started", hostname: worker, at: .now, ["uuid": .string(failed)]),
                QueueEvent(
                    "task-failed", hostname: worker, at: .now,
                    [
                        "uuid": .string(failed), "exception": .string(text("exception")),
                        "traceback": .string(text("traceback")),
                    ]),
                QueueEvent(
                    "task-received", hostname: worker, at: .now,
                    ["uuid": .string(running), "name": .string(text("name")), "root_id": .string(failed)]),
                QueueEvent("task-started", hostname: worker, at: .now, ["uuid": .string(running)]),
                // An id no Simul client makes, sent by a foreign one: it shows in the list and in links.
                QueueEvent(
                    "task-succeeded", hostname: worker, at: .now,
                    ["uuid": .string(text("id")), "result": .string(text("result")), "runtime": 0.5]),
            ]))
        var failure = TaskResult.failure(
            taskId: failed,
            TaskError(type: "ValueError", message: text("message"), traceback: text("failure traceback")))
        failure.children = [[[.string(text("child")), nil], nil], .string(running)]
        var backendOnly = TaskResult(
            taskId: stored, status: .success, result: .string(text("stored result")),
            traceback: text("stored traceback"))
        backendOnly.name = text("stored name")
        backendOnly.worker = text("stored worker")
        backendOnly.queue = text("stored queue")
        try await broker.store([failure, backendOnly])
        try await broker.send([
            TaskMessage(
                task: text("message task"), args: [.string(text("message args"))], queue: text("queue"))
        ])
        let body = JSONValue.object([
            "headers": .object(["id": .string(text("letter id")), "task": .string(text("letter task"))])
        ])
        let delivery = Delivery(
            tag: "t1", queue: text("dead letter queue"), body: Data(body.jsonText.utf8), redelivered: false)
        try await broker.commit(BrokerCommit(deadLetter: [(delivery, text("reason"))]))
        try await dashboard.monitor.poll()
        return dashboard
    }

    /// A request to make of a route, and what it answers.
    struct Visit: CustomStringConvertible, Sendable {
        var method: HTTPRequest.Method = .get
        var uri: String
        var form: String?
        var status: HTTPResponse.Status = .ok

        var description: String { "\(method) \(uri)" }
    }

    /// The routes that answer HTML, with the requests that show each of their pages and error pages, with
    /// `text(field)` in what a visitor controls. `csrf` is the dashboard's CSRF token, so that a form reaches the
    /// check it aims at.
    static func visits(csrf: String, text: (String) -> String = hostile) -> [String: [Visit]] {
        [
            "GET /": [Visit(uri: "/")],
            "GET /workers": [Visit(uri: "/workers")],
            "GET /tasks": [
                Visit(uri: "/tasks"), Visit(uri: "/tasks?per_page=1&page=2"),
                Visit(
                    uri: "/tasks?page=2&name=\(encoded(text("name filter")))"
                        + "&worker=\(encoded(text("worker filter")))&id=\(encoded(text("id filter")))"),
                Visit(uri: "/tasks?state=\(encoded(text("state filter")))", status: .badRequest),
            ],
            "GET /tasks/{id}": [
                Visit(uri: "/tasks/\(failed)"), Visit(uri: "/tasks/\(running)"), Visit(uri: "/tasks/\(stored)"),
                Visit(uri: "/tasks/\(encoded(text("path id")))", status: .badRequest),
                Visit(uri: "/tasks/bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", status: .notFound),
            ],
            "GET /queues": [Visit(uri: "/queues")],
            "GET /dead-letters": [
                Visit(uri: "/dead-letters"),
                Visit(uri: "/dead-letters?limit=\(encoded(text("limit")))", status: .badRequest),
            ],
            "GET /login": [Visit(uri: "/login")],
            "POST /login": [
                Visit(method: .post, uri: "/login", form: "token=\(encoded(text("token")))&csrf=\(csrf)"),
                Visit(method: .post, uri: "/login", form: "token=\(encoded(text("token")))"),
            ],
            "POST /logout": [Visit(method: .post, uri: "/logout", form: "csrf=\(encoded(text("csrf")))")],
            "POST /actions/revoke": [
                Visit(
                    method: .post, uri: "/actions/revoke", form: "task_id=\(encoded(text("task_id")))&csrf=\(csrf)")
            ],
            "POST /actions/purge": [Visit(method: .post, uri: "/actions/purge", form: "queue=&csrf=\(csrf)")],
            "POST /actions/replay": [
                Visit(method: .post, uri: "/actions/replay", form: "id=\(encoded(text("replay id")))&csrf=\(csrf)")
            ],
        ]
    }

    /// The routes that answer JSON, plain text, an event stream or an asset, never HTML.
    static let otherRoutes: Set<String> = [
        "GET /api/workers", "GET /api/tasks", "GET /api/tasks/{id}", "GET /api/queues", "GET /api/dead-letters",
        "GET /events", "GET /metrics", "GET /healthz", "GET /assets/dashboard.css", "GET /assets/dashboard.js",
    ]

    @Test func everyRouteIsVisitedOrAnswersNoHTML() async throws {
        let dashboard = try await Self.dashboard(token: nil)
        let routes = Set(dashboard.router().routes.map { "\($0.method) \($0.path)" })
        #expect(routes == Set(Self.visits(csrf: "").keys).union(Self.otherRoutes))
    }

    /// One page as one viewer got it.
    struct Rendered: Sendable {
        var visit: Visit
        var viewer: String
        var status: HTTPResponse.Status
        var contentType: String?
        var html: String

        var label: String { "\(visit), \(viewer)" }
    }

    /// Every page of every HTML route, in a fixed order, with `text(field)` in every field, as three viewers see it:
    /// with actions off, signed out of a dashboard with a token, and signed in (with every action form). Pages no
    /// route serves (a 404) are visited too.
    static func renderEveryPage(text: @escaping @Sendable (String) -> String) async throws -> [Rendered] {
        var rendered: [Rendered] = []
        for token in [nil, SecurityTests.token] {
            let dashboard = try await Self.dashboard(token: token, text: text)
            let csrf = dashboard.access.csrf
            let visits =
                Self.visits(csrf: csrf, text: text).sorted { $0.key < $1.key }.flatMap(\.value) + [
                    Visit(uri: "/nowhere/\(Self.encoded(text("path")))", status: .notFound),
                    // The router's test client passes the target as it is, unencoded, as a careless proxy might.
                    Visit(uri: "/nowhere/" + text("raw path"), status: .notFound),
                ]
            rendered += try await Application(responder: dashboard.responder()).test(.router) { client in
                var rendered: [Rendered] = []
                var session: String?
                if token != nil { session = try await SecurityTests.logIn(client, csrf: csrf) }
                for signedIn in token == nil ? [false] : [false, true] {
                    for visit in visits {
                        var headers = SecurityTests.form.with(.origin, "http://localhost")
                        if signedIn, let session { headers = SecurityTests.session(session) }
                        let response = try await client.execute(
                            uri: visit.uri, method: visit.method, headers: headers,
                            body: ByteBuffer(string: visit.form ?? ""))
                        let viewer = token == nil ? "actions off" : signedIn ? "signed in" : "signed out"
                        rendered.append(
                            Rendered(
                                visit: visit, viewer: viewer, status: response.status,
                                contentType: response.headers[.contentType], html: response.text))
                    }
                }
                return rendered
            }
        }
        return rendered
    }

    /// Each page passes the audit, and has the same elements and attributes, in the same order, as its twin rendered
    /// with plain words in the same fields: the hostile values changed no tag and no attribute.
    @Test func everyPageKeepsHostileValuesAsText() async throws {
        let pages = try await Self.renderEveryPage(text: Self.hostile)
        let twins = try await Self.renderEveryPage(text: Self.plain)
        try #require(pages.count == twins.count)
        for (page, twin) in zip(pages, twins) {
            #expect(page.contentType == "text/html; charset=utf-8", "\(page.label)")
            if page.visit.method == .get {
                #expect(page.status == page.visit.status, "\(page.label): \(page.html)")
            }
            #expect(page.status == twin.status, "\(page.label)")
            #expect(HTMLAudit.problems(in: page.html) == [], "\(page.label)")
            #expect(HTMLAudit.skeleton(of: page.html) == HTMLAudit.skeleton(of: twin.html), "\(page.label)")
        }
        let shown = pages.map(\.html).joined()
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

    /// A value that breaks out into attributes the templates do write passes the audit, but not the comparison
    /// with its plain twin.
    @Test func theSkeletonShowsABreakoutIntoKnownAttributes() {
        let page = #"<input value="" class="x" id="main">"#
        #expect(HTMLAudit.problems(in: HTMLAudit.script + page) == [])
        #expect(HTMLAudit.skeleton(of: page) != HTMLAudit.skeleton(of: #"<input value="plain">"#))
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
