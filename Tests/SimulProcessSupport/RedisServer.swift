import Foundation
import Simul

#if canImport(Glibc)
    import Glibc
#endif

/// A `redis-server` a driver starts on a free 127.0.0.1 port, in its own directory, and stops by its pid. The fault
/// suite's Redis column is durable (append-only, every write synced before its reply), and `redis-restart` kills it
/// under its clients and starts it again on the same port and append-only file; the browser test's keeps nothing.
///
/// It runs in the foreground as the driver's child, in its own process group but not in ``ProcessGroups``, so the
/// end of a scenario leaves it running and the driver always knows its pid, across restarts too.
package final class RedisServer {
    /// Its port on 127.0.0.1, the same across restarts.
    package let port: Int
    /// Its working directory: the append-only file and `redis.log`.
    package let directory: String
    /// Whether it writes an append-only file and syncs every write before its reply.
    private let durable: Bool
    private var process: ChildProcess?

    /// Picks a free port; ``start()`` starts the server, `durable` or keeping nothing (no snapshot, no
    /// append-only file).
    package init(directory: String, durable: Bool = true) throws {
        port = try LoopbackPort.free()
        self.directory = directory
        self.durable = durable
    }

    /// The server's version, as `redis-server --version` says it: `7.0.15`.
    package static func version(scratch: String) throws -> String {
        _ = try ChildProcess.run(["redis-server", "--version"], output: .file(scratch))
        let text = (try? String(contentsOfFile: scratch, encoding: .utf8)) ?? ""
        guard let range = text.range(of: #"v=[^ ]*"#, options: .regularExpression) else { return "?" }
        return String(text[range].dropFirst(2))
    }

    /// Starts the server and waits (at most 20 s) until it answers `PING`.
    package func start() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let arguments = [
            "redis-server", "--bind", "127.0.0.1", "--port", "\(port)", "--protected-mode", "yes", "--dir", directory,
            "--save", "", "--daemonize", "no", "--logfile", "\(directory)/redis.log", "--databases", "16",
        ]
        let persistence = durable ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]
        let server = try ChildProcess.start(arguments + persistence, output: .discard, error: .discard)
        // Stopped by stop(), not by the end of a scenario.
        ProcessGroups.remove(server.pid)
        process = server
        try Waiting.until(20, "redis-server on 127.0.0.1:\(port)") {
            guard server.isRunning else { throw DriverError("redis-server exited") }
            return try cli(["ping"]) == "PONG"
        }
    }

    /// Stops the server with `signal` (SIGKILL, as a crash would, unless told otherwise) and waits at most 10 s
    /// until it is gone, its port with it; one still running then (or whose wait a signal cut short) is SIGKILLed.
    package func stop(_ signal: Int32 = SIGKILL) {
        guard let server = process else { return }
        process = nil
        kill(server.pid, signal)
        guard (try? server.wait(limit: 10)) == nil else { return }
        // Still running, or the wait was interrupted: it must not outlive the driver.
        kill(server.pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(server.pid, &status, 0)
    }

    /// Runs `redis-cli` against the server, in `database` if given, with `input` as its standard input (for `-x`);
    /// returns what it printed, trimmed.
    /// - Throws: ``DriverError`` if `redis-cli` fails.
    @discardableResult
    package func cli(_ arguments: [String], database: Int? = nil, input: String? = nil) throws -> String {
        var command = ["redis-cli", "-h", "127.0.0.1", "-p", "\(port)"]
        if let database { command += ["-n", "\(database)"] }
        let scratch = "\(directory)/cli.out"
        let code = try ChildProcess.run(command + arguments, input: input, output: .file(scratch), error: .discard)
        let text = ((try? String(contentsOfFile: scratch, encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard code == 0 else { throw DriverError("redis-cli \(arguments.joined(separator: " ")): exit \(code)") }
        return text
    }

    /// `cli(arguments)` read as an integer, as `LLEN` and `HLEN` reply.
    package func integer(_ arguments: [String], database: Int) throws -> Int {
        let text = try cli(arguments, database: database)
        guard let value = Int(text) else { throw DriverError("redis-cli \(arguments.first ?? ""): '\(text)'") }
        return value
    }
}
