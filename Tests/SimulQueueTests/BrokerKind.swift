import SimulQueue
import SimulQueueTestSupport
import SimulSQLite
import SimulTestSupport

/// The brokers a test can run against.
enum BrokerKind: String, CaseIterable, Sendable {
    case memory
    case sqlite

    /// A new, empty broker; SQLite's file goes in `scratch`.
    func make(in scratch: ScratchDirectory) throws -> any TestBroker {
        switch self {
        case .memory: MemoryBroker()
        case .sqlite: try SQLiteBroker(path: scratch.file("queue.sqlite"))
        }
    }
}
