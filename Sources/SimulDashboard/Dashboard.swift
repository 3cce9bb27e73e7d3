import Foundation
public import Hummingbird
public import Logging
import Mustache
import NIOCore
public import ServiceLifecycle
import SimulJSON
public import SimulQueue

/// A web dashboard for a Simul or Celery cluster, in the spirit of Flower: workers, queues, tasks, task detail,
/// throughput and dead letters, with actions (revoke, terminate, purge, replay), a JSON API, live updates over
/// Server-Sent Events and Prometheus metrics.
///
/// It reads everything from the broker's event feed, its queues and the result backend, so it sees Simul workers and
/// Python Celery workers (started with `-E`) alike. Pages, style and script are served from the binary.
///
/// ```swift
/// let broker = try SQLiteBroker(path: ".simul/queue.sqlite")
/// let dashboard = try Dashboard(broker: broker, backend: broker)
/// try await dashboard.runService { port in print("dashboard on http://127.0.0.1:\(port)") }
/// ```
public struct Dashboard: Service, Sendable {
    /// Where it listens and who may act.
    public let configuration: DashboardConfiguration
    /// The event fold the pages show.
    public let monitor: ClusterMonitor
    let broker: any Broker
    let backend: any ResultBackend
    let access: Access
    /// The pages' templates, parsed once when the first dashboard is made.
    let templates: MustacheLibrary
    let logger: Logger
    /// The time the pages measure ages from.
    let clock: any QueueClock
    /// The path the routes are mounted at, such as `/ops`; empty when the dashboard serves itself.
    var base = ""

    /// A dashboard over `broker` and `backend`, on `clock`.
    ///
    /// It follows the broker's ``EventFeed``. Its queue, dead-letter and revoke pages and actions use the broker's
    /// ``QueueAdministration``, ``DeadLetterStore`` and ``RevocationStore``, and answer 501 with the reason on a
    /// broker that lacks one.
    /// - Throws: ``QueueError/unsupported(transport:capability:)`` for a broker without an event feed,
    ///   ``DashboardError/tokenRequired(host:)`` when `configuration` binds a non-loopback address without a
    ///   token, ``DashboardError/badPort(_:)`` for a port outside 0...65535.
    public init(
        broker: any Broker, backend: any ResultBackend,
        configuration: DashboardConfiguration = DashboardConfiguration(), clock: any QueueClock = .system,
        logger: Logger = Logger(label: "simul.dashboard")
    ) throws {
        try self.init(
            broker: broker, backend: backend, configuration: configuration, sessions: SessionTable(), clock: clock,
            logger: logger)
    }

    /// A dashboard whose signed-in browsers live in `sessions`, so tests can give it a small table and a manual clock.
    package init(
        broker: any Broker, backend: any ResultBackend, configuration: DashboardConfiguration,
        sessions: SessionTable, clock: any QueueClock = .system, logger: Logger = Logger(label: "simul.dashboard")
    ) throws {
        try configuration.validate()
        let token = configuration.token.flatMap { $0.isEmpty ? nil : $0 }
        let loopback = Access.isLoopback(configuration.host)
        self.configuration = configuration
        self.broker = broker
        self.backend = backend
        self.logger = logger
        self.clock = clock
        access = Access(token: token, loopback: loopback, sessions: sessions)
        templates = Template.library
        monitor = ClusterMonitor(
            feed: try broker.require(.events), pollInterval: configuration.pollInterval, clock: clock, logger: logger)
    }

    /// Serves until the enclosing service group shuts down or the task is cancelled, polling the broker's events
    /// meanwhile: the ``Service`` entry point, for running the dashboard beside other services.
    public func run() async throws {
        try await application(onRunning: { _ in }).run()
    }

