import Foundation
import SimulRedis

/// A `redis-server` the benchmark starts for itself on a free loopback port, with no persistence, and stops after.
final class LocalRedisServer: Sendable {
    /// Why the server could not start; one line.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let url: String
    private let process: Process
    private let directory: URL

    private init(url: String, process: Process, directory: URL) {
        self.url = url
        self.process = process
        self.directory = directory
    }

    /// Starts `redis-server` (from `PATH`, `/usr/bin` or `/usr/sbin`) and waits until it answers.
    static func start() async throws -> LocalRedisServer {
        let candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        guard
            let executable = candidates.map({ $0 + "/redis-server" }).first(where: FileManager.default.isExecutableFile)
        else {
            throw Failure(description: "redis-server is not installed (Debian: apt-get install redis-server), or pass --redis URL")
        }
        let port = try freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simul-bench-redis-\(port)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let server = LocalRedisServer(url: "redis://127.0.0.1:\(port)", process: process, directory: directory)
        let configuration = try RedisConfiguration(url: server.url)
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            if let connection = try? await RedisConnection.connect(to: configuration) {
                let pong = try? await connection.send("PING")
                await connection.close()
                if pong?.string == "PONG" { return server }
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

    /// A loopback port nothing listens on: bind port 0, read the port the kernel chose, close.
    private static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "bind() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
