public import Foundation

/// A revoked task: workers skip it, and stop it if it is running and `terminate` is set.
public struct Revocation: Sendable, Hashable {
    /// The task id.
    public var id: String
    /// Whether a running task is stopped, not only a waiting one skipped.
    public var terminate: Bool
    /// When it was revoked; it lasts ``RevokedSet/Limits/maxAge`` from then.
    public var at: Date

    /// Creates a revocation.
    public init(id: String, terminate: Bool, at: Date) {
        self.id = id
        self.terminate = terminate
        self.at = at
    }
}

/// Where a reader of a broker's revocations got to: pass it to ``RevocationStore/revocations(after:)`` to read only what
/// came after.
///
/// Its value means something to the broker that made it only: a sequence number in SQLite and in memory, a stream
/// entry id in Redis.
public struct RevocationCursor: Sendable, Hashable, CustomStringConvertible {
    /// The broker's position.
    public let position: String

    /// A cursor at `position`.
    public init(_ position: String) {
        self.position = position
    }

    public var description: String { position }
}
