import Foundation
package import SimulProcessSupport
public import SimulRedis
public import Testing

extension RedisServer {
    /// The server's URL, parsed: what a test connects with.
    package var configuration: RedisConfiguration {
        // swift-format-ignore: NeverUseForceTry
        try! RedisConfiguration(url: url())
    }
}

/// The Redis server the integration suites share: `SIMUL_TEST_REDIS_URL` if set, else a `redis-server` started
/// for the suites and stopped when the last of them ends; with `SIMUL_TEST_REDIS_TLS=1`, one that speaks only TLS
/// and wants client certificates (`scripts/test.sh` runs the client's suites that way too).
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
        let tls = ProcessInfo.processInfo.environment["SIMUL_TEST_REDIS_TLS"] == "1"
        let server = self.server ?? Task { try await RedisServer.start(tls: tls) }
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
