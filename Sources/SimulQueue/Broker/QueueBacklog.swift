public import Foundation

/// The messages waiting in one queue, as ``QueueAdministration/backlogs(of:)`` reads them: how many, and since when
/// the oldest of them has waited.
public struct QueueBacklog: Sendable, Hashable {
    /// How many messages wait, as ``QueueAdministration/queueLengths()`` counts them.
    public var length: Int
    /// Since when the oldest waiting message has waited; `nil` when none waits, or when the broker cannot tell.
    public var oldestSince: Date?

    /// A backlog of `length` messages, the oldest waiting since `oldestSince`.
    public init(length: Int, oldestSince: Date?) {
        self.length = length
        self.oldestSince = oldestSince
    }

    /// An empty queue's.
    public static let empty = QueueBacklog(length: 0, oldestSince: nil)
}
