import Foundation
import SimulProcessSupport
import SimulTestSupport
import Testing

/// A team's own executable built on `QueueCommands` (Tests/SimulCommandsTestApp, named `shop`): its help, its worker
/// running its own tasks in the processes pool, and its sends, as a user runs them.
@Suite(.timeLimit(.minutes(3))) struct QueueCommandsTests {
    static let shop = builtExecutable("SimulCommandsTestApp")

    static func shop(_ arguments: [String]) async throws -> QueueCommandTests.Run {
        try await QueueCommandTests.simul(arguments, executable: shop)
    }

    @Test func helpAndVersionNameTheAppAndEveryQueueCommand() async throws {
        let help = try await Self.shop(["--help"])
        #expect(help.status == 0)
        #expect(help.output.contains("USAGE: shop <subcommand>"))
        for command in [
            "worker", "send", "chain", "group", "result", "inspect", "control", "revoke", "purge", "beat",
            "dead-letters", "dashboard",
        ] {
            #expect(help.output.contains("\n  \(command) "), "\(command) missing from --help")
        }
        #expect(!help.output.contains("demo"))
        let version = try await Self.shop(["--version"])
        #expect(version.output == "1.2.3\n")
        let worker = try await Self.shop(["worker", "--help"])
        #expect(worker.output.contains("USAGE: shop worker"))
    }

    @Test func theWorkerRunsTheAppsTasksInItsProcessesPool() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let url = "sqlite://\(scratch.file("queue.sqlite"))"
        let worker = try startSimul(
            ["worker", "--broker", url, "--pool", "processes", "-c", "1"], executable: Self.shop)
        defer { if worker.isRunning { worker.terminate() } }

        for (arguments, result) in [(["--args", "[21]"], "42"), (["--kwargs", #"{"n": 5}"#], "10")] {
            let sent = try await Self.shop(
                ["send", "shop.double"] + arguments + ["--wait", "--timeout", "60", "--broker", url])
            #expect(sent.status == 0, "\(sent.error)")
            #expect(sent.output.split(separator: "\n").last.map(String.init) == result)
        }
        // The task ran in a child process that the command started from this same executable.
        let pid = try await Self.shop(["send", "shop.pid", "--wait", "--timeout", "60", "--broker", url])
        let child = try #require(pid.output.split(separator: "\n").last.flatMap { Int32($0) })
        #expect(child != worker.processIdentifier && child > 0)
        // The app's worker knows the app's tasks only.
        let builtin = try await Self.shop(
            ["send", "simul.add", "--args", "[1, 2]", "--wait", "--timeout", "60", "--broker", url])
        #expect(builtin.status != 0)
        #expect(builtin.error.contains("NotRegistered"), "\(builtin.error)")

        worker.terminate()
        await worker.exited()
        #expect(worker.terminationStatus == 0)
    }

    @Test func badArgumentsGetOneLineAndAUsageExit() async throws {
        let unknown = try await Self.shop(["nosuch"])
        #expect(unknown.status == 64)
        #expect(unknown.error.hasPrefix("Error: Unexpected argument 'nosuch'"), "\(unknown.error)")
        let untyped = try await Self.shop(["send", "shop.double", "--args", "[21", "--broker", "memory://"])
        #expect(untyped.status != 0)
        #expect(untyped.error.split(separator: "\n").filter { $0.hasPrefix("Error:") }.count == 1, "\(untyped.error)")
    }
}
