import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Simul
import SimulJSON
import SimulQueue
import SimulTestSupport
import Testing

@testable import SimulDashboard

@Suite("Dashboard security", .timeLimit(.minutes(3)))
struct SecurityTests {
    static let token = "s3cret-token"
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    static func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test func nonLoopbackWithoutTokenIsRefused() throws {
        #expect(throws: DashboardError.tokenRequired(host: "0.0.0.0")) {
            try Dashboard(broker: MemoryBroker(), backend: MemoryBroker(), configuration: .init(host: "0.0.0.0"))
        }
        #expect(
            DashboardError.tokenRequired(host: "0.0.0.0").message
                == "binding 0.0.0.0 exposes the dashboard beyond this machine: give --token TOKEN or set SIMUL_DASHBOARD_TOKEN"
        )
        #expect(throws: DashboardError.badPort(70_000)) {
            try Dashboard(broker: MemoryBroker(), backend: MemoryBroker(), configuration: .init(port: 70_000))
        }
    }

    @Test(arguments: ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
    func loopbackNeedsNoToken(host: String) throws {
        _ = try Dashboard(broker: MemoryBroker(), backend: MemoryBroker(), configuration: .init(host: host))
    }

    @Test func actionsAreOffWithoutAToken() async throws {
        let fixture = try await Fixture()
        try await fixture.application.test(.router) { client in
            try await client.execute(
                uri: "/actions/revoke", method: .post, headers: Self.form, body: Self.body("task_id=\(Fixture.running)")
            ) { response in
                #expect(response.status == .forbidden)
                #expect(response.text.contains("actions are off"))
            }
        }
        #expect(try await fixture.broker.revocations(after: nil).revocations.isEmpty)
    }

    @Test func actionWithoutTheTokenIs401() async throws {
        let fixture = try await Fixture(token: Self.token)
        try await fixture.application.test(.router) { client in
            try await client.execute(
                uri: "/actions/purge", method: .post, headers: Self.form, body: Self.body("queue=celery")
            ) { response in
                #expect(response.status == .unauthorized)
            }
            let wrong = Self.form.with(.authorization, "Bearer nope")
            try await client.execute(
                uri: "/actions/purge", method: .post, headers: wrong, body: Self.body("queue=celery")
            ) { response in
                #expect(response.status == .unauthorized)
                #expect(response.text.contains("actions need the dashboard token"))
            }
        }
    }

    @Test func actionWithBearerTokenRevokes() async throws {
        let fixture = try await Fixture(token: Self.token)
        let headers = Self.form.with(.authorization, "Bearer \(Self.token)")
        try await fixture.application.test(.router) { client in
            try await client.execute(
                uri: "/actions/revoke", method: .post, headers: headers,
                body: Self.body("task_id=\(Fixture.running)&terminate=1")
            ) { response in
                #expect(response.status == .ok)
                #expect(response.text == #"{"revoked":"\#(Fixture.running)","terminate":true}"#)
            }
            try await client.execute(
                uri: "/actions/revoke", method: .post, headers: headers, body: Self.body("task_id=%3Cx%3E")
            ) { response in
                #expect(response.status == .badRequest)
                #expect(response.text == #"{"error":"task_id must be a task id"}"#)
            }
        }
        let revoked = try await fixture.broker.revocations(after: nil).revocations
        #expect(revoked.map(\.id) == [Fixture.running] && revoked.map(\.terminate) == [true])
    }

    @Test func purgeAndReplayWithBearerToken() async throws {
        let fixture = try await Fixture(token: Self.token)
        try await fixture.broker.send([TaskMessage(task: "simul.add", args: [1, 2], queue: "parked")])
        let delivery = Delivery(tag: "t1", queue: "celery", body: Data("{}".utf8), redelivered: false)
        try await fixture.broker.commit(BrokerCommit(deadLetter: [(delivery, "unreadable")]))
        let headers = Self.form.with(.authorization, "Bearer \(Self.token)")
        try await fixture.application.test(.router) { client in
            try await client.execute(
                uri: "/actions/purge", method: .post, headers: headers, body: Self.body("queue=parked")
            ) { response in
                #expect(response.status == .ok)
                #expect(response.text == #"{"purged":1,"queue":"parked"}"#)
            }
            try await client.execute(
                uri: "/actions/replay", method: .post, headers: headers, body: Self.body("id=all")
            ) { response in
                #expect(response.status == .ok)
                #expect(response.text == #"{"replayed":1}"#)
            }
        }
        #expect(try await fixture.broker.queueLengths() == ["celery": 1])
    }

    @Test(arguments: [
        ("/actions/purge", "queue=", #"{"error":"queue must name a queue"}"#),
        ("/actions/replay", "id=x", #"{"error":"id must be a dead letter's number or 'all'"}"#),
        ("/actions/replay", "", #"{"error":"id must be a dead letter's number or 'all'"}"#),
        ("/actions/revoke", "terminate=1", #"{"error":"task_id must be a task id"}"#),
    ])
    func actionsRejectBadForms(path: String, form: String, error: String) async throws {
        let fixture = try await Fixture(token: Self.token)
        let headers = Self.form.with(.authorization, "Bearer \(Self.token)")
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: path, method: .post, headers: headers, body: Self.body(form)) { response in
                #expect(response.status == .badRequest)
                #expect(response.text == error)
            }
        }
    }

    /// Logs in through the form, as a browser does, and returns the session id from the cookie it sets.
    static func logIn(_ client: some TestClientProtocol, csrf: String) async throws -> String {
        try await client.execute(
            uri: "/login", method: .post, headers: Self.form.with(.origin, "http://localhost"),
            body: Self.body("token=\(Self.token)&csrf=\(csrf)")
        ) { response in
            #expect(response.status == .seeOther)
            let cookie = try #require(response.headers[.setCookie])
            let prefix = "\(Access.cookieName)="
            #expect(cookie.hasPrefix(prefix))
            return String(cookie.dropFirst(prefix.count).prefix { $0 != ";" })
        }
    }

    /// The message of a request whose session is unknown or has ended.
    static let sessionEnded = "the session is unknown or has ended: log in again"

    /// Purges the queue `celery` as the page of session `id` does: the session's cookie and the form's CSRF token.
    static func purge(_ client: some TestClientProtocol, session id: String, csrf: String) async throws -> TestResponse
    {
        try await client.execute(
            uri: "/actions/purge", method: .post, headers: session(id), body: body("queue=celery&csrf=\(csrf)"))
    }

    /// Headers that carry the session `id` in its cookie, posted from the dashboard's own origin.
    static func session(_ id: String) -> HTTPFields {
        Self.form.with(.cookie, "\(Access.cookieName)=\(id)").with(.origin, "http://localhost")
    }

    @Test func cookieActionNeedsCSRFTokenAndSameOrigin() async throws {
        let fixture = try await Fixture(token: Self.token)
        let csrf = fixture.dashboard.access.csrf
        // The router test framework sends every request to the authority "localhost".
        try await fixture.application.test(.router) { client in
            let id = try await Self.logIn(client, csrf: csrf)
            let headers = Self.form.with(.cookie, "\(Access.cookieName)=\(id)")
            // No CSRF token in the form.
            try await client.execute(
                uri: "/actions/purge", method: .post, headers: headers, body: Self.body("queue=celery")
            ) { response in
                #expect(response.status == .forbidden)
                #expect(response.text.contains("the form&#39;s CSRF token is missing or stale: reload the page"))
            }
            // The right CSRF token, but posted from another site.
            let foreign = headers.with(.origin, "http://evil.example")
            try await client.execute(
                uri: "/actions/purge", method: .post, headers: foreign, body: Self.body("queue=celery&csrf=\(csrf)")
            ) { response in
                #expect(response.status == .forbidden)
                #expect(response.text.contains("the request did not come from the dashboard&#39;s pages"))
            }
            let purged = try await Self.purge(client, session: id, csrf: csrf)
            #expect(purged.status == .seeOther && purged.headers[.location] == "/queues")
        }
    }

    @Test func loginSetsASessionCookieThatIsNotTheToken() async throws {
        let fixture = try await Fixture(token: Self.token)
        let csrf = fixture.dashboard.access.csrf
        try await fixture.application.test(.router) { client in
            try await client.execute(
                uri: "/login", method: .post, headers: Self.form.with(.origin, "http://localhost"),
                body: Self.body("token=wrong&csrf=\(csrf)")
            ) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.setCookie] == nil)
            }
            #expect(fixture.dashboard.access.sessions.count == 0)
            let first = try await Self.logIn(client, csrf: csrf)
            let second = try await Self.logIn(client, csrf: csrf)
            for id in [first, second] {
                #expect(id.count == 64 && id.allSatisfy(\.isHexDigit))
                #expect(!id.contains(Self.token))
            }
            #expect(first != second)
            try await client.execute(
                uri: "/login", method: .post, headers: Self.form.with(.origin, "http://localhost"),
                body: Self.body("token=\(Self.token)&csrf=\(csrf)")
            ) { response in
                let cookie = try #require(response.headers[.setCookie])
                #expect(!cookie.contains(Self.token))
                #expect(cookie.hasSuffix("; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict"))
            }
            // The page shows who is signed in, with a logout form that carries the CSRF token.
            try await client.execute(uri: "/", method: .get, headers: Self.session(first)) { response in
                #expect(response.text.contains("signed in"))
                #expect(response.text.contains("action=\"/logout\">"))
                #expect(response.text.contains("name=\"csrf\" value=\"\(csrf)\""))
            }
        }
    }

    @Test(arguments: [
        "00000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000", "s3cret-token", "%00",
    ])
    func unknownOrForgedSessionIdsAreRefused(id: String) async throws {
        let fixture = try await Fixture(token: Self.token, host: "0.0.0.0")
        let csrf = fixture.dashboard.access.csrf
        try await fixture.application.test(.router) { client in
            _ = try await Self.logIn(client, csrf: csrf)
            let refused = try await Self.purge(client, session: id, csrf: csrf)
            #expect(refused.status == .unauthorized && refused.text.contains(Self.sessionEnded))
            // Off loopback an unknown session cannot read either.
            try await client.execute(uri: "/api/workers", method: .get, headers: Self.session(id)) { response in
                #expect(response.status == .unauthorized)
                #expect(response.text == #"{"error":"\#(Self.sessionEnded)"}"#)
            }
        }
    }

    @Test func logoutEndsTheSession() async throws {
        let fixture = try await Fixture(token: Self.token, host: "0.0.0.0")
        let csrf = fixture.dashboard.access.csrf
        try await fixture.application.test(.router) { client in
            let id = try await Self.logIn(client, csrf: csrf)
            let other = try await Self.logIn(client, csrf: csrf)
            try await client.execute(uri: "/api/workers", method: .get, headers: Self.session(id)) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(
                uri: "/logout", method: .post, headers: Self.session(id), body: Self.body("csrf=\(csrf)")
            ) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/login")
                let cleared = "\(Access.cookieName)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
                #expect(response.headers[.setCookie] == cleared)
            }
            let refused = try await Self.purge(client, session: id, csrf: csrf)
            #expect(refused.status == .unauthorized && refused.text.contains(Self.sessionEnded))
            try await client.execute(uri: "/api/workers", method: .get, headers: Self.session(id)) { response in
                #expect(response.status == .unauthorized)
            }
            // Another browser's session is untouched.
            try await client.execute(uri: "/api/workers", method: .get, headers: Self.session(other)) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func logoutNeedsTheCSRFTokenAndTheDashboardsOrigin() async throws {
        let fixture = try await Fixture(token: Self.token)
        let csrf = fixture.dashboard.access.csrf
        try await fixture.application.test(.router) { client in
            let id = try await Self.logIn(client, csrf: csrf)
            for (headers, form) in [
                (Self.session(id), ""), (Self.session(id), "csrf=stale"),
                (Self.session(id).with(.origin, "http://evil.example"), "csrf=\(csrf)"),
            ] {
                let response = try await client.execute(
                    uri: "/logout", method: .post, headers: headers, body: Self.body(form))
                #expect(response.status == .forbidden)
                #expect(response.headers[.setCookie] == nil)
                #expect(response.text.contains("the logout form is stale or came from elsewhere: reload the page"))
            }
            #expect(fixture.dashboard.access.sessions.isOpen(id))
        }
    }

    @Test func sessionsEndAfterTheirLifetime() async throws {
        let clock = TestClock()
        let sessions = SessionTable(lifetime: .seconds(60), capacity: 10, clock: clock)
        let fixture = try await Fixture(token: Self.token, sessions: sessions)
        let csrf = fixture.dashboard.access.csrf
        try await fixture.application.test(.router) { client in
            let id = try await Self.logIn(client, csrf: csrf)
            clock.advance(by: .seconds(59))
            #expect(try await Self.purge(client, session: id, csrf: csrf).status == .seeOther)
            clock.advance(by: .seconds(1))
            let refused = try await Self.purge(client, session: id, csrf: csrf)
            #expect(refused.status == .unauthorized && refused.text.contains(Self.sessionEnded))
        }
    }

    @Test func theSessionTableDropsTheOldestWhenFull() {
        let clock = TestClock()
        let sessions = SessionTable(lifetime: .seconds(60), capacity: 3, clock: clock)
        var ids: [String] = []
        for _ in 0..<5 {
            ids.append(sessions.open())
            clock.advance(by: .seconds(1))
        }
        #expect(sessions.count == 3)
        #expect(ids.map(sessions.isOpen) == [false, false, true, true, true])
        sessions.close(ids[3])
        #expect(!sessions.isOpen(ids[3]))
        // Ended sessions are forgotten when the next one opens.
        clock.advance(by: .seconds(60))
        _ = sessions.open()
        #expect(sessions.count == 1)
    }

    @Test func offLoopbackEveryPageNeedsTheToken() async throws {
        let fixture = try await Fixture(token: Self.token, host: "0.0.0.0")
        try await fixture.application.test(.router) { client in
            try await client.execute(uri: "/api/workers", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/login", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(
                uri: "/api/workers", method: .get, headers: [.authorization: "Bearer \(Self.token)"]
            ) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test(arguments: [
        ("rebound.example:5555", false), ("localhost:5555", true), ("127.0.0.1", true), ("[::1]:5555", true),
        ("127.0.0.1.evil.example", false),
    ])
    func loopbackRefusesForeignHostNames(authority: String, accepted: Bool) {
        let access = Access(token: nil, loopback: true)
        let request = Request(
            head: HTTPRequest(method: .get, scheme: "http", authority: authority, path: "/"),
            body: RequestBody(buffer: ByteBuffer()))
        #expect(access.acceptsHost(request) == accepted)
        #expect(Access(token: "t", loopback: false).acceptsHost(request))
    }

    @Test(arguments: [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("a & b", "a &amp; b"), ("\"'", "&quot;&#39;"), ("plain", "plain"),
        // A quote or a `<` with a combining mark is one Character but still a quote or a `<` to a browser.
        ("\"\u{301}'\u{301}<\u{338}", "&quot;\u{301}&#39;\u{301}&lt;\u{338}"),
    ])
    func escaping(raw: String, escaped: String) {
        #expect(HTML.escape(raw) == escaped)
    }

    @Test func taskLinksPercentEncodeForeignIds() {
        let pages = Pages(templates: Template.library, access: Access(token: nil, loopback: true), signedIn: false)
        #expect(pages.taskPath("a/../b?x=\"<") == "/tasks/a%2F..%2Fb%3Fx%3D%22%3C")
        #expect(pages.taskPath(Fixture.added) == "/tasks/\(Fixture.added)")
        var mounted = pages
        mounted.base = "/ops"
        #expect(mounted.taskPath(Fixture.added) == "/ops/tasks/\(Fixture.added)")
    }

    @Test(arguments: [
        ("0b1e-A_z.9", true), ("", false), ("a b", false), ("é", false), (String(repeating: "a", count: 65), false),
    ])
    func taskIds(id: String, valid: Bool) {
        #expect(Dashboard.isTaskId(id) == valid)
    }

    @Test func formFields() {
        #expect(FormFields.parse("a=1&b=x+y&c=%3Cz%3E&d&=e") == ["a": "1", "b": "x y", "c": "<z>", "d": ""])
        #expect(FormFields.parse("a=%ZZ") == ["a": "%ZZ"])
    }
}

extension HTTPFields {
    func with(_ name: HTTPField.Name, _ value: String) -> HTTPFields {
        var fields = self
        fields[name] = value
        return fields
    }
}
