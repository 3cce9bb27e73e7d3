/// Where the dashboard listens and who may act.
public struct DashboardConfiguration: Sendable {
    /// The address to bind: a loopback address unless ``token`` is set.
    public var host: String
    /// The port; 0 picks a free one.
    public var port: Int
    /// The token that actions (and, off loopback, every page) need; `nil` turns actions off.
    public var token: String?
    /// How often the broker's events are read.
    public var pollInterval: Duration

    /// A configuration.
    /// - Parameters:
    ///   - host: the address to bind, `127.0.0.1` by default.
    ///   - port: the port, 5555 by default (Flower's).
    ///   - token: the token for actions; required when `host` is not a loopback address.
    ///   - pollInterval: how often the broker's events are read.
    public init(
        host: String = "127.0.0.1", port: Int = 5555, token: String? = nil, pollInterval: Duration = .milliseconds(500)
    ) {
        self.host = host
        self.port = port
        self.token = token
        self.pollInterval = pollInterval
    }

    /// Checks that the configuration is safe to serve: a port in range, and a token unless the host is loopback.
    /// - Throws: ``DashboardError/tokenRequired(host:)`` or ``DashboardError/badPort(_:)``.
    public func validate() throws {
        guard (0...65_535).contains(port) else { throw DashboardError.badPort(port) }
        guard Access.isLoopback(host) || (token.map { !$0.isEmpty } ?? false) else {
            throw DashboardError.tokenRequired(host: host)
        }
    }
}
