/// Why the dashboard cannot start.
public struct DashboardError: Error, CustomStringConvertible, Equatable {
    private enum Code: Equatable {
        case tokenRequired
        case badPort
        case badPath
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

    /// A mount path that is not `/` followed by segments of letters, digits, `-`, `_`, `.` or `~`, or that ends in `/`.
    public static func badPath(_ path: String) -> DashboardError {
        DashboardError(
            .badPath,
            "the dashboard's path must be / followed by segments of letters, digits, -, _, . or ~, without a "
                + "trailing /, such as /ops; got \"\(path)\"")
    }

    /// Refuses a mount path that ``badPath(_:)`` describes.
    static func check(path: String) throws(DashboardError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~".utf8)
        let segments = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        guard path.hasPrefix("/"), path.utf8.count <= 200, !segments.isEmpty,
            segments.allSatisfy({
                !$0.isEmpty && $0.allSatisfy(allowed.contains) && !$0.allSatisfy { $0 == UInt8(ascii: ".") }
            })
        else { throw .badPath(path) }
    }

    public var description: String { message }
}
