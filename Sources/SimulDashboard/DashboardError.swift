/// Why the dashboard cannot start.
public struct DashboardError: Error, CustomStringConvertible, Equatable {
    private enum Code: Equatable {
        case tokenRequired
        case badPort
    }

    private let code: Code
    /// What went wrong, in one line.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Binding `host`, which is not a loopback address, without a token.
    public static func tokenRequired(host: String) -> DashboardError {
        DashboardError(
            .tokenRequired,
            "binding \(host) exposes the dashboard beyond this machine: give --token TOKEN or set SIMUL_DASHBOARD_TOKEN"
        )
    }

    /// A port outside 0...65535.
    public static func badPort(_ port: Int) -> DashboardError {
        DashboardError(.badPort, "--port must be from 0 to 65535, got \(port)")
    }

    public var description: String { message }
}
