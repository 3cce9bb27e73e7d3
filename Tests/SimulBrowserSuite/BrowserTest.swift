import Foundation
import SimulProcessSupport

/// One run of the browser test: its prerequisites (Chromium, the Celery virtualenv with `prometheus_client`,
/// `redis-server`), its working directory of logs and pages, a run per broker, and the pictures' pages. Whatever happens, including SIGINT
/// and SIGTERM, it ends by stopping every process it started; on a failure it prints the end of their logs and keeps
/// the working directory, else it removes it.
final class BrowserTest {
    /// The `simul` binary.
    let simul: String
    let brokers: [Broker]
    /// Whether to check the pictures' pages: `simul demo --html` and `simul bench --report`.
    let pictures: Bool
    /// The repository's root, the current directory: `interop/`, `scripts/`, `.build/screenshots/`.
    let root = FileManager.default.currentDirectoryPath
    /// `${TMPDIR:-/tmp}/simul-browser.XXXXXX`: the logs, the pages Chromium dumped, the cookie jar.
    let work: String
    /// Where the screenshots go.
    let shots: String
    /// The dashboard's token for this run.
    let token = "browser-test-\(UInt32.random(in: 0...UInt32.max))\(UInt32.random(in: 0...UInt32.max))"
    /// The Celery virtualenv's python, set up by ``prepare()``.
    private(set) var python = ""
    /// The processes started for the broker being tested, stopped after it.
    let services: Services
    /// The browser, its profile and log in the working directory.
    let chromium: Chromium

    init(simul: String, brokers: [Broker], pictures: Bool) throws {
        self.simul = simul
        self.brokers = brokers
        self.pictures = pictures
        work = try TemporaryDirectory.make("simul-browser")
        shots = "\(root)/.build/screenshots"
        services = Services(work: work)
        chromium = Chromium(profile: "\(work)/chromium", log: "\(work)/chromium.log")
    }

    /// Runs the checks on every broker and on the pictures' pages, then cleans up; returns the exit code (1 on a
    /// failure, 130 after SIGINT or SIGTERM).
    func run() -> Int32 {
        var code: Int32 = 0
        do {
            try prepare()
            try chromium.checkConsoleIsReported(work: work)
            if !brokers.isEmpty { try checkRefusalWithoutToken() }
            for kind in brokers {
                try BrokerRun(test: self, kind: kind).run()
            }
            if pictures { try PicturesRun(test: self).run() }
            let parts = brokers.map(\.rawValue) + (pictures ? ["pictures"] : [])
            printOutput("browser test passed: \(parts.joined(separator: " "))")
        } catch is Interrupted {
            code = 130
        } catch {
            printError("browser-test: FAIL: \(error)")
            code = 1
        }
        // The cleanup waits for what it stops; a signal that ended the run must not end those waits too.
        Waiting.forgetSignal()
        services.stopAll()
        ProcessGroups.killAll()
        if code == 0 {
            try? FileManager.default.removeItem(atPath: work)
        } else {
            services.printLogs(lines: 20)
            printError("logs: \(work)")
        }
        return code
    }

    /// Installs what is missing: Chromium, and for the dashboard `prometheus_client` in the Celery virtualenv, and
    /// `redis-server` when Redis is to be tested.
    private func prepare() throws {
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        if try !Debian.has("chromium") {
            say("installing chromium (Debian)")
            try Debian.install("chromium")
        }
        guard !brokers.isEmpty else { return }
        let found = "\(work)/python-celery-env.out"
        guard try ChildProcess.run(["scripts/python-celery-env.sh"], output: .file(found)) == 0 else {
            throw DriverError("scripts/python-celery-env.sh failed")
        }
        python = try String(contentsOfFile: found, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let probe = [python, "-c", "import prometheus_client"]
        if try ChildProcess.run(probe, output: .discard, error: .discard) != 0 {
            say("installing prometheus_client into the Celery virtualenv")
            let install = [
                python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "prometheus_client",
            ]
            guard try ChildProcess.run(install) == 0 else {
                throw DriverError("pip could not install prometheus_client")
            }
        }
        if brokers.contains(.redis), try !Debian.has("redis-server") {
            say("installing redis-server (Debian)")
            try Debian.install("redis-server")
        }
    }

    /// `simul dashboard --host 0.0.0.0` without a token must exit at once, with one line on standard error.
    private func checkRefusalWithoutToken() throws {
        say("simul dashboard --host 0.0.0.0 without a token refuses with one line")
        let errors = "\(work)/refuse.err"
        let code = try ChildProcess.run(
            [simul, "dashboard", "--host", "0.0.0.0", "--port", "0"], output: .file("\(work)/refuse.out"),
            error: .file(errors), environment: ["SIMUL_DASHBOARD_TOKEN": nil], limit: 30)
        guard code != 0, code != 124 else { throw DriverError("the dashboard started on 0.0.0.0 without a token") }
        let text = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard text.count(where: { $0 == "\n" }) == 1, lines.contains(where: { $0.hasPrefix("Error: binding 0.0.0.0 ") })
        else {
            throw DriverError("expected one 'Error: binding 0.0.0.0 ...' line, got: \(text.trimmingTrailingNewlines)")
        }
        ok(text.trimmingTrailingNewlines)
    }
}

extension String {
    /// The text without its trailing newlines, as the shell's `$(...)` gives it.
    var trimmingTrailingNewlines: String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
