import Foundation
import Simul
import SimulQueue

/// A broker that carries messages through a memory broker and adopts none of its capabilities by itself.
protocol MemoryBackedBroker: Broker {
    var inner: MemoryBroker { get }
}

extension MemoryBackedBroker {
    func commit(_ commit: BrokerCommit) async throws { try await inner.commit(commit) }
    func receive(from queues: [String], limit: Int, lease: Duration, timeout: Duration) async throws -> [Delivery] {
        try await inner.receive(from: queues, limit: limit, lease: lease, timeout: timeout)
    }
    func renew(_ tags: [String], lease: Duration) async throws { try await inner.renew(tags, lease: lease) }
    func close() async { await inner.close() }
}

/// The core of a broker and nothing else, as a broker that can only carry messages is.
final class CoreOnlyBroker: MemoryBackedBroker {
    let inner = MemoryBroker()
    var transport: String { "core-only" }
}

/// The core and an event feed: enough for a dashboard, not for its queue, dead-letter and revoke pages.
final class FeedOnlyBroker: MemoryBackedBroker, EventFeed {
    let inner = MemoryBroker()
    var transport: String { "feed-only" }

    func events(after cursor: Int64, limit: Int) async throws -> (events: [QueueEvent], cursor: Int64) {
        try await inner.events(after: cursor, limit: limit)
    }
}
