import Foundation
import Simul
import SimulJSON
import SimulProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The checks on one broker: its workers and the dashboard, the tasks it is sent, the pages Chromium loads, the
/// actions and the session, and `/metrics`. The checks themselves are in `BrokerRun+Pages.swift` and its siblings.
final class BrokerRun {
    let test: BrowserTest
    let kind: Broker
    /// The broker's URL.
    private(set) var broker = ""
    /// The dashboard's port on 127.0.0.1, and its URL.
    let port: Int
    let dashboard: String
    /// The routes the Simul worker and `simul send` take on Redis, where a Python Celery worker reads `celery`.
    let routes: [String]
    /// The Redis broker's server, stopped after the run.
    private var redis: RedisServer?
    /// The tasks sent: a success, a failure, a failure whose argument is a script tag, and on Redis one the Python
    /// worker runs.
    var added = "", failed = "", hostile = ""
    var pythonTask: String?

    /// A task argument a page must show as text.
    static let script = "<script>alert(1)</script>"
    /// ``script`` as the pages escape it.
    static let escapedScript = "&lt;script&gt;alert(1)&lt;/script&gt;"

    init(test: BrowserTest, kind: Broker) throws {
        self.test = test
        self.kind = kind
        port = try LoopbackPort.free()
        dashboard = "http://127.0.0.1:\(port)"
        routes = kind == .redis ? ["--route", "pytasks.*=celery", "--route", "simul.*=simul"] : []
    }

    /// A file in the working directory.
    func path(_ name: String) -> String { "\(test.work)/\(name)" }

    /// Runs every check, then stops what it started, Redis last.
    func run() throws {
        defer {
            test.services.stopAll()
            redis?.stop(SIGTERM)
        }
        try startServices()
        try sendTasks()
        try checkPages()
        try checkLiveFeed()
        try takeScreenshots()
        try checkActionsNeedTheToken()
        try checkSession()
        try checkRobustness()
        try checkMetrics()
    }

    /// The broker, the Simul worker (and on Redis the Python Celery worker), and the dashboard; waits until the
    /// workers are on `/api/workers`, so that on Redis the dashboard is listening before the tasks' events are
    /// published.
    private func startServices() throws {
        say("\(kind.rawValue): broker, workers, dashboard")
        let worker = [test.simul, "worker", "-c", "2", "-n", "swift@%h"]
        switch kind {
        case .sqlite:
            broker = "sqlite://\(path("queue.sqlite"))"
            try test.services.start("simul-worker", worker + ["--broker", broker])
        case .redis:
            let server = try RedisServer(directory: path("redis"), durable: false)
            redis = server
            try server.start()
            broker = "redis://127.0.0.1:\(server.port)/0"
            try test.services.start("simul-worker", worker + ["--broker", broker, "-Q", "simul"] + routes)
            let celery = [
                test.python, "-m", "celery", "-A", "pytasks", "worker", "-E", "-Q", "celery", "-c", "1", "-P", "solo",
                "-n", "py@%h", "--loglevel=INFO",
            ]
            let environment = [
                "BROKER": broker, "BACKEND": broker, "PYTHONPATH": "\(test.root)/interop",
                "PYTHONDONTWRITEBYTECODE": "1",
            ]
            try test.services.start("python-worker", celery, environment: environment)
        }
        try test.services.start(
            "dashboard", [test.simul, "dashboard", "--broker", broker, "--port", "\(port)", "--token", test.token])
        try Waiting.until(30, "the dashboard on \(dashboard)") {
            try fetch("/healthz", to: path("healthz"), quiet: true)
        }
        try waitFor(30, "the Simul worker on /api/workers", "/api/workers") { workers in
            workers.arrayValue?.contains { $0.isOnline(hostnamePrefix: "swift@") } ?? false
        }
        if kind == .redis {
            try waitFor(60, "the Python Celery worker on /api/workers", "/api/workers") { workers in
                workers.arrayValue?.contains { $0.isOnline(hostnamePrefix: "py@") } ?? false
            }
        }
    }

