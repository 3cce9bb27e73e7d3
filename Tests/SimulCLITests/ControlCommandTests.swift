import Foundation
import SimulJSON
import SimulProcessSupport
import SimulTestSupport
import Testing

/// `simul control` and `simul revoke` as a user runs them, against a `simul worker` on a real `redis-server`; bad
/// input gets one line and exit 2 before anything is sent.
@Suite(.timeLimit(.minutes(3)))
struct ControlCommandTests {
    static let badInput: [([String], String)] = [
        (["control", "pool_grow", "-n", "abc"], "pool_grow needs a whole number of slots, at least 1, got 'abc'"),
        (["control", "pool_shrink", "0"], "pool_shrink needs a whole number of slots, at least 1, got '0'"),
        (
            ["control", "rate_limit", "t", "10/fortnight"],
            "'10/fortnight' is not a rate limit: use N, N/s, N/m or N/h (0 turns it off)"
        ),
        (
            ["control", "rate_limit", "t"],
            "usage: simul control rate_limit TASK RATE (such as 10/s, 100/m, 1000/h; 0 turns it off)"
        ),
        (
            ["control", "time_limit", "t", "0"],
            "the soft time limit must be a number of seconds above 0 (or none), got '0'"
        ),
        (["control", "autoscale", "many"], "autoscale needs whole numbers of processes, got 'many'"),
        (["control", "no_such_command"], "unknown command 'no_such_command' (available: ping, stats,"),
        (["control", "ping", "--timeout", "0"], "--timeout must be a number of seconds greater than 0 and up to"),
        (["control", "ping", "--timeout", "abc"], "--timeout must be a number of seconds, got 'abc'"),
        (["control", "ping", "extra"], "usage: simul control ping "),
        (["control", "stats", "-n", "2"], "-n applies to pool_grow and pool_shrink only"),
        (["control", "pool_restart", "now"], "usage: simul control pool_restart "),
        (["revoke"], "give at least one task id"),
    ]

    @Test(arguments: badInput)
    func badInputGetsOneLineAndExit2(arguments: [String], message: String) async throws {
        let run = try await QueueCommandTests.simul(arguments + ["--broker", "redis://127.0.0.1:1/0"])
        #expect(run.status == 2, "\(run.error)")
        #expect(run.error.hasPrefix("Error: \(message)"), "\(run.error)")
        #expect(run.error.split(separator: "\n").count == 1, "\(run.error)")
    }

    @Test func theSQLiteBrokerHasNoRemoteControl() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simul-control-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try await QueueCommandTests.simul([
            "control", "ping", "--broker", "sqlite://\(directory.path)/q.sqlite",
        ])
        #expect(run.status == 1)
        #expect(run.error.hasPrefix("Error: the sqlite broker has no remote control"), "\(run.error)")
        #expect(run.error.split(separator: "\n").count == 1)
    }

    @Test func controlAndRevokeReachARunningWorker() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let url = server.url()
        let worker = try startSimul(["worker", "--broker", url, "-n", "cli@test", "-c", "2", "--pool", "threads"])
        defer {
            if worker.isRunning {
                worker.terminate()
                worker.waitUntilExit()
            }
        }
        func control(_ arguments: [String]) async throws -> QueueCommandTests.Run {
            try await QueueCommandTests.simul(
                ["control"] + arguments + ["--broker", url, "-d", "cli@test", "--timeout", "5"])
        }
        try await waitUntil("the worker answers ping") { try await control(["ping"]).status == 0 }

        let ping = try await control(["ping"])
        #expect(ping.output == "cli@test: OK pong\n")
        let stats = try await control(["stats", "--json"])
        #expect(stats.status == 0)
        let parsed = try JSONValue(parsing: Data(stats.output.utf8))
        #expect(parsed["cli@test"]?["pool"]?["max-concurrency"] == 2)

        let grow = try await control(["pool_grow", "-n", "2"])
        #expect(grow.output == "cli@test: OK pool will grow\n" && grow.status == 0)
        let grown = try await JSONValue(parsing: Data(try control(["stats", "--json"]).output.utf8))
        #expect(grown["cli@test"]?["pool"]?["max-concurrency"] == 4)

        let rate = try await control(["rate_limit", "simul.add", "10/m"])
        #expect(rate.output == "cli@test: OK new rate limit set successfully\n")
        let unknown = try await control(["rate_limit", "no.such.task", "10/m"])
        #expect(unknown.output == "cli@test: error: unknown task\n" && unknown.status == 1)
        let registered = try await control(["registered"])
        #expect(registered.output.contains("  - simul.add [rate_limit=10/m]\n"), "\(registered.output)")

        let add = try await control(["add_consumer", "extra"])
        #expect(add.output == "cli@test: OK add consumer extra\n")
        let queues = try await JSONValue(parsing: Data(try control(["active_queues", "--json"]).output.utf8))
        #expect(queues["cli@test"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["celery", "extra"])

        let autoscale = try await control(["autoscale", "4", "1"])
        #expect(autoscale.output == "cli@test: error: ValueError('Autoscale not enabled')\n")
        let restart = try await control(["pool_restart"])
        #expect(restart.output == "cli@test: error: ValueError('Pool restarts not enabled')\n" && restart.status == 1)

        let revoke = try await QueueCommandTests.simul([
            "revoke", "5d6f0c1e-8a7b-4c5d-9e0f-1a2b3c4d5e6f", "--broker", url,
        ])
        #expect(revoke.output == "revoked 5d6f0c1e-8a7b-4c5d-9e0f-1a2b3c4d5e6f\n" && revoke.status == 0)
        try await waitUntil("the worker knows the revocation") {
            try await control(["revoked"]).output.contains("5d6f0c1e-8a7b-4c5d-9e0f-1a2b3c4d5e6f")
        }

        let silent = try await QueueCommandTests.simul([
            "control", "ping", "--broker", url, "-d", "nobody@nowhere", "--timeout", "0.3",
        ])
        #expect(silent.status == 69)
        #expect(silent.error == "Error: no worker answered within 0.3 s\n")

        let shutdown = try await control(["shutdown"])
        #expect(shutdown.output == "shutdown sent to cli@test\n")
        await worker.exited()
        #expect(worker.terminationStatus == 0)
    }
}
