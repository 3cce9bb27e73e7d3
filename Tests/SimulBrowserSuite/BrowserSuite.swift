import Foundation
import SimulProcessSupport

/// The dashboard's browser test (docs/dashboard.md): loads the dashboard's pages in headless Chromium, once on the
/// embedded SQLite broker and once on Redis with a Python Celery worker (`-E`) beside the Simul worker, and checks
/// what a user would see, the refusals of its security model, and `/metrics` with `prometheus_client`. Screenshots go
/// to `.build/screenshots/`. Everything listens on 127.0.0.1.
///
/// `scripts/browser-test.sh` builds it and runs it from the repository's root with its own arguments
/// (`[sqlite|redis ...]`, both by default); `SIMUL_BIN` names the `simul` binary it tests.
@main
struct BrowserSuite {
    /// What `--help` prints.
    static let help = """
        Loads the dashboard's pages in headless Chromium, on SQLite and on Redis with a Python Celery -E worker, and
        checks what a user would see; screenshots go to .build/screenshots/ (docs/dashboard.md).

          scripts/browser-test.sh [sqlite|redis ...]     (default: both)

        SIMUL_BIN names the simul binary (scripts/browser-test.sh: swift build --show-bin-path, then /simul).
        """

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments == ["-h"] || arguments == ["--help"] {
            printOutput(help)
            exit(0)
        }
        var brokers: [Broker] = []
        for argument in arguments {
            guard let broker = Broker(rawValue: argument) else {
                fail("unknown broker '\(argument)' (use sqlite or redis)")
            }
            brokers.append(broker)
        }
        if brokers.isEmpty { brokers = [.sqlite, .redis] }
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
            test = try BrowserTest(simul: simul, brokers: brokers)
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
