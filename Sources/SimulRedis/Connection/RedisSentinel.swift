import Logging
import NIOCore
import SimulRESP

/// The Redis Sentinel deployment a configuration reaches its server through: which sentinels to ask, and the name
/// of the master they watch. Each new connection asks them where the master is now, so a connection lost to a
/// failover comes back on the promoted replica.
///
/// ```swift
/// let configuration = try RedisConfiguration(
///     url: "sentinel://:masterpw@h1:26379;sentinel://h2:26379;sentinel://h3:26379/0?master_name=mymaster")
/// ```
public struct RedisSentinel: Sendable, Hashable {
    /// The name the sentinels know the master by (`sentinel monitor <name> …`).
    public var masterName: String
    /// The sentinels' hosts and ports, asked in order.
    public var sentinels: [Endpoint]
    /// The password the sentinels require (`requirepass` in their configuration), if any; the URL's password is the
    /// master's.
    public var password: String?

    /// A sentinel's address.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        /// A sentinel at `host:port`.
        public init(host: String, port: Int = 26379) {
            self.host = host
            self.port = port
        }

        /// `host:port`, with IPv6 addresses in brackets.
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// Sentinels watching the master `masterName`.
    public init(masterName: String, sentinels: [Endpoint], password: String? = nil) {
        precondition(!sentinels.isEmpty, "a sentinel deployment needs at least one sentinel")
        self.masterName = masterName
        self.sentinels = sentinels
        self.password = password
    }

    /// Asks each sentinel in turn where the master is, and returns the first answer.
    /// - Throws: ``RedisError/cannotConnect(to:_:)`` naming every sentinel and why each gave no master.
    func master(timeout: Duration, eventLoopGroup: any EventLoopGroup, logger: Logger) async throws -> Endpoint {
        var failures: [String] = []
        for sentinel in sentinels {
            var configuration = configuration(for: sentinel)
            configuration.connectTimeout = min(timeout, configuration.connectTimeout)
            do {
                let connection = try await RedisConnection.connect(
                    to: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
                let reply: RESPValue
                do {
                    reply = try await connection.send("SENTINEL", "get-master-addr-by-name", RedisArgument(masterName))
                } catch {
                    await connection.close()
                    throw error
                }
                await connection.close()
                guard case .array(let address) = reply, address.count == 2, let host = address[0].string,
                    let port = address[1].string.flatMap({ Int($0) })
                else {
                    failures.append("\(sentinel): does not know '\(masterName)'")
                    continue
                }
                return Endpoint(host: host, port: port)
            } catch let error as RedisError {
                failures.append("\(sentinel): \(error.message)")
            }
        }
        throw RedisError.cannotConnect(
            to: "the master '\(masterName)'", "no sentinel gave its address (\(failures.joined(separator: "; ")))")
    }

    /// How to reach the sentinel at `endpoint`: with the sentinels' password, and a second to connect and to answer.
    func configuration(for endpoint: Endpoint) -> RedisConfiguration {
        var configuration = RedisConfiguration(host: endpoint.host, port: endpoint.port, password: password)
        configuration.connectTimeout = .seconds(1)
        configuration.commandTimeout = .seconds(1)
        return configuration
    }
}