    /// Serves until SIGTERM or SIGINT, polling the broker's events meanwhile.
    /// - Parameter onRunning: called with the bound port once the server listens.
    public func runService(onRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }) async throws {
        try await application(onRunning: onRunning).runService()
    }

    func application(onRunning: @escaping @Sendable (_ port: Int) async -> Void) -> some ApplicationProtocol {
        let port = configuration.port
        return Application(
            responder: responder(),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: port), serverName: "simul-dashboard"),
            services: [monitor],
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    // MARK: Routes

    /// What the server runs: the routes, with `HEAD` answered wherever `GET` is (see ``HeadResponder``).
    package func responder() -> HeadResponder<RouterResponder<BasicRequestContext>> {
        HeadResponder(router().buildResponder())
    }

    /// The routes: pages, API, live updates, metrics, assets and actions.
    package func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: GuardMiddleware(access: access, templates: templates, base: base))
        addRoutes(to: router)
        return router
    }

    /// Mounts the dashboard in a Hummingbird router of your own, under `path`, behind the middleware you added to
    /// `router` before: its pages, JSON API, live updates, metrics and actions, with every link and redirect under
    /// `path`.
    ///
    /// ```swift
    /// let router = Router()
    /// router.add(middleware: MyAuthMiddleware())
    /// try dashboard.addRoutes(to: router, atPath: "/ops")
    /// let app = Application(router: router)
    /// let group = ServiceGroup(configuration: .init(services: [app, dashboard.monitor, worker], logger: logger))
    /// ```
    ///
    /// Run ``monitor`` in the same service group: it follows the broker's events that the pages show. The dashboard's
    /// own access rules (``DashboardConfiguration``'s host and token) still apply after your middleware, and `HEAD`
    /// is answered as your router answers it.
    /// - Parameter path: where the pages live: `/` followed by path segments of letters, digits, `-`, `_`, `.` or
    ///   `~`, without a trailing `/`, such as `/ops` or `/admin/queue`.
    /// - Throws: ``DashboardError/badPath(_:)`` for any other path.
    public func addRoutes<Context: RequestContext>(to router: some RouterMethods<Context>, atPath path: String)
        throws(DashboardError)
    {
        try DashboardError.check(path: path)
        var mounted = self
        mounted.base = path
        let group = router.group(RouterPath(path))
        group.add(middleware: GuardMiddleware<Context>(access: access, templates: templates, base: path))
        mounted.addRoutes(to: group)
    }

    /// Adds every route, each under ``base``, to `router`.
    func addRoutes<Context: RequestContext>(to router: some RouterMethods<Context>) {
        router.get("/") { request, _ in
            let queues = try await self.queueViews()
            return Self.html(self.pages(request).overview(self.monitor.snapshot, queues: queues, now: self.clock.now))
        }
        router.get("/workers") { request, _ in
            Self.html(self.pages(request).workers(WorkerView.all(self.monitor.snapshot.cluster, now: self.clock.now)))
        }
        router.get("/tasks") { request, _ in
            let query: TaskQuery
            do throws(BadRequest) {
                query = try TaskQuery(Self.query(request), path: request.uri.path)
            } catch {
                return Self.html(self.pages(request).error(400, error.message), status: .badRequest)
            }
            let page = query.run(on: self.monitor.snapshot.cluster)
            if let id = query.id, page.total == 0, Self.isTaskId(id),
                let stored = try await self.backend.results(for: [id])[id], stored.status != .pending
            {
                return self.redirect("/tasks/\(id)")
            }
            return Self.html(self.pages(request).tasks(page))
        }
        router.get("/tasks/:id") { request, context in
            let id = Self.pathParameter("id", context)
            let pages = self.pages(request)
            switch try await self.detail(id) {
            case .success(let detail): return Self.html(pages.task(detail))
            case .failure(let problem):
                return Self.html(pages.error(problem.code, problem.message), status: problem.status)
            }
        }
        router.get("/queues") { request, _ in Self.html(self.pages(request).queues(try await self.queueViews())) }
        router.get("/dead-letters") { request, _ in
            let limit: Int
            do throws(BadRequest) {
                limit = try Self.deadLetterLimit(request)
            } catch {
                return Self.html(self.pages(request).error(400, error.message), status: .badRequest)
            }
            let letters = try await self.broker.require(.deadLetters).deadLetters(limit: limit).map(DeadLetterView.init)
            return Self.html(self.pages(request).deadLetters(letters))
        }

        router.get("/api/workers") { _, _ in
            Self.json(WorkerView.all(self.monitor.snapshot.cluster, now: self.clock.now))
        }
        router.get("/api/tasks") { request, _ in
            do throws(BadRequest) {
                let query = try TaskQuery(Self.query(request), path: request.uri.path)
                return Self.json(query.run(on: self.monitor.snapshot.cluster))
            } catch {
                return Self.json(["error": error.message], status: .badRequest)
            }
        }
        router.get("/api/tasks/:id") { _, context in
            switch try await self.detail(Self.pathParameter("id", context)) {
            case .success(let detail): return Self.json(detail)
            case .failure(let problem): return Self.json(["error": problem.message], status: problem.status)
            }
        }
        router.get("/api/queues") { _, _ in Self.json(try await self.queueViews()) }
        router.get("/api/dead-letters") { request, _ in
            let limit: Int
            do throws(BadRequest) {
                limit = try Self.deadLetterLimit(request)
            } catch {
                return Self.json(["error": error.message], status: .badRequest)
            }
            return Self.json(
                try await self.broker.require(.deadLetters).deadLetters(limit: limit).map(DeadLetterView.init))
        }

        router.get("/events") { request, _ in self.events(request) }
        router.get("/metrics") { _, _ in
            let text = PrometheusText.render(
                self.monitor.snapshot, queues: try await self.broker.require(.queueAdministration).queueLengths(),
                now: self.clock.now)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/healthz") { _, _ in Self.json(["status": "ok"]) }
        router.get("/assets/dashboard.css") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: Assets.css)))
        }
        router.get("/assets/dashboard.js") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/javascript; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: Assets.javascript)))
        }

        router.get("/login") { request, _ in Self.html(self.pages(request).login(error: nil)) }
        router.post("/login") { request, _ in try await self.login(request) }
        router.post("/logout") { request, _ in try await self.logout(request) }
        router.post("/actions/revoke") { request, _ in
            try await self.action(request) { form in
                guard let id = form["task_id"], Self.isTaskId(id) else { throw BadRequest("task_id must be a task id") }
                let terminate = form["terminate"] == "1" || form["terminate"] == "true"
                try await self.broker.require(.revocations).revoke([id], terminate: terminate)
                return ("/tasks/\(id)", ["revoked": .string(id), "terminate": .bool(terminate)])
            }
        }
        router.post("/actions/purge") { request, _ in
            try await self.action(request) { form in
                guard let queue = form["queue"], !queue.isEmpty, queue.count <= 200 else {
                    throw BadRequest("queue must name a queue")
                }
                let count = try await self.broker.require(.queueAdministration).purge(queue: queue)
                return ("/queues", ["queue": .string(queue), "purged": .integer(Int64(count))])
            }
        }
        router.post("/actions/replay") { request, _ in
            try await self.action(request) { form in
                let ids: [Int64]?
                switch form["id"] {
                case "all": ids = nil
                case let text?:
                    guard let id = Int64(text) else { throw BadRequest("id must be a dead letter's number or 'all'") }
                    ids = [id]
                case nil: throw BadRequest("id must be a dead letter's number or 'all'")
                }
                let count: Int
                do {
                    count = try await self.broker.require(.deadLetters).replayDeadLetters(ids)
                } catch let error as QueueError where error.isInvalidArgument {
                    throw BadRequest(error.message)  // A truncated dead letter cannot be replayed.
                }
                return ("/dead-letters", ["replayed": .integer(Int64(count))])
            }
        }
    }

    // MARK: Handlers

    struct Problem: Error {
        var status: HTTPResponse.Status
        var message: String
        var code: Int { status.code }
    }

    func detail(_ id: String) async throws -> Result<TaskDetail, Problem> {
        guard Self.isTaskId(id) else {
            return .failure(Problem(status: .badRequest, message: "'\(id)' is not a task id"))
        }
        let event = monitor.snapshot.cluster.tasks[id]
        let stored = try await backend.results(for: [id])[id]
        guard let detail = TaskDetail(id: id, event: event, stored: stored) else {
            return .failure(Problem(status: .notFound, message: "no task \(id) in the events or the result backend"))
        }
        return .success(detail)
    }

    func queueViews() async throws -> [QueueView] {
        try await broker.require(.queueAdministration).queueLengths().sorted { $0.key < $1.key }.map {
            QueueView(name: $0.key, waiting: $0.value)
        }
    }

    func pages(_ request: Request) -> Pages {
        Pages(templates: templates, access: access, signedIn: access.credential(of: request) != .none, base: base)
    }

    /// The dead-letter pages' `limit`, checked.
    /// - Throws: ``BadRequest`` for a `limit` out of range or a count parameter these pages do not take.
    static func deadLetterLimit(_ request: Request) throws(BadRequest) -> Int {
        let parameters = query(request)
        try CountParameter.refuseOthers(in: parameters, path: request.uri.path, accepting: [.limit])
        return try CountParameter.limit.read(from: parameters)
    }

    /// `/events`: Server-Sent Events, one `update` each time the monitor folds new events in (and a comment every
    /// 15 s to keep proxies from closing the stream). `?max=N` ends the stream after N updates; a `max` that is not
    /// a whole number from 1 to 1,000,000 is a 400.
    func events(_ request: Request) -> Response {
        let parameters = Self.query(request)
        let limit: Int?
        do throws(BadRequest) {
            try CountParameter.refuseOthers(in: parameters, path: request.uri.path, accepting: [.max])
            limit = try CountParameter.max.isPresent(in: parameters) ? CountParameter.max.read(from: parameters) : nil
        } catch {
            return Self.json(["error": error.message], status: .badRequest)
        }
        let (monitor, clock) = (monitor, clock)
        let body = ResponseBody { writer in
            var sent = 0
            var shown = -1
            var lastWrite = ContinuousClock.now
            for await version in monitor.updates().cancelOnGracefulShutdown() {
                if version != shown {
                    shown = version
                    try await writer.write(
                        ByteBuffer(string: "event: update\ndata: \(Self.summary(monitor.snapshot, now: clock.now))\n\n")
                    )
                    sent += 1
                    lastWrite = .now
                    if let limit, sent >= limit { break }
                } else if ContinuousClock.now - lastWrite > .seconds(15) {
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    lastWrite = .now
                }
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
    }

    /// The short JSON an update carries: the version and the headline numbers.
    static func summary(_ snapshot: ClusterMonitor.Snapshot, now: Date) -> String {
        var states: [String: JSONValue] = [:]
        for task in snapshot.cluster.tasks.values {
            states[task.state.rawValue] = .integer((states[task.state.rawValue]?.intValue.map(Int64.init) ?? 0) + 1)
        }
        let online = snapshot.cluster.workers.values.filter { $0.isOnline(at: now) }.count
        let object: JSONValue = [
            "version": .integer(Int64(snapshot.version)), "workers_online": .integer(Int64(online)),
            "workers": .integer(Int64(snapshot.cluster.workers.count)), "tasks": .object(states),
        ]
        return object.jsonText
    }

    func login(_ request: Request) async throws -> Response {
        let form = try await Self.form(request)
        let pages = pages(request)
        guard access.actionsEnabled else {
            return Self.html(pages.error(403, "there is no token to log in with: actions are off"), status: .forbidden)
        }
        guard access.sameOrigin(request), let csrf = form["csrf"], Access.constantTimeEquals(csrf, access.csrf) else {
            return Self.html(
                pages.login(error: "the login form is stale or came from elsewhere: try again"), status: .forbidden)
        }
        guard let token = form["token"], let expected = access.token, Access.constantTimeEquals(token, expected) else {
            return Self.html(pages.login(error: "wrong token"), status: .unauthorized)
        }
        var response = redirect("/")
        response.headers[.setCookie] = access.sessionCookie(access.sessions.open(), path: cookiePath)
        return response
    }

    /// `POST /logout`: ends the browser's session and clears its cookie. Like an action, it needs the page's CSRF
    /// token and the dashboard's own origin, so another site cannot sign a user out.
    func logout(_ request: Request) async throws -> Response {
        let form = try await Self.form(request)
        guard access.sameOrigin(request), let csrf = form["csrf"], Access.constantTimeEquals(csrf, access.csrf) else {
            return Self.html(
                pages(request).error(403, "the logout form is stale or came from elsewhere: reload the page"),
                status: .forbidden)
        }
        if let session = Access.cookie(Access.cookieName, in: request) {
            access.sessions.close(session)
        }
        var response = redirect("/login")
        response.headers[.setCookie] = Access.clearedCookie(path: cookiePath)
        return response
    }

    /// Checks the token and the CSRF defences, reads the form, runs `perform`, then redirects a browser back to the
    /// page it names or answers an API client with its JSON.
    func action(
        _ request: Request, perform: ([String: String]) async throws -> (page: String, reply: [String: JSONValue])
    ) async throws -> Response {
        let form = try await Self.form(request)
        let browser = access.credential(of: request) != .bearer
        if let (status, message) = access.refusal(ofAction: request, form: form) {
            return browser
                ? Self.html(pages(request).error(status.code, message), status: status)
                : Self.json(["error": message], status: status)
        }
        do {
            let (page, reply) = try await perform(form)
            logger.info("dashboard action \(request.uri.path): \(JSONValue.object(reply).jsonText)")
            return browser ? redirect(page) : Self.json(reply)
        } catch let error as BadRequest {
            return browser
                ? Self.html(pages(request).error(400, error.message), status: .badRequest)
                : Self.json(["error": error.message], status: .badRequest)
        }
    }

    // MARK: Helpers

    /// Whether `id` looks like a task id: 1 to 64 ASCII letters, digits, `-`, `_` or `.` (a UUID, or a custom id).
    static func isTaskId(_ id: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.".utf8)
        return !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy(allowed.contains)
    }

    /// A path parameter, percent-decoded.
    static func pathParameter(_ name: String, _ context: some RequestContext) -> String {
        let raw = context.parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    static func query(_ request: Request) -> [String: String] { FormFields.parse(request.uri.query ?? "") }

    static func form(_ request: Request) async throws -> [String: String] {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        return FormFields.parse(String(buffer: body))
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A redirect to the dashboard's page at `path`, under ``base``.
    func redirect(_ path: String) -> Response {
        Response(status: .seeOther, headers: [.location: base + path])
    }

    /// The path the session cookie is sent for: the dashboard's pages only.
    var cookiePath: String { base.isEmpty ? "/" : base }
}
