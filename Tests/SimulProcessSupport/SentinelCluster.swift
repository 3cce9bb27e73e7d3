import Foundation
import Simul
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A Redis Sentinel deployment on 127.0.0.1 for one test: a master, two replicas, and three sentinels (quorum 2)
/// that call the master down after a second without answers. With two replicas, the one not promoted by a failover
/// replicates the new master at once, so writes that wait for a replica go on. Stopped, every process by its pid,
/// when released.
package final class SentinelCluster: Sendable {
    /// The name the sentinels know the master by.
    package static let masterName = "mymaster"

    /// The master the deployment starts with, and its replicas.
    package let first: RedisServer
    package let replicas: [RedisServer]
    /// The sentinels' ports.
    package let sentinelPorts: [Int]
    private let directory: String
    private let sentinels = Mutex<[ChildProcess]>([])

    private init(first: RedisServer, replicas: [RedisServer], sentinelPorts: [Int], directory: String) {
        self.first = first
        self.replicas = replicas
        self.sentinelPorts = sentinelPorts
        self.directory = directory
    }

    /// Starts the master, the replicas and the sentinels, and waits until the sentinels know the replicas well
    /// enough to promote one (about ten seconds: they need their `INFO`).
    package static func start() async throws -> SentinelCluster {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simul-sentinel-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let first = try await RedisServer.start()
        let replicas = [
            try await RedisServer.start(replicaOf: first.port), try await RedisServer.start(replicaOf: first.port),
        ]
        let ports = try (0..<3).map { _ in try LoopbackPort.free() }
        let cluster = SentinelCluster(first: first, replicas: replicas, sentinelPorts: ports, directory: directory)
        try await onOwnThread {
            for port in ports {
                // A sentinel rewrites its configuration file, so it gets one of its own.
                let configuration = "\(directory)/sentinel-\(port).conf"
                try [
                    "port \(port)", "bind 127.0.0.1", "dir \(directory)", "logfile \(directory)/sentinel-\(port).log",
                    "sentinel monitor \(masterName) 127.0.0.1 \(first.port) 2",
                    "sentinel down-after-milliseconds \(masterName) 1000",
                    "sentinel failover-timeout \(masterName) 10000", "sentinel parallel-syncs \(masterName) 1",
                ].joined(separator: "\n").write(toFile: configuration, atomically: true, encoding: .utf8)
                try cluster.sentinels.withLock { sentinels in
                    let sentinel = try ChildProcess.start(
                        ["redis-server", configuration, "--sentinel"], output: .discard, error: .discard)
                    ProcessGroups.remove(sentinel.pid)
                    sentinels.append(sentinel)
                }
            }
            try Waiting.until(120, "the sentinels know the replicas well enough to promote one", pause: 0.2) {
                try cluster.sentinelPorts.allSatisfy { port in
                    let known = try cluster.sentinel(port, ["SENTINEL", "replicas", masterName])
                    // Milliseconds since the sentinel last read the replica's INFO: it reads it every 10 s, each
                    // sentinel at its own moment, so they are seldom all under a second at once.
                    let refreshed = known.matches(of: /info-refresh\n(\d+)\n/).compactMap { Int($0.1) }
                    let fresh = refreshed.filter { $0 < 20_000 }.count
                    return fresh == replicas.count && known.components(separatedBy: "master-link-status\nok").count == 3
                }
            }
        }
        return cluster
    }

    deinit {
        for sentinel in sentinels.withLock({ $0 }) {
            kill(sentinel.pid, SIGKILL)
            _ = try? sentinel.wait(limit: 10)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `sentinel://…;…/database?master_name=mymaster`, then `options` (`&`-joined).
    package func url(database: Int = 0, options: [String] = []) -> String {
        let sentinels = sentinelPorts.map { "sentinel://127.0.0.1:\($0)" }.joined(separator: ";")
        return "\(sentinels)/\(database)?" + (["master_name=\(Self.masterName)"] + options).joined(separator: "&")
    }

    /// The master's port now, as the first sentinel says.
    package func masterPort() throws -> Int? {
        let address = try sentinel(sentinelPorts[0], ["SENTINEL", "get-master-addr-by-name", Self.masterName])
        return address.split(separator: "\n").last.flatMap { Int($0) }
    }

    /// `redis-cli` against the sentinel on `port`.
    private func sentinel(_ port: Int, _ arguments: [String]) throws -> String {
        let scratch = "\(directory)/cli-\(port).out"
        let code = try ChildProcess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", "\(port)"] + arguments, output: .file(scratch), error: .discard)
        guard code == 0 else {
            throw DriverError("redis-cli -p \(port) \(arguments.joined(separator: " ")): exit \(code)")
        }
        return ((try? String(contentsOfFile: scratch, encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
