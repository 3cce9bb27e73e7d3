import Foundation
import Simul

#if canImport(Glibc)
    import Glibc
#endif

/// The Redis column's server: a `redis-server` the suite starts on a free 127.0.0.1 port, in its own directory,
/// append-only with every write synced before its reply, and stops by its pid at exit. `redis-restart` kills it
/// under its clients and starts it again on the same port and append-only file.
///
/// It runs in the foreground as the suite's child, in its own process group but not in ``ProcessGroups``, so the
/// end of a scenario leaves it running and the suite always knows its pid, across restarts too.
final class RedisServer {
    /// Its port on 127.0.0.1, the same across restarts.
    let port: Int
    /// Its working directory: the append-only file and `redis.log`.
    let directory: String
    private var process: ChildProcess?

    /// Picks a free port; ``start()`` starts the server.
    init(directory: String) throws {
        port = try LoopbackPort.free()
        self.directory = directory
    }

    /// Installs `redis-server` with apt-get (Debian, as root) if it is not on `PATH`.
    static func installIfMissing() throws {
        guard try ChildProcess.run(["sh", "-c", "command -v redis-server"], output: .discard) != 0 else { return }
        printError("simul-faults: installing redis-server (Debian)")
        let install = "apt-get update -qq && apt-get install -y -qq redis-server >/dev/null"
        guard try ChildProcess.run(["sh", "-c", install]) == 0 else {
            throw FaultSuiteError("redis-server is not installed and apt-get could not install it")
        }
    }

    /// The server's version, as `redis-server --version` says it: `7.0.15`.
    static func version(scratch: String) throws -> String {
        _ = try ChildProcess.run(["redis-server", "--version"], output: .file(scratch))
        let text = (try? String(contentsOfFile: scratch, encoding: .utf8)) ?? ""
        guard let range = text.range(of: #"v=[^ ]*"#, options: .regularExpression) else { return "?" }
        return String(text[range].dropFirst(2))
    }

    /// Starts the server and waits (at most 20 s) until it answers `PING`.
    func start() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let arguments = [
            "redis-server", "--bind", "127.0.0.1", "--port", "\(port)", "--protected-mode", "yes", "--dir", directory,
            "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no",
            "--logfile", "\(directory)/redis.log", "--databases", "16",
        ]
        let server = try ChildProcess.start(arguments, output: .discard, error: .discard)
        // Stopped by stop(), not by the end of a scenario.
        ProcessGroups.remove(server.pid)
        process = server
        try Waiting.until(20, "redis-server on 127.0.0.1:\(port)") {
            guard server.isRunning else { throw FaultSuiteError("redis-server exited") }
            return try cli(["ping"]) == "PONG"
        }
    }

    /// Stops the server with `signal` (SIGKILL, as a crash would, unless told otherwise) and waits at most 10 s
    /// until it is gone, its port with it.
    func stop(_ signal: Int32 = SIGKILL) {
        guard let server = process else { return }
        process = nil
        kill(server.pid, signal)
        _ = try? server.wait(limit: 10)
    }

    /// Runs `redis-cli` against the server, in `database` if given, with `input` as its standard input (for `-x`);
    /// returns what it printed, trimmed.
    /// - Throws: ``FaultSuiteError`` if `redis-cli` fails.
    @discardableResult
    func cli(_ arguments: [String], database: Int? = nil, input: String? = nil) throws -> String {
        var command = ["redis-cli", "-h", "127.0.0.1", "-p", "\(port)"]
        if let database { command += ["-n", "\(database)"] }
        let scratch = "\(directory)/cli.out"
        let code = try ChildProcess.run(command + arguments, input: input, output: .file(scratch), error: .discard)
        let text = ((try? String(contentsOfFile: scratch, encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard code == 0 else { throw FaultSuiteError("redis-cli \(arguments.joined(separator: " ")): exit \(code)") }
        return text
    }

    /// `cli(arguments)` read as an integer, as `LLEN` and `HLEN` reply.
    func integer(_ arguments: [String], database: Int) throws -> Int {
        let text = try cli(arguments, database: database)
        guard let value = Int(text) else { throw FaultSuiteError("redis-cli \(arguments.first ?? ""): '\(text)'") }
        return value
    }
}
