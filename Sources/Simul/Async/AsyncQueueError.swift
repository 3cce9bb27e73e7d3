/// The error ``AsyncQueue`` throws when it is full or shut down.
///
/// Compare with the static members: `catch let error as AsyncQueueError where error == .shutDown`.
public struct AsyncQueueError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case full
        case shutDown
    }

    private let code: Code

    private init(_ code: Code) {
        self.code = code
    }

    /// ``AsyncQueue/tryPut(_:)`` found the queue full (Python's `QueueFull`).
    public static let full = AsyncQueueError(.full)

    /// The queue was shut down: `put` always throws it, and `get` once the remaining items are gone
    /// (Python's `QueueShutDown`).
    public static let shutDown = AsyncQueueError(.shutDown)

    /// What went wrong, for logs: "the queue is full" or "the queue is shut down".
    public var description: String {
        switch code {
        case .full: "the queue is full"
        case .shutDown: "the queue is shut down"
        }
    }
}
