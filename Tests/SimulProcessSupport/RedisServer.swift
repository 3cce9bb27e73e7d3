import Foundation
package import Simul
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A `redis-server` on a free 127.0.0.1 port, in its own directory, stopped by its pid: the one way the drivers and
/// the Swift tests start Redis. It keeps its port across ``stop(_:)`` and ``start()``, so a test or a fault scenario
/// can restart Redis under its clients.
///
/// A durable server (the fault suite's Redis column, the tests that restart Redis) writes an append-only file and
/// syncs every write before its reply; otherwise it keeps nothing. It runs in the foreground as a child of the
/// process that started it, in its own process group but not in ``ProcessGroups``, so the end of a fault scenario
/// leaves it running.
package final class RedisServer: Sendable {
    /// Its port on 127.0.0.1, the same across restarts.
    package let port: Int
    /// Its working directory: the append-only file and `redis.log`.
    package let directory: String
    /// The password it requires (`requirepass`), if any.
    package let password: String?
    /// The certificates it serves TLS with, on its only port, and checks client certificates against, if any.
    package let tls: ThrowawayCertificates?
    /// ACL users beside `default`, each an `ACL SETUSER` rule: name first.
    private let users: [[String]]
    /// The port of the master on 127.0.0.1 this server replicates, if it is a replica.
    private let replicaOf: Int?
    private let durable: Bool
    /// A directory of the server's own, removed when the server is released.
    private let removedOnRelease = Mutex<String?>(nil)
    private let process = Mutex<ChildProcess?>(nil)

    /// Picks a free port; ``start()`` starts the server in `directory`.
    package convenience init(directory: String, durable: Bool = true, password: String? = nil) throws {
        try self.init(
            directory: directory, durable: durable, password: password, tls: nil, users: [], replicaOf: nil)
    }

    private init(
        directory: String, durable: Bool, password: String?, tls: ThrowawayCertificates?, users: [[String]],
        replicaOf: Int?
    ) throws {
        port = try LoopbackPort.free()
        self.directory = directory
        self.durable = durable
        self.password = password
        self.tls = tls
        self.users = users
        self.replicaOf = replicaOf
    }

    /// Starts a server in a new temporary directory, removed with the server: what a test asks for. With `tls`, it
    /// speaks only TLS, with a throwaway authority's certificates (``ThrowawayCertificates``), and requires a client
    /// certificate signed by it; its own certificate is for `serverNames`. `users` are ACL users beside `default`,
    /// each an `ACL SETUSER` rule. With `replicaOf`, it replicates the master on that port of 127.0.0.1.
    package static func start(
        password: String? = nil, durable: Bool = false, tls: Bool = false,
        serverNames: [String] = ["DNS:localhost", "IP:127.0.0.1"], users: [[String]] = [], replicaOf: Int? = nil
    ) async throws -> RedisServer {
        try await onOwnThread {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simul-redis-\(UUID())").path
            let certificates =
                tls ? try ThrowawayCertificates.make(in: "\(directory)/tls", serverNames: serverNames) : nil
            // The free port chosen may be taken before the server binds it: then it tries again on another, up to
            // three times.
            var attempt = 1
            while true {
                let server = try RedisServer(
                    directory: "\(directory)/\(attempt)", durable: durable, password: password, tls: certificates,
                    users: users, replicaOf: replicaOf)
                do {
                    try server.start()
                    server.removedOnRelease.withLock { $0 = directory }
                    return server
                } catch is Exited where attempt < 3 {
                    attempt += 1
                }
            }
        }
    }

    /// ``start()`` for a test: starts the server again, on a thread of its own.
    package func restart() async throws {
        try await onOwnThread { try self.start() }
    }

    deinit {
        stop()
        if let removed = removedOnRelease.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: removed) }
    }

    /// `redis://[:password@]127.0.0.1:port/database`; for a TLS server, `rediss://…` with the authority to trust
    /// and the client certificate.
    package func url(database: Int = 0) -> String {
        let credentials = password.map { ":\($0)@" } ?? ""
        guard let tls else { return "redis://\(credentials)127.0.0.1:\(port)/\(database)" }
        let options = [
            "ssl_cert_reqs=required", "ssl_ca_certs=\(tls.authority)", "ssl_certfile=\(tls.clientCertificate)",
            "ssl_keyfile=\(tls.clientKey)",
        ]
        return "rediss://\(credentials)127.0.0.1:\(port)/\(database)?\(options.joined(separator: "&"))"
    }

    /// The server's version, as `redis-server --version` says it: `7.0.15`.
    package static func version(scratch: String) throws -> String {
        _ = try ChildProcess.run(["redis-server", "--version"], output: .file(scratch))
        let text = (try? String(contentsOfFile: scratch, encoding: .utf8)) ?? ""
        guard let range = text.range(of: #"v=[^ ]*"#, options: .regularExpression) else { return "?" }
        return String(text[range].dropFirst(2))
    }

    /// Starts the server, installing `redis-server` with apt-get first if it is missing, and waits (at most 20 s)
    /// until it answers `PING`.
    package func start() throws {
        if try !Debian.has("redis-server") { try Debian.install("redis-server") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A TLS server listens on its port for TLS only (plain TCP on port 0 is off).
        let listen =
            tls.map {
                [
                    "--port", "0", "--tls-port", "\(port)", "--tls-cert-file", $0.serverCertificate, "--tls-key-file",
                    $0.serverKey, "--tls-ca-cert-file", $0.authority, "--tls-auth-clients", "yes",
                ]
            } ?? ["--port", "\(port)"]
        var arguments =
            ["redis-server", "--bind", "127.0.0.1"] + listen + [
                "--protected-mode", "yes", "--dir", directory, "--save", "", "--daemonize", "no", "--logfile",
                "\(directory)/redis.log", "--databases", "16",
            ]
        arguments += durable ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]
        if let password { arguments += ["--requirepass", password] }
        for user in users { arguments += ["--user"] + user }
        if let replicaOf { arguments += ["--replicaof", "127.0.0.1", "\(replicaOf)"] }
        try process.withLock { process in
            let server = try ChildProcess.start(arguments, output: .discard, error: .discard)
            // Stopped by stop(), not by the end of a scenario.
            ProcessGroups.remove(server.pid)
            process = server
        }
        // A redis-server process is starting: nothing to wait on but its answer.
        var exited = false
        try Waiting.until(20, "redis-server on 127.0.0.1:\(port)", pause: 0.02) {
            exited = !process.withLock { $0?.isRunning ?? false }
            return try exited || cli(["ping"]) == "PONG"
        }
        if exited {
            _ = process.withLock { $0.take() }
            let log = (try? String(contentsOfFile: "\(directory)/redis.log", encoding: .utf8)) ?? ""
            throw Exited(description: "redis-server on 127.0.0.1:\(port) exited:\n\(log)")
        }
    }

    /// The server exited as it started: its port was taken, most often, by another process that got it first.
    package struct Exited: Error, CustomStringConvertible {
        package var description: String
    }

    /// Stops the server with `signal` (SIGKILL, as a crash would, unless told otherwise) and waits at most 10 s
    /// until it is gone, its port with it; one still running then (or whose wait a signal cut short) is SIGKILLed.
    package func stop(_ signal: Int32 = SIGKILL) {
        guard let server = process.withLock({ $0.take() }) else { return }
        kill(server.pid, signal)
        guard (try? server.wait(limit: 10)) == nil else { return }
        // Still running, or the wait was interrupted: it must not outlive its starter.
        kill(server.pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(server.pid, &status, 0)
    }

    /// Sends `signal` to the server and does not wait: SIGSTOP freezes it with its connections open, as a host cut
    /// off from the network looks to its peers, and SIGCONT thaws it.
    package func send(_ signal: Int32) {
        process.withLock { process in
            if let process { kill(process.pid, signal) }
        }
    }

    /// Runs `redis-cli` against the server, in `database` if given, with `input` as its standard input (for `-x`);
    /// returns what it printed, trimmed.
    /// - Throws: ``DriverError`` if `redis-cli` fails.
    @discardableResult
    package func cli(_ arguments: [String], database: Int? = nil, input: String? = nil) throws -> String {
        var command = ["redis-cli", "-h", "127.0.0.1", "-p", "\(port)"]
        if let password { command += ["-a", password, "--no-auth-warning"] }
        if let tls {
            command += ["--tls", "--cacert", tls.authority, "--cert", tls.clientCertificate, "--key", tls.clientKey]
        }
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
