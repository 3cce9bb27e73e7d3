import Foundation
import Simul
public import SimulRedis
import Synchronization
public import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A `redis-server` process on a free loopback port, for the integration tests. It keeps its port across
/// `stop()` and `start()`, so tests can restart Redis under a client.
public final class RedisServer: Sendable {
    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    public let port: Int
    public let password: String?
    /// Whether the server keeps its data across a restart: append-only, every write synced before its reply.
    public let appendOnly: Bool
    private let process = Mutex<Int32?>(nil)
    private let directory: URL

    private init(port: Int, password: String?, appendOnly: Bool) {
        self.port = port
        self.password = password
        self.appendOnly = appendOnly
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("simul-redis-\(port)-\(getpid())")
    }

    /// Starts a server on a free port, installing `redis-server` with apt-get if it is missing.
    /// - Parameters:
    ///   - password: the password it requires, if any.
    ///   - appendOnly: keep the data across ``stop()`` and ``start()`` (`appendonly yes`, `appendfsync always`).
    public static func start(password: String? = nil, appendOnly: Bool = false) async throws -> RedisServer {
        let server = RedisServer(port: try LoopbackPort.free(), password: password, appendOnly: appendOnly)
        try await server.start()
        return server
    }

    public var url: String {
        "redis://\(password.map { ":\($0)@" } ?? "")127.0.0.1:\(port)"
    }

    public var configuration: RedisConfiguration {
        // swift-format-ignore: NeverUseForceTry
        try! RedisConfiguration(url: url)
    }

    /// Starts `redis-server` on the server's port and waits until it answers `PING`.
    public func start() async throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", appendOnly ? "yes" : "no",
            "--appendfsync", "always",
            "--dir", directory.path, "--logfile", directory.appendingPathComponent("redis.log").path,
        ]
        if let password { arguments += ["--requirepass", password] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.executable())
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process.withLock { $0 = process.processIdentifier }
        try await waitUntilReady()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Kills the server (SIGKILL, as a crash would) and waits until it is gone.
    public func stop() {
        guard
            let pid = process.withLock({ pid in
                defer { pid = nil }; return pid
            })
        else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    private func waitUntilReady() async throws {
        var configuration = configuration
        configuration.connectTimeout = .seconds(1)
        let deadline = ContinuousClock.now + .seconds(20)
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            do {
                let connection = try await RedisConnection.connect(to: configuration)
                do {
                    let pong = try await connection.send("PING")
                    await connection.close()
                    if pong.string == "PONG" { return }
                } catch {
                    await connection.close()
                    throw error
                }
            } catch {
                lastError = error
            }
            // A real redis-server process is starting: nothing to wait on but its port.
            try await Task.sleep(for: .milliseconds(20))
        }
        let log = (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
        throw StartError(
            description: "redis-server on port \(port) did not answer PING: \(lastError.map { "\($0)" } ?? "-")\n\(log)"
        )
    }

    /// The path of `redis-server`, after installing it with apt-get (Debian, as root) if it is missing.
    private static func executable() throws -> String {
        let candidates = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        if let found = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) { return found }
        let install = Process()
        install.executableURL = URL(fileURLWithPath: "/bin/sh")
        install.arguments = ["-c", "apt-get update -qq && apt-get install -y -qq redis-server >/dev/null"]
        try install.run()
        install.waitUntilExit()
        if let found = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) { return found }
        throw StartError(description: "redis-server is not installed and apt-get could not install it")
    }
}

/// The Redis server the integration suites share: `SIMUL_TEST_REDIS_URL` if set, else a `redis-server` started
/// for the suites and stopped when the last of them ends.
public actor SharedRedis {
    public static let shared = SharedRedis()

    /// The server being started or running; a task, so suites that ask while it starts share it.
    private var server: Task<RedisServer, any Error>?
    private var users = 0

    public func acquire() async throws -> RedisConfiguration {
        if let url = ProcessInfo.processInfo.environment["SIMUL_TEST_REDIS_URL"], !url.isEmpty {
            return try RedisConfiguration(url: url)
        }
        users += 1
        let server = self.server ?? Task { try await RedisServer.start() }
        self.server = server
        do {
            return try await server.value.configuration
        } catch {
            await release()
            throw error
        }
    }

    public func release() async {
        guard ProcessInfo.processInfo.environment["SIMUL_TEST_REDIS_URL"]?.isEmpty ?? true else { return }
        users -= 1
        if users == 0, let server {
            self.server = nil
            try? await server.value.stop()
        }
    }
}

/// A suite trait that gives the suite's tests the shared Redis server as `RedisTestEnvironment.configuration`.
public struct SharedRedisTrait: SuiteTrait, TestScoping {
    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let configuration = try await SharedRedis.shared.acquire()
        do {
            try await RedisTestEnvironment.$configuration.withValue(configuration) { try await function() }
        } catch {
            await SharedRedis.shared.release()
            throw error
        }
        await SharedRedis.shared.release()
    }
}

extension Trait where Self == SharedRedisTrait {
    /// Runs the suite against the shared Redis server.
    public static var sharedRedis: Self { SharedRedisTrait() }
}

public enum RedisTestEnvironment {
    @TaskLocal public static var configuration: RedisConfiguration?

    /// The shared server's configuration, inside a suite marked `.sharedRedis`.
    public static var shared: RedisConfiguration {
        get throws { try #require(configuration, "the suite needs the .sharedRedis trait") }
    }

    /// A key no other test uses.
    public static func key(_ name: String) -> String {
        "simul-test:\(name):\(UInt64.random(in: 0...UInt64.max))"
    }
}
