import Foundation
import Simul
import SimulRedis
import SimulRESP

/// A `redis-server` the benchmark starts for itself on a free loopback port, with no persistence, and stops after;
/// with TLS, one that speaks only TLS with a throwaway authority's certificates, as a managed Redis does.
final class LocalRedisServer: Sendable {
    /// Why the server could not start; one line.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let url: String
    let port: Int
    private let process: Process
    private let directory: URL

    private init(url: String, port: Int, process: Process, directory: URL) {
        self.url = url
        self.port = port
        self.process = process
        self.directory = directory
    }

    /// Starts `redis-server` (from `PATH`, `/usr/bin` or `/usr/sbin`) and waits until it answers; with `tls`, on TLS
    /// only, and ``url`` is a `rediss://` URL that checks the server's certificate; with `replicaOf`, as a replica of
    /// that server, and waits until it has its data.
    static func start(tls: Bool = false, replicaOf master: LocalRedisServer? = nil) async throws -> LocalRedisServer {
        let candidates =
            (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        guard
            let executable = candidates.map({ $0 + "/redis-server" }).first(where: FileManager.default.isExecutableFile)
        else {
            throw Failure(
                description: "redis-server is not installed (Debian: apt-get install redis-server), or pass --redis URL"
            )
        }
        let port = try LoopbackPort.free()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simul-bench-redis-\(port)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var listen = ["--port", "\(port)"]
        var url = "redis://127.0.0.1:\(port)"
        if tls {
            let certificates = try ThrowawayCertificates.make(in: directory.appendingPathComponent("tls").path)
            listen = [
                "--port", "0", "--tls-port", "\(port)", "--tls-cert-file", certificates.serverCertificate,
                "--tls-key-file", certificates.serverKey, "--tls-ca-cert-file", certificates.authority,
                "--tls-auth-clients", "no",
            ]
            url = "rediss://localhost:\(port)/0?ssl_ca_certs=\(certificates.authority)"
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments =
            listen + ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.path]
            + (master.map { ["--replicaof", "127.0.0.1", "\($0.port)"] } ?? [])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let server = LocalRedisServer(url: url, port: port, process: process, directory: directory)
        let configuration = try RedisConfiguration(url: server.url)
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            if let connection = try? await RedisConnection.connect(to: configuration) {
                let pong = try? await connection.send("PING")
                let role = try? await connection.send("ROLE")
                await connection.close()
                // A replica's ROLE: ["slave", host, port, "connected", offset] once it has the master's data.
                var synced = master == nil
                if case .array(let fields)? = role, fields.count > 3 {
                    synced = synced || fields[3].string == "connected"
                }
                if pong?.string == "PONG", synced { return server }
            }
            guard ContinuousClock.now < deadline, process.isRunning else {
                server.stop()
                throw Failure(description: "redis-server on port \(port) did not start")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Kills the server: SIGKILL, since it keeps nothing and may have inherited a blocked SIGTERM from the Dispatch
    /// thread that started it.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// `base` (a `redis://` or `rediss://` URL, with or without a database, and options) pointing at `database`.
    static func url(_ base: String, database: Int) -> String {
        var (base, options) = (base, "")
        if let mark = base.firstIndex(of: "?") { (base, options) = (String(base[..<mark]), String(base[mark...])) }
        if let slash = base.range(of: "/", options: .backwards),
            slash.lowerBound > base.index(base.startIndex, offsetBy: 8)
        {
            base = String(base[..<slash.lowerBound])
        }
        return base + "/\(database)" + options
    }
}
