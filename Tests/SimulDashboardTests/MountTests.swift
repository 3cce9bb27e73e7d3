import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SimulJSON
import SimulQueue
import Testing

@testable import SimulDashboard

/// The dashboard mounted in an app's own router, under a path, behind the app's own middleware.
@Suite("Dashboard mounted in a router", .timeLimit(.minutes(3)))
struct MountTests {
    /// An app's own access check: requests without `X-User` are refused before the dashboard sees them.
    struct RequireUser<Context: RequestContext>: RouterMiddleware {
        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
            async throws -> Response
        {
            guard request.headers[HTTPField.Name("X-User")!] != nil else {
                return Response(
                    status: .unauthorized, body: ResponseBody(byteBuffer: ByteBuffer(string: "who are you")))
            }
            return try await next(request, context)
        }
    }

    static let user: HTTPFields = [HTTPField.Name("X-User")!: "ana"]

    /// An app with its own route, `/hello`, and the fixture's dashboard under `/ops`.
    static func app(_ fixture: Fixture) throws -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: RequireUser())
        router.get("/hello") { _, _ in "hello" }
        try fixture.dashboard.addRoutes(to: router, atPath: "/ops")
        return Application(router: router)
    }

    @Test func pagesLinkUnderThePathBehindTheAppsMiddleware() async throws {
        let fixture = try await Fixture()
        try await Self.app(fixture).test(.router) { client in
            try await client.execute(uri: "/ops/", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.text == "who are you")
            }
            for uri in ["/ops", "/ops/"] {
                try await client.execute(uri: uri, method: .get, headers: Self.user) { response in
                    #expect(response.status == .ok)
                    let html = response.text
                    for link in [
                        #"href="/ops/assets/dashboard.css""#, #"src="/ops/assets/dashboard.js""#,
                        #"data-base="/ops""#, #"href="/ops/""#, #"href="/ops/workers""#, #"href="/ops/tasks""#,
                        #"href="/ops/tasks?state=SUCCESS""#,
                    ] {
                        #expect(html.contains(link), "\(link) missing")
                    }
                    let links = HTMLAudit.tags(in: html).flatMap(\.attributes).filter {
                        ["href", "src", "action"].contains($0.name)
                    }
                    #expect(!links.isEmpty)
                    #expect(links.filter { !$0.value.hasPrefix("/ops/") }.map(\.value) == [])
                }
            }
            try await client.execute(uri: "/ops/tasks/\(Fixture.added)", method: .get, headers: Self.user) {
                response in
                #expect(response.status == .ok)
                #expect(response.text.contains(#"href="/ops/tasks/\#(Fixture.child)""#))
            }
            try await client.execute(uri: "/ops/api/tasks/\(Fixture.failed)", method: .get, headers: Self.user) {
                response in
                #expect(response.status == .ok)
                #expect(response.text.contains(#""exc_type\":\"ValueError\""#))
            }
            try await client.execute(uri: "/ops/assets/dashboard.js", method: .get, headers: Self.user) { response in
                #expect(response.text.contains(#"getAttribute("data-base")"#))
            }
            try await client.execute(uri: "/ops/no-such-page", method: .get, headers: Self.user) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/hello", method: .get, headers: Self.user) { response in
                #expect(response.text == "hello")
            }
            try await client.execute(uri: "/tasks", method: .get, headers: Self.user) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func logInAndActionsStayUnderThePath() async throws {
        let fixture = try await Fixture(token: SecurityTests.token)
        let csrf = fixture.dashboard.access.csrf
        try await fixture.broker.send([TaskMessage(task: "simul.add", args: [1, 2], queue: "celery")])
        #expect(try await fixture.broker.queueLengths()["celery"] == 1)
        try await Self.app(fixture).test(.router) { client in
            let form = SecurityTests.form.with(.origin, "http://localhost").with(HTTPField.Name("X-User")!, "ana")
            let session = try await client.execute(
                uri: "/ops/login", method: .post, headers: form,
                body: SecurityTests.body("token=\(SecurityTests.token)&csrf=\(csrf)")
            ) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/ops/")
                let cookie = try #require(response.headers[.setCookie])
                #expect(cookie.hasSuffix("; Path=/ops; Max-Age=43200; HttpOnly; SameSite=Strict"))
                return String(cookie.dropFirst(Access.cookieName.count + 1).prefix { $0 != ";" })
            }
            let signedIn = form.with(.cookie, "\(Access.cookieName)=\(session)")
            try await client.execute(uri: "/ops/queues", method: .get, headers: signedIn) { response in
                #expect(response.text.contains(#"action="/ops/actions/purge""#))
                #expect(response.text.contains(#"action="/ops/logout""#))
            }
            try await client.execute(
                uri: "/ops/actions/purge", method: .post, headers: signedIn,
                body: SecurityTests.body("queue=celery&csrf=\(csrf)")
            ) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/ops/queues")
            }
            try await client.execute(
                uri: "/ops/logout", method: .post, headers: signedIn, body: SecurityTests.body("csrf=\(csrf)")
            ) { response in
                #expect(response.headers[.location] == "/ops/login")
                #expect(response.headers[.setCookie] == Access.clearedCookie(path: "/ops"))
            }
        }
        #expect(try await fixture.broker.queueLengths()["celery", default: 0] == 0)
    }

    @Test(arguments: ["", "ops", "/", "/ops/", "/a//b", "/..", "/ops/.", "/o?x=1", "/o#x", "/é", "/a b"])
    func badPathsAreRefused(path: String) async throws {
        let fixture = try await Fixture()
        let router = Router()
        #expect(throws: DashboardError.badPath(path)) {
            try fixture.dashboard.addRoutes(to: router, atPath: path)
        }
        #expect(
            DashboardError.badPath(path).message
                == "the dashboard's path must be / followed by segments of letters, digits, -, _, . or ~, without a "
                + "trailing /, such as /ops; got \"\(path)\"")
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test(arguments: ["/ops", "/admin/queue", "/a.b/c-d_e~f"])
    func goodPathsMount(path: String) async throws {
        let fixture = try await Fixture()
        let router = Router()
        try fixture.dashboard.addRoutes(to: router, atPath: path)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: path + "/healthz", method: .get) { response in
                #expect(response.text == #"{"status":"ok"}"#)
            }
        }
    }
}
