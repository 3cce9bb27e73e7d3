/// The error thrown when an operation did not finish within its time limit.
///
/// `Future.result(timeout:)`, `asCompleted(_:timeout:)` and `withTimeout(_:_:)` throw it, as Python's
/// `concurrent.futures` and `asyncio` raise the builtin `TimeoutError`.
public struct TimeoutError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The time limit that passed.
    public let timeout: Duration
    /// What was still unfinished, for example `"2 (of 5) futures unfinished"`.
    public let detail: String

    /// Creates a timeout error.
    /// - Parameters:
    ///   - timeout: the time limit that passed.
    ///   - detail: what was still unfinished; empty when there is nothing more to say.
    public init(timeout: Duration, detail: String = "") {
        self.timeout = timeout
        self.detail = detail
    }

    public var description: String {
        let base = "timed out after \(timeout.timeDescription)"
        return detail.isEmpty ? base : "\(base): \(detail)"
    }
}
