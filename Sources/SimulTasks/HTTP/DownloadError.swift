import Simul

/// Why one download failed; its description is what the gallery shows after "✗".
public struct DownloadError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Hashable {
        case status(Int)
        case refused
        case timedOut(Duration)
        case invalidURL(String)
        case connection(String)
        case badResponse(String)
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    /// The server answered with a status other than 2xx.
    public static func status(_ status: Int) -> DownloadError { DownloadError(.status(status)) }

    /// Nothing listens at the address.
    public static let refused = DownloadError(.refused)

    /// The whole download took longer than `timeout`.
    public static func timedOut(_ timeout: Duration) -> DownloadError { DownloadError(.timedOut(timeout)) }

    /// The URL cannot be downloaded (not http or https, or no host).
    public static func invalidURL(_ url: String) -> DownloadError { DownloadError(.invalidURL(url)) }

    /// The network failed, with the system's words.
    public static func connection(_ detail: String) -> DownloadError { DownloadError(.connection(detail)) }

    /// The server's reply was not HTTP the client understands.
    public static func badResponse(_ detail: String) -> DownloadError { DownloadError(.badResponse(detail)) }

    /// The HTTP status, when the server answered with an error status.
    public var status: Int? {
        if case .status(let status) = code { return status }
        return nil
    }

    public var description: String {
        switch code {
        case .status(let status): "HTTP \(status)"
        case .refused: "connection refused"
        case .timedOut(let timeout): "timed out after \(timeout.timeDescription)"
        case .invalidURL: "not an http or https URL"
        case .connection(let detail): detail
        case .badResponse(let detail): "bad response: \(detail)"
        }
    }
}
