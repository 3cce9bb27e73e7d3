import Foundation
import Simul
import SimulJSON
import SimulProcessSupport

/// The security model as a client meets it: actions need the token, a foreign `Host` is refused, a browser's
/// session and CSRF token, logging out, and a dashboard that stays up after a bad request.
extension BrokerRun {
    /// A purge without the token is refused and one with it purges; a request naming a foreign host is a 421.
    func checkActionsNeedTheToken() throws {
        say("\(kind.rawValue): an action without the token is refused")
        let body = path("action.out")
        var status = try self.status(["-X", "POST", "-d", "queue=celery", "\(dashboard)/actions/purge"], body: body)
        try require(status == 401 || status == 403, "a purge without the token answered \(status)")
        ok("POST /actions/purge without the token -> \(status)")
        status = try self.status(
            [
                "-X", "POST", "-H", "Authorization: Bearer \(test.token)", "-d", "queue=parked",
                "\(dashboard)/actions/purge",
            ],
            body: body)
        try require(
            status == 200 && contents(body).contains(#""purged":1"#),
            "a purge with the token answered \(status): \(contents(body).trimmingTrailingNewlines)")
        ok("POST /actions/purge with the token -> \(status) \(contents(body).trimmingTrailingNewlines)")

        status = try self.status(["-H", "Host: rebound.example:\(port)", "\(dashboard)/api/workers"])
        try require(status == 421, "a request naming a foreign host answered \(status)")
        ok("a request naming a foreign host (DNS rebinding) -> \(status)")
    }

    /// Terminates a running task the way the page does: logs in, then posts the form with its CSRF token, first from
    /// a foreign origin (refused), then from the dashboard's own. The cookie holds a session id, not the token, and
    /// after logging out it is refused.
    func checkSession() throws {
        say(
            "\(kind.rawValue): terminate a running task the way the page does: log in, then post the form with its CSRF token"
        )
        let sleeper = try send(["simul.sleep", "--args", "[60]"] + routes)
        try waitFor(30, "task \(sleeper) started", "/api/tasks/\(sleeper)") { task in
            task["task"]?["state"]?.stringValue == "STARTED"
        }
        try get("/login", to: path("login.html"))
        let csrf = try csrfToken(in: contents(path("login.html")))
        let cookies = path("cookies")
        let origin = ["-H", "Origin: \(dashboard)"]
        var status = try self.status(
            ["-c", cookies] + origin + [
                "--data-urlencode", "token=\(test.token)", "-d", "csrf=\(csrf)", "\(dashboard)/login",
            ])
        try require(status == 303, "logging in answered \(status)")
        let terminate = ["-d", "task_id=\(sleeper)&terminate=1&csrf=\(csrf)", "\(dashboard)/actions/revoke"]
        status = try self.status(["-b", cookies, "-H", "Origin: http://evil.example"] + terminate)
        try require(status == 403, "a terminate from a foreign origin answered \(status)")
        ok("a terminate posted from a foreign origin, with the cookie and the CSRF token -> \(status)")
        status = try self.status(["-b", cookies] + origin + terminate)
        try require(status == 303, "a terminate with the cookie and the CSRF token answered \(status)")
        try waitFor(30, "task \(sleeper) revoked", "/api/tasks/\(sleeper)") { task in
            task["task"]?["state"]?.stringValue == "REVOKED"
        }
        ok("a terminate from the task's page -> \(status), and the running task is REVOKED")
        try require(!contents(cookies).contains(test.token), "the login cookie holds the dashboard token")
        ok("the login cookie holds a session id, not the token")
        status = try self.status(["-b", cookies] + origin + ["-d", "csrf=\(csrf)", "\(dashboard)/logout"])
        try require(status == 303, "logging out answered \(status)")
        status = try self.status(
            ["-b", cookies] + origin + ["-d", "queue=parked&csrf=\(csrf)", "\(dashboard)/actions/purge"])
        try require(status == 401, "a purge with the session cookie after logging out answered \(status)")
        ok("after POST /logout the old session cookie is refused -> \(status)")
    }

    /// The login form's CSRF token: the first `name="csrf" value="HEX"` on the page.
    /// - Throws: ``DriverError`` if the page has none.
    private func csrfToken(in page: String) throws -> String {
        let marker = #"name="csrf" value=""#
        for piece in page.components(separatedBy: marker).dropFirst() {
            let hex = piece.prefix { "0123456789abcdef".contains($0) }
            if piece.dropFirst(hex.count).first == "\"" { return String(hex) }
        }
        throw DriverError("no CSRF token on /login (page in \(path("login.html")))")
    }

    /// `HEAD` answers like `GET`, and an overflowing page is a 400 that leaves the dashboard up.
    func checkRobustness() throws {
        say("\(kind.rawValue): HEAD answers like GET, and an overflowing page is a 400 that leaves the dashboard up")
        var status = try self.status(["-I", "\(dashboard)/healthz"])
        try require(status == 200, "HEAD /healthz answered \(status)")
        status = try self.status(["\(dashboard)/tasks?page=184467440737095518"])
        try require(status == 400, "/tasks?page=184467440737095518 answered \(status)")
        try require(
            try fetch("/healthz", to: path("healthz")), "the dashboard stopped answering after an overflowing page")
        ok("HEAD /healthz -> 200; /tasks?page=184467440737095518 -> 400, and the dashboard still answers")
    }

    /// `/metrics` parses with `prometheus_client`'s parser, in the Celery virtualenv's Python, and has the families,
    /// the task states and the worker the run made.
    func checkMetrics() throws {
        say("\(kind.rawValue): /metrics parses with prometheus_client")
        let metrics = path("metrics.txt")
        try get("/metrics", to: metrics)
        let output = path("metrics-check.out")
        let code = try ChildProcess.run(
            [test.python, "-c", Self.metricsCheck, metrics], output: .file(output), error: .standardOutput)
        try require(code == 0, "/metrics: \(contents(output).trimmingTrailingNewlines)")
        printOutput(contents(output).trimmingTrailingNewlines)
    }

    /// The Python that reads `/metrics` (its path in `sys.argv[1]`) with `prometheus_client` and checks it.
    static let metricsCheck = """
        import sys
        from prometheus_client.parser import text_string_to_metric_families

        families = {family.name: family for family in text_string_to_metric_families(open(sys.argv[1]).read())}
        for name in ("simul_tasks", "simul_task_runtime_seconds", "simul_queue_length", "simul_workers_online"):
            assert name in families, f"{name} missing from /metrics: {sorted(families)}"
        states = {sample.labels["state"] for sample in families["simul_tasks"].samples}
        assert {"SUCCESS", "FAILURE"} <= states, f"task states in /metrics: {states}"
        assert families["simul_task_runtime_seconds"].type == "histogram"
        online = families["simul_workers_online"].samples[0].value
        assert online >= 1, f"simul_workers_online is {online}"
        print(f"ok: /metrics parses: {len(families)} families, states {sorted(states)}, {online:g} workers online")
        """
}
