import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SimulJSON
import SimulQueue
import Testing

@testable import SimulDashboard

@Suite("Dashboard pages", .timeLimit(.minutes(3)))
struct PagesTests {
    @Test func overviewShowsWorkersStatesAndChart() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.text.contains("simul@host"))
                #expect(response.text.contains("py@host"))
                #expect(response.text.contains("<svg class=\"chart\""))
                #expect(response.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
                #expect(!response.text.contains("http://") || !response.text.contains("src=\"http"))
            }
        }
    }

    @Test func workersPageShowsSimulAndCeleryWorkers() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/workers", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.text.contains("py-celery 5.7.0"))
                #expect(response.text.contains("simul 0.1"))
                #expect(response.text.contains("threads"))
                #expect(response.text.contains("1.50 1.00 0.50"))
            }
        }
    }

    @Test func taskListEscapesArguments() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/tasks", method: .get) { response in
                #expect(response.status == .ok)
                #expect(!response.text.contains(Fixture.xss))
                #expect(response.text.contains("[&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;]"))
                #expect(response.text.contains(Fixture.failed))
            }
        }
    }

    @Test(arguments: [
        ("state=FAILURE", [Fixture.failed], [Fixture.added]),
        ("name=echo", [Fixture.hostile], [Fixture.added]),
        ("worker=py%40", [Fixture.failed, Fixture.running], [Fixture.added]),
        ("id=1111", [Fixture.added], [Fixture.failed]),
    ])
    func taskListFilters(query: String, shown: [String], hidden: [String]) async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/tasks?\(query)", method: .get) { response in
                #expect(response.status == .ok)
                for id in shown { #expect(response.text.contains(id)) }
                for id in hidden { #expect(!response.text.contains(id)) }
            }
        }
    }

    /// The state filter offers Celery's states, then the custom ones of the tasks seen (PROGRESS), and filters by
    /// them, in the page and in the API; the overview counts them too. A custom state is taken as written.
    @Test func taskListOffersAndFiltersCustomStates() async throws {
        let fixture = try await Fixture()
        let progressing = "66666666-6666-4666-8666-666666666666"
        try await fixture.broker.commit(
            BrokerCommit(events: [
                QueueEvent(
                    "task-received", hostname: "simul@host", at: .now,
                    ["uuid": .string(progressing), "name": "simul.progress"]),
                QueueEvent(
                    "task-progress", hostname: "simul@host", at: .now,
                    ["uuid": .string(progressing), "current": 1, "total": 3]),
            ]))
        try await fixture.dashboard.monitor.poll()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/tasks", method: .get) { response in
                #expect(response.text.contains(#"<option value="REVOKED">REVOKED</option><option value="PROGRESS">"#))
            }
            try await client.execute(uri: "/tasks?state=PROGRESS", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.text.contains(#"<option value="PROGRESS" selected>PROGRESS</option>"#))
                #expect(response.text.contains(progressing))
                for id in [Fixture.added, Fixture.failed, Fixture.running] { #expect(!response.text.contains(id)) }
            }
            try await client.execute(uri: "/api/tasks?state=PROGRESS", method: .get) { response in
                let page = try JSONDecoder.iso.decode(TaskPage.self, from: Data(response.body.readableBytesView))
                #expect(page.tasks.map(\.id) == [progressing])
            }
            // As written: a custom state is not upper-cased, so `progress` is another state, which no task has.
            try await client.execute(uri: "/tasks?state=progress", method: .get) { response in
                #expect(response.status == .ok)
                #expect(!response.text.contains(progressing))
                #expect(response.text.contains(#"<option value="progress" selected>progress</option>"#))
            }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.text.contains(#"href="/tasks?state=PROGRESS">PROGRESS</a></td><td class="num">1<"#))
            }
        }
    }

    @Test(arguments: [
        ("/tasks?page=0", "page must be a whole number from 1 to 1000000, got &#39;0&#39;"),
        ("/tasks?page=x", "page must be a whole number from 1 to 1000000, got &#39;x&#39;"),
        (
            "/tasks?state=DO%20NE",
            "unknown state &#39;DO NE&#39; (use PENDING, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED, or a "
                + "custom state&#39;s name, such as PROGRESS: at most 64 letters, digits, &#39;_&#39;, &#39;-&#39; or "
                + "&#39;.&#39;, from a letter)"
        ),
        ("/api/tasks?state=1st", "unknown state '1st'"),
        ("/tasks?state=" + String(repeating: "A", count: 65), "unknown state &#39;AAAA"),
        ("/tasks?per_page=100000", "per_page must be a whole number from 1 to 500, got &#39;100000&#39;"),
        (
            "/tasks?page=" + String(repeating: "9", count: 50),
            "page must be a whole number from 1 to 1000000, got &#39;\(String(repeating: "9", count: 40))…&#39;"
        ),
    ])
    func taskListRejectsBadParameters(uri: String, message: String) async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.text.contains(message))
            }
        }
    }

    @Test func taskListPages() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/api/tasks?per_page=2&page=2", method: .get) { response in
                let page = try JSONDecoder.iso.decode(TaskPage.self, from: Data(response.body.readableBytesView))
                #expect(page.total == 4)
                #expect(page.pageCount == 2)
                #expect(page.tasks.count == 2)
            }
        }
    }

    /// The routes that read counts from the query, the counts each takes, and whether it answers in JSON.
    static let countedRoutes: [String: (takes: [String], json: Bool)] = [
        "/tasks": (["page", "per_page"], false), "/api/tasks": (["page", "per_page"], true),
        "/dead-letters": (["limit"], false), "/api/dead-letters": (["limit"], true), "/events": (["max"], true),
    ]

    /// The largest value each count takes.
    static let largest = ["page": 1_000_000, "per_page": 500, "limit": 1_000, "max": 1_000_000]

    @Test(arguments: countedRoutes.keys.sorted())
    func countsInRangeAreServed(path: String) async throws {
        let fixture = try await Fixture()
        for number in 1...3 {
            let delivery = Delivery(tag: "t\(number)", queue: "celery", body: Data("{}".utf8), redelivered: false)
            try await fixture.broker.commit(BrokerCommit(deadLetter: [(delivery, "unreadable \(number)")]))
        }
        let takes = try #require(Self.countedRoutes[path]).takes
        try await fixture.application.test(.router) { client in
            for name in takes {
                // `/events` streams until it has sent `max` updates, and the fixture makes one.
                for value in name == "max" ? [1] : [1, 2, Self.largest[name]!] {
                    try await client.execute(uri: "\(path)?\(name)=\(value)", method: .get) { response in
                        #expect(response.status == .ok, "\(path)?\(name)=\(value): \(response.text)")
                    }
                }
            }
        }
        // A page past the end is empty; a limit shows that many.
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/api/tasks?page=1000000&per_page=500", method: .get) { response in
                let page = try JSONDecoder.iso.decode(TaskPage.self, from: Data(response.body.readableBytesView))
                #expect(page.tasks.isEmpty)
                #expect(page.total == 4)
                #expect(page.query.page == 1_000_000)
            }
            try await client.execute(uri: "/api/dead-letters?limit=2", method: .get) { response in
                let letters = try JSONDecoder.iso.decode([JSONValue].self, from: Data(response.body.readableBytesView))
                #expect(letters.count == 2)
            }
            try await client.execute(uri: "/dead-letters?limit=1", method: .get) { response in
                #expect(response.text.contains("unreadable 3"))
                #expect(!response.text.contains("unreadable 2"))
            }
        }
    }

    /// Overflowing, negative, zero and non-numeric counts, and counts a route does not take, are each a 400 with one
    /// message naming the parameter, to every route that reads counts; the dashboard answers normally afterwards.
    @Test(arguments: countedRoutes.keys.sorted())
    func badCountsAreA400AndTheDashboardLivesOn(path: String) async throws {
        let fixture = try await Fixture()
        let route = try #require(Self.countedRoutes[path])
        let values = [
            "184467440737095518", "9223372036854775807", "36893488147419103", "9223372036854775808", "-1", "-0", "0",
            "x", "1.5", "1e3", "0x10", "%E2%88%9E",
        ]
        try await fixture.application.test(.router) { client in
            for name in ["page", "per_page", "limit", "max"] {
                for value in values {
                    let shown = value.removingPercentEncoding!
                    let message: String
                    if route.takes.contains(name) {
                        message = "\(name) must be a whole number from 1 to \(Self.largest[name]!), got '\(shown)'"
                    } else {
                        let takes = route.takes.count == 1 ? route.takes[0] : "page and per_page"
                        message = "\(name) does not apply to \(path), which takes \(takes)"
                    }
                    try await client.execute(uri: "\(path)?\(name)=\(value)", method: .get) { response in
                        #expect(response.status == .badRequest, "\(path)?\(name)=\(value)")
                        if route.json {
                            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                            let body = Data(response.body.readableBytesView)
                            let error = try JSONDecoder().decode([String: String].self, from: body)
                            #expect(error == ["error": message])
                        } else {
                            #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                            #expect(response.text.contains("<p class=\"error\">\(HTML.escape(message))</p>"))
                        }
                    }
                }
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/tasks", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.text.contains(Fixture.added))
            }
        }
    }

    /// The probe's exact requests on a real server: the process answers after each.
    @Test func overflowingPagesOnALiveServer() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.live) { client in
            for uri in [
                "/tasks?page=184467440737095518", "/api/tasks?per_page=500&page=9223372036854775807",
                "/tasks?per_page=500&page=36893488147419103", "/tasks?page=9223372036854775807",
            ] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .badRequest, "\(uri)")
                    #expect(response.text.contains("page must be a whole number from 1 to 1000000"))
                }
                try await client.execute(uri: "/healthz", method: .get) { response in
                    #expect(response.status == .ok)
                }
            }
        }
    }

    @Test func searchByFullIdKnownOnlyToTheBackendRedirects() async throws {
        let fixture = try await Fixture()
        let stored = "66666666-6666-4666-8666-666666666666"
        try await fixture.broker.store([TaskResult(taskId: stored, status: .success, result: 1)])
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/tasks?id=\(stored)", method: .get) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/tasks/\(stored)")
            }
        }
    }

    @Test func taskDetailShowsTracebackTimelineAndEscapedArguments() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/tasks/\(Fixture.failed)", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.text.contains("ValueError: boom"))
                #expect(response.text.contains("<table id=\"timeline\">"))
                #expect(response.text.contains("FAILURE"))
            }
            try await client.execute(uri: "/tasks/\(Fixture.hostile)", method: .get) { response in
                #expect(response.status == .ok)
                #expect(!response.text.contains(Fixture.xss))
                #expect(response.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            }
            try await client.execute(uri: "/tasks/\(Fixture.added)", method: .get) { response in
                #expect(response.text.contains("href=\"/tasks/\(Fixture.child)\""))
            }
            try await client.execute(uri: "/tasks/\(Fixture.running)", method: .get) { response in
                #expect(response.text.contains("href=\"/tasks/\(Fixture.added)\""))
            }
        }
    }

    @Test func unknownTaskIs404AndMalformedIdIs400() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/tasks/77777777-7777-4777-8777-777777777777", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/tasks/%3Cscript%3E", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(!response.text.contains("<script>"))
            }
        }
    }

    @Test func queuesAndDeadLetters() async throws {
        let fixture = try await Fixture()
        let message = TaskMessage(task: "simul.add", args: [1, 2], queue: "celery")
        try await fixture.broker.send([message])
        let delivery = Delivery(tag: "t1", queue: "celery", body: Data("<not json>".utf8), redelivered: false)
        try await fixture.broker.commit(BrokerCommit(deadLetter: [(delivery, "malformed <body>")]))
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/queues", method: .get) { response in
                #expect(response.text.contains("<td>celery</td><td class=\"num\">1</td>"))
                #expect(response.text.contains("Actions are off"))
            }
            try await client.execute(uri: "/dead-letters", method: .get) { response in
                #expect(response.text.contains("malformed &lt;body&gt;"))
            }
            try await client.execute(uri: "/nowhere", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.text.contains("there is no page at /nowhere"))
                #expect(response.headers[.contentSecurityPolicy] != nil)
            }
            try await client.execute(uri: "/api/nowhere", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.text == #"{"error":"there is no page at /api/nowhere"}"#)
            }
        }
    }
}

extension JSONDecoder {
    static var iso: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
