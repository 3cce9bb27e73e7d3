import Foundation
import Simul
import SimulQueue

/// The core of a broker and nothing else: a memory broker seen through ``Broker`` alone, as a broker that can only
/// carry messages is.
final class CoreOnlyBroker: Broker {
    let inner = MemoryBroker()

    var transport: String { "core-only" }

    func commit(_ commit: BrokerCommit) async throws { try await inner.commit(commit) }
    func receive(from queues: [String], limit: Int, lease: Duration, timeout: Duration) async throws -> [Delivery] {
        try await inner.receive(from: queues, limit: limit, lease: lease, timeout: timeout)
    }
    func renew(_ tags: [String], lease: Duration) async throws { try await inner.renew(tags, lease: lease) }
    func close() async { await inner.close() }
}

/// The core and an event feed: enough for a dashboard, not for its queue, dead-letter and revoke pages.
final class FeedOnlyBroker: EventFeed {
    let core = CoreOnlyBroker()

    var transport: String { "feed-only" }

    func commit(_ commit: BrokerCommit) async throws { try await core.commit(commit) }
    func receive(from queues: [String], limit: Int, lease: Duration, timeout: Duration) async throws -> [Delivery] {
        try await core.receive(from: queues, limit: limit, lease: lease, timeout: timeout)
    }
    func renew(_ tags: [String], lease: Duration) async throws { try await core.renew(tags, lease: lease) }
    func close() async { await core.close() }
    func events(after cursor: Int64, limit: Int) async throws -> (events: [QueueEvent], cursor: Int64) {
        try await core.inner.events(after: cursor, limit: limit)
    }
}
