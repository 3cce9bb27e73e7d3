import SimulRESP

/// Why a Redis command, connection or configuration failed.
///
/// A reply of the error type (`-ERR …`) is thrown by ``RedisConnection/send(_:)`` as ``server(_:)``, with the
/// server's message verbatim; ``RedisConnection/pipeline(_:)`` returns it as ``RESPValue/error(_:)`` instead.
///
/// ```swift
/// do { _ = try await connection.send("INCR", "greeting") }
/// catch let error as RedisError where error.isServerError { print(error.message) }  // ERR value is not an integer…
/// ```
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Sendable, Hashable {
        case server
        case connectionClosed
        case timedOut
        case cannotConnect
        case authenticationFailed
        case invalidDatabase
        case invalidURL
        case invalidTLS
        case protocolViolation
        case poolClosed
    }

    private let code: Code
    /// What went wrong, in words; for ``server(_:)`` errors, the server's message verbatim.
    public let message: String
    /// For a connection that failed: why, without the endpoint (`connection reset by peer`).
    let cause: String?

    private init(_ code: Code, _ message: String, cause: String? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// Redis answered the command with an error reply, such as `ERR unknown command` or `WRONGTYPE …`.
    /// - Parameter message: the reply's text, verbatim.
    public static func server(_ message: String) -> RedisError {
        RedisError(.server, message)
    }

    /// The connection to `endpoint` failed, for `cause`, before the reply arrived.
    static func connectionFailed(at endpoint: String, _ cause: String) -> RedisError {
        RedisError(.connectionClosed, "the connection to redis at \(endpoint) failed: \(cause)", cause: cause)
    }

    /// The connection closed before the reply arrived, or was already closed when the command was sent.
    /// Redis may or may not have run the command.
    /// - Parameter reason: what happened, such as `redis at 127.0.0.1:6379 closed the connection`.
    public static func connectionClosed(_ reason: String) -> RedisError {
        RedisError(.connectionClosed, reason)
    }

    /// No reply arrived within the command's timeout. The reply is discarded when it arrives, and the connection
    /// stays usable; Redis may or may not have run the command.
    public static func timedOut(after timeout: Duration) -> RedisError {
        RedisError(.timedOut, "redis did not reply within \(timeout)")
    }

    /// The TCP connection could not be made.
    /// - Parameters:
    ///   - endpoint: `host:port`.
    ///   - reason: the cause, such as `connection refused`.
    public static func cannotConnect(to endpoint: String, _ reason: String) -> RedisError {
        RedisError(.cannotConnect, "cannot connect to redis at \(endpoint): \(reason)")
    }

    /// Redis rejected the user name or password sent with `AUTH`.
    /// - Parameters:
    ///   - endpoint: `host:port`.
    ///   - reply: the server's error message.
    public static func authenticationFailed(at endpoint: String, _ reply: String) -> RedisError {
        RedisError(.authenticationFailed, "authentication to redis at \(endpoint) failed: \(reply)")
    }

    /// Redis rejected the `SELECT` of the configured database.
    /// - Parameters:
    ///   - database: the configured database number.
    ///   - reply: the server's error message.
    public static func invalidDatabase(_ database: Int, _ reply: String) -> RedisError {
        RedisError(.invalidDatabase, "cannot select redis database \(database): \(reply)")
    }

    /// A Redis URL could not be parsed.
    /// - Parameter reason: what is wrong with it, naming the part at fault but never the password.
    public static func invalidURL(_ reason: String) -> RedisError {
        RedisError(.invalidURL, "invalid redis URL: \(reason)")
    }

    /// The TLS settings cannot be used: a certificate or key file that cannot be read, or half of a client
    /// certificate and key.
    /// - Parameter reason: what is wrong, naming the option and the file.
    public static func invalidTLS(_ reason: String) -> RedisError {
        RedisError(.invalidTLS, "invalid redis TLS settings: \(reason)")
    }

    /// Redis sent bytes that are not RESP, or a reply nobody asked for; the connection was closed.
    public static func protocolViolation(_ reason: String) -> RedisError {
        RedisError(.protocolViolation, "redis broke the protocol: \(reason)")
    }

    /// The pool or subscriber was closed before or while the command was sent.
    public static let poolClosed = RedisError(.poolClosed, "the redis client is closed")

    /// Whether Redis answered with an error reply (as opposed to a failure to get a reply).
    public var isServerError: Bool { code == .server }

    /// Whether the connection closed, or failed, before the reply arrived.
    public var isConnectionClosed: Bool { code == .connectionClosed }

    /// Whether two errors are the same kind of failure, ignoring their messages.
    public func hasSameKind(as other: RedisError) -> Bool { code == other.code }

    /// The message.
    public var description: String { message }
}
