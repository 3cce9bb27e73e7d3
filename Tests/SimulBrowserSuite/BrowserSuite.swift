import Foundation
import SimulProcessSupport

/// The browser test (docs/dashboard.md, docs/demos.md): loads the dashboard's pages in headless Chromium, once on the
/// embedded SQLite broker and once on Redis with a Python Celery worker (`-E`) beside the Simul worker, and checks
/// what a user would see, the refusals of its security model, and `/metrics` with `prometheus_client`; then the
/// pictures: the page of `simul demo --html` and the report of `simul bench --report`, which must render without a
/// message on the console. Screenshots go to `.build/screenshots/`. Everything listens on 127.0.0.1.
///
/// `scripts/browser-test.sh` builds it and runs it from the repository's root with its own arguments
/// (`[sqlite|redis|pictures ...]`, all three by default); `SIMUL_BIN` names the `simul` binary it tests.
@main
struct BrowserSuite {
    /// What `--help` prints.
    static let help = """
        Loads the dashboard's pages in headless Chromium, on SQLite and on Redis with a Python Celery -E worker, and
        checks what a user would see (docs/dashboard.md); then the pages of simul demo --html and simul bench --report,
        which must render without console messages (docs/demos.md). Screenshots go to .build/screenshots/.

          scripts/browser-test.sh [sqlite|redis|pictures ...]     (default: all three)

        SIMUL_BIN names the simul binary (scripts/browser-test.sh: swift build --show-bin-path, then /simul).
        """

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments == ["-h"] || arguments == ["--help"] {
            printOutput(help)
            exit(0)
        }
        var brokers: [Broker] = []
        var pictures = arguments.isEmpty
        for argument in arguments {
            if argument == "pictures" {
                pictures = true
                continue
            }
            guard let broker = Broker(rawValue: argument) else {
                fail("unknown part '\(argument)' (use sqlite, redis or pictures)")
            }
            brokers.append(broker)
        }
        if arguments.isEmpty { brokers = [.sqlite, .redis] }
        let simul = ProcessInfo.processInfo.environment["SIMUL_BIN"] ?? ""
        guard !simul.isEmpty, FileManager.default.isExecutableFile(atPath: simul) else {
            fail("no simul binary at \(simul): run 'swift build' or set SIMUL_BIN")
        }
        guard FileManager.default.fileExists(atPath: "scripts/python-celery-env.sh") else {
            fail("run it from the repository's root, as scripts/browser-test.sh does")
        }
        Waiting.installSignalHandlers()
        let test: BrowserTest
        do {
            test = try BrowserTest(simul: simul, brokers: brokers, pictures: pictures)
        } catch {
            fail("\(error)")
        }
        exit(test.run())
    }

    /// Prints `browser-test: FAIL: message` on standard error, as the shell script did, and exits 1.
    static func fail(_ message: String) -> Never {
        printError("browser-test: FAIL: \(message)")
        exit(1)
    }
}

/// A broker the test runs on.
enum Broker: String {
    /// A SQLite file in the working directory.
    case sqlite
    /// A `redis-server` the test starts on a free port, with a Python Celery worker beside the Simul worker.
    case redis
}

/// Prints a step: `== text`.
func say(_ text: String) { printOutput("== \(text)") }

/// Prints a check that passed: `ok: text`.
func ok(_ text: String) { printOutput("ok: \(text)") }
