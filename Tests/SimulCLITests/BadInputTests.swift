import Foundation
import Testing

/// The built `simul` binary, run as a user runs it: bad input gets one line on stderr and exit code 1, never a
/// trap and a backtrace; the same command with good input succeeds.
@Suite(.timeLimit(.minutes(2)))
struct BadInputTests {
    static let broker: String = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simul-bad-input-\(UUID())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return "sqlite://\(directory.path)/queue.sqlite"
    }()

    static let range = "must be a number of seconds from 0 up to 3155760000 (100 years)"

    static let deep = String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000)
    static let deepMessage =
        "--args is not valid JSON (nesting deeper than 512 at byte 512): '"
        + String(repeating: "[", count: 57) + "...'"

    static let cases: [([String], String)] = [
        (["send", "simul.add", "--countdown", "1e300"], "--countdown \(range), got 1e+300"),
        (["send", "simul.add", "--countdown", "-5"], "--countdown \(range), got -5.0"),
        (["send", "simul.add", "--expires", "1e300"], "--expires \(range), got 1e+300"),
        (["send", "simul.add", "--expires", "-1"], "--expires \(range), got -1.0"),
        (["send", "simul.add", "--time-limit", "1e19"], "--time-limit \(range), got 1e+19"),
        (["send", "simul.add", "--soft-time-limit", "1e300"], "--soft-time-limit \(range), got 1e+300"),
        (["send", "simul.add", "--wait", "--timeout", "1e300"], "--timeout \(range), got 1e+300"),
        (["send", "simul.add", "--priority", "-1"], "--priority must be 0 to 9, got -1"),
        (["send", "simul.add", "--count", "-3"], "--count must be at least 1, got -3"),
        (["send", ""], "give a task name, such as simul.add (or --raw FILE)"),
        (
            ["send", "simul.add", "--args", "[NaN, Infinity]"],
            "--args is not valid JSON (unexpected character 'N' at byte 1): '[NaN, Infinity]'"
        ),
        (
            ["send", "simul.add", "--args", "[1e400, 1]"],
            "--args is not valid JSON (number out of range at byte 1): '[1e400, 1]'"
        ),
        (["send", "simul.add", "--args", deep], deepMessage),
        (["send", "simul.add", "--kwargs", "[1]"], "--kwargs must be a JSON object, such as '{\"x\": 2}', got '[1]'"),
        (
            ["result", "5d6f0c1e-8a7b-4c5d-9e0f-1a2b3c4d5e6f", "--wait", "--timeout", "1e300"],
            "--timeout \(range), got 1e+300"
        ),
        (["worker", "--lease", "1e300"], "--lease \(range), got 1e+300"),
        (["worker", "--shutdown-timeout", "-1"], "--shutdown-timeout \(range), got -1.0"),
        (["worker", "--result-expires", "1e300"], "--result-expires \(range), got 1e+300"),
        (["worker", "-c", "-2"], "--concurrency must be at least 1, got -2"),
        (["demo", "no-such-demo"], "unknown demo 'no-such-demo' (available: "),
        (["demo", "wikipics", "--images", "0"], "--images must be at least 1, got 0"),
        (["demo", "wikipics", "--rate", "-1"], "--rate must be at least 1 byte per second, got -1"),
        (["demo", "wikipics", "--urls", "/no/such/file"], "cannot read the URL list '/no/such/file'"),
        (["demo", "cakes", "--lang", "xx"], "unknown language 'xx'"),
        (
            ["demo", "cakes", "--html", "/no/such/dir/out.html"],
            "cannot write the HTML page '/no/such/dir/out.html': no such directory '/no/such/dir'"
        ),
        (["demo", "cakes", "--html", "/tmp"], "cannot write the HTML page '/tmp': a directory"),
        (["bench", "nope"], "unknown suite 'nope'"),
        (["send", "simul.add", "--route", "nope"], "a route is TASK=QUEUE, such as 'simul.*=simul', got 'nope'"),
        (["chain", ":[1]"], "a chain step needs a task name, got ':[1]'"),
        (["result", "not-a-uuid"], "'not-a-uuid' is not a task id (expected a UUID)"),
        (["worker", "--max-message-size", "0"], "--max-message-size must be at least 1, got 0"),
        (
            ["dashboard", "--host", "0.0.0.0", "--token", ""],
            "binding 0.0.0.0 exposes the dashboard beyond this machine"
        ),
    ]

    /// Commands whose broker option does not apply (demo, bench) get the same line without it.
    static let brokerless: Set<String> = ["demo", "bench"]

    @Test(arguments: cases)
    func badInputGetsOneLine(arguments: [String], message: String) async throws {
        let broker = Self.brokerless.contains(arguments[0]) ? [] : ["--broker", Self.broker]
        let run = try await QueueCommandTests.simul(arguments + broker)
        #expect(run.status == 1)
        #expect(run.error.hasPrefix("Error: \(message)"), "\(run.error)")
        #expect(run.error.split(separator: "\n").count == 1, "\(run.error)")
    }

    @Test func badBrokerURLsAndUnreachableBrokersGetOneLine() async throws {
        for (url, message) in [
            ("foo://x", "bad broker URL 'foo://x': unknown scheme 'foo'"),
            ("redis://127.0.0.1:1/0", "cannot connect to redis at 127.0.0.1:1: connection refused"),
            (
                "rediss://localhost:1/0?ssl_cert_reqs=maybe",
                "bad broker URL 'rediss://localhost:1/0?ssl_cert_reqs=maybe': invalid redis URL: ssl_cert_reqs must "
                    + "be required, optional or none, got 'maybe'"
            ),
            (
                "rediss://localhost:1/0?ssl_ca_certs=/no/such.pem",
                "invalid redis TLS settings: cannot read ssl_ca_certs '/no/such.pem': no such file or directory"
            ),
            (
                "sentinel://127.0.0.1:1/0",
                "bad broker URL 'sentinel://127.0.0.1:1/0': invalid redis URL: a sentinel:// URL needs the master's "
                    + "name: ?master_name=mymaster"
            ),
            (
                "sentinel://127.0.0.1:1;sentinel://127.0.0.1:2/0?master_name=m",
                "cannot connect to redis at the master 'm': no sentinel gave its address (127.0.0.1:1: cannot "
                    + "connect to redis at 127.0.0.1:1: connection refused; 127.0.0.1:2: cannot connect to redis at "
                    + "127.0.0.1:2: connection refused)"
            ),
        ] {
            for command in [["send", "simul.add"], ["worker"]] {
                let run = try await QueueCommandTests.simul(command + ["--broker", url])
                #expect(run.status == 1)
                #expect(run.error.hasPrefix("Error: \(message)"), "\(command) \(url): \(run.error)")
                #expect(run.error.split(separator: "\n").count == 1, "\(run.error)")
            }
        }
    }

    /// `--version` prints the release, and an unknown option is one line and exit 64.
    @Test func versionAndAnUnknownOption() async throws {
        let version = try await QueueCommandTests.simul(["--version"])
        #expect(version.status == 0)
        #expect(version.output.wholeMatch(of: /\d+\.\d+\.\d+\n/) != nil, "\(version.output)")
        let unknown = try await QueueCommandTests.simul(["--versio"])
        #expect(unknown.status == 64)
        #expect(unknown.error.hasPrefix("Error: Unknown option '--versio'"), "\(unknown.error)")
    }

    @Test func goodDurationsAreAccepted() async throws {
        let run = try await QueueCommandTests.simul([
            "send", "simul.add", "--args", "[1, 2]", "--countdown", "0", "--expires", "3600",
            "--time-limit", "30", "--broker", Self.broker,
        ])
        #expect(run.status == 0, "\(run.error)")
        #expect(run.output.split(separator: "\n").count == 1)
    }

    @Test func memoryBrokerIsRefusedWhereItWouldLoseTheMessage() async throws {
        for command in [
            ["send", "simul.add"], ["result", "5d6f0c1e-8a7b-4c5d-9e0f-1a2b3c4d5e6f"], ["inspect", "queues"],
        ] {
            let run = try await QueueCommandTests.simul(command + ["--broker", "memory://"])
            #expect(run.status == 1)
            #expect(run.error.hasPrefix("Error: memory:// lives inside one process"))
            #expect(run.error.split(separator: "\n").count == 1)
        }
    }

    @Test func missingFolderOfAnSQLiteBrokerIsRefusedNotCreated() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simul-absent-\(UUID())").path
        let run = try await QueueCommandTests.simul(["send", "simul.add", "--broker", "sqlite://\(folder)/q.sqlite"])
        #expect(run.status == 1)
        #expect(
            run.error == "Error: the directory '\(folder)' of the SQLite broker 'sqlite://\(folder)/q.sqlite' does "
                + "not exist; create it first (only the default .simul/queue.sqlite's folder is made for you)\n")
        #expect(!FileManager.default.fileExists(atPath: folder))
    }
}
