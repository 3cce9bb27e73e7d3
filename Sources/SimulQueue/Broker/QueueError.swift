/// A failure of the queue's machinery (not of a task): a bad broker URL, an unreachable broker, a storage error,
/// a timeout.
public struct QueueError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case badURL, unavailable, storage, timeout, invalidArgument, gone, unsupported
    }

    private let code: Code
    /// What went wrong, in one line.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A broker or backend URL that cannot be used; the message shows the URL with its password masked.
    public static func badURL(_ url: String, _ why: String) -> QueueError {
        QueueError(.badURL, "bad broker URL '\(masked(url))': \(why)")
    }

    /// `url` with the password of its user information (`scheme://user:password@host`) replaced by `***`.
    static func masked(_ url: String) -> String {
        guard let start = url.firstRange(of: "://")?.upperBound else { return url }
        let authorityEnd = url[start...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? url.endIndex
        guard let at = url[start..<authorityEnd].lastIndex(of: "@"),
            let colon = url[start..<at].firstIndex(of: ":")
        else { return url }
        return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
    }
    /// The broker cannot be reached.
    public static func unavailable(_ message: String) -> QueueError { QueueError(.unavailable, message) }
    /// The broker's storage failed.
    public static func storage(_ message: String) -> QueueError { QueueError(.storage, message) }
    /// A wait ran out of time.
    public static func timeout(_ message: String) -> QueueError { QueueError(.timeout, message) }
    /// An argument a caller passed cannot be used.
    public static func invalidArgument(_ message: String) -> QueueError { QueueError(.invalidArgument, message) }

    /// The broker can no longer be used, and trying again will not help: its file was deleted or replaced, for one.
    /// A worker that meets it stops and throws it.
    public static func brokerGone(_ message: String) -> QueueError { QueueError(.gone, message) }

    /// The broker does not adopt a capability that was asked of it, such as remote control of SQLite.
    public static func unsupported(transport: String, capability: String) -> QueueError {
        QueueError(.unsupported, "the \(transport) broker has no \(capability)")
    }

    /// Whether this is a timeout.
    public var isTimeout: Bool { code == .timeout }
    /// Whether the broker could not be reached: the command may be tried again once it is back.
    public var isUnavailable: Bool { code == .unavailable }
    /// Whether an argument the caller passed cannot be used, such as a dead letter that cannot be replayed.
    public var isInvalidArgument: Bool { code == .invalidArgument }
    /// Whether the broker lacks a capability that was asked of it (``unsupported(transport:capability:)``).
    public var isUnsupported: Bool { code == .unsupported }
    /// Whether the broker can no longer be used (``brokerGone(_:)``): a worker stops rather than retry.
    public var isBrokerGone: Bool { code == .gone }

    public var description: String { message }
}