    /// The tasks the pages show, a message no worker takes (for the queues page) and one no worker can read (for
    /// the dead letters); waits until the dashboard has seen them all.
    private func sendTasks() throws {
        say("\(kind.rawValue): tasks")
        added = try send(["simul.add", "--args", "[2, 3]"] + routes)
        failed = try send(["simul.fail", "--args", #"["boom"]"#] + routes)
        hostile = try send(["simul.fail", "--args", "[\"\(Self.script)\"]"] + routes)
        try simul(["result", added, "--wait", "--timeout", "60"])
        _ = try ChildProcess.run(
            [test.simul, "result", hostile, "--wait", "--timeout", "60", "--broker", broker], output: .discard,
            error: .discard)
        if kind == .redis {
            let task = try send(["pytasks.add", "--args", "[20, 22]"] + routes)
            pythonTask = task
            try simul(["result", task, "--wait", "--timeout", "60"])
        }
        _ = try send(["simul.noop", "-Q", "parked"])
        try Data(#"{"body": "cut short"#.utf8).write(to: URL(fileURLWithPath: path("broken.json")))
        _ = try send(["--raw", path("broken.json"), "-Q", kind == .redis ? "simul" : "celery"])
        try waitFor(30, "the parked message on /api/queues", "/api/queues") { queues in
            queues.arrayValue?.contains { $0["name"]?.stringValue == "parked" && $0["waiting"]?.intValue == 1 } ?? false
        }
        try waitFor(30, "the broken message on /api/dead-letters", "/api/dead-letters") { letters in
            (letters.arrayValue?.count ?? 0) >= 1
        }
        for id in tasks {
            try waitFor(30, "task \(id) finished on /api/tasks/\(id)", "/api/tasks/\(id)") { task in
                ["SUCCESS", "FAILURE"].contains(task["task"]?["state"]?.stringValue ?? "")
            }
        }
        try waitFor(10, "task events for \(failed)", "/api/tasks/\(failed)") { task in
            (task["traceback"]?.isTruthy ?? false) && (task["task"]?["name"]?.isTruthy ?? false)
        }
    }

    /// The tasks whose pages are checked: every one sent but the parked and the broken message.
    var tasks: [String] { [added, failed, hostile] + (pythonTask.map { [$0] } ?? []) }

    /// `simul send ARGUMENTS --broker URL`; returns the first line it printed, the task's id.
    /// - Throws: ``DriverError`` if it fails.
    func send(_ arguments: [String]) throws -> String {
        let output = path("send.out")
        try simul(["send"] + arguments, output: .file(output))
        let text = try String(contentsOfFile: output, encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
    }

    /// `simul ARGUMENTS --broker URL`, its output discarded unless `output` says otherwise.
    /// - Throws: ``DriverError`` if it exits non-zero.
    func simul(_ arguments: [String], output: ChildProcess.Output = .discard) throws {
        let code = try ChildProcess.run([test.simul] + arguments + ["--broker", broker], output: output)
        guard code == 0 else {
            throw DriverError("simul \(arguments.prefix(2).joined(separator: " ")): exit \(code)")
        }
    }
}

extension JSONValue {
    /// Whether Python would take it as true: not `null`, `false`, zero, or empty.
    var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let value): value
        case .integer(let value): value != 0
        case .unsigned(let value): value != 0
        case .number(let value): value != 0
        case .bigInteger: true
        case .string(let value): !value.isEmpty
        case .array(let items): !items.isEmpty
        case .object(let members): !members.isEmpty
        }
    }

    /// Whether it is a worker on `/api/workers` whose hostname starts with `prefix` and that is online.
    func isOnline(hostnamePrefix prefix: String) -> Bool {
        (self["hostname"]?.stringValue?.hasPrefix(prefix) ?? false) && (self["online"]?.isTruthy ?? false)
    }
}
