import Foundation
import SimulProcessSupport

/// The network a scenario breaks: two ``FaultProxy``s to the same Redis, one for the worker's connections and one
/// for the client's (`simul send`), so that each one's network can break while the other's holds. The proxies run
/// in this process, each on an event loop thread of its own; the driver switches their faults from its thread.
final class ProxiedRedis {
    /// The worker's connections go through this one.
    let worker: FaultProxy
    /// The client's connections go through this one.
    let client: FaultProxy
    /// The worker's broker URL: the scenario's, to the worker's proxy.
    let workerURL: String
    /// The client's broker URL: the scenario's, to the client's proxy.
    let clientURL: String

    /// Starts both proxies to 127.0.0.1:`port`, where `url` (`redis://127.0.0.1:port/…` or `rediss://…`) points.
    init(url: String, port: Int) throws {
        let worker = try blocking { try await FaultProxy.start(upstreamPort: port) }
        let client: FaultProxy
        do {
            client = try blocking { try await FaultProxy.start(upstreamPort: port) }
        } catch {
            try? blocking { await worker.stop() }
            throw error
        }
        self.worker = worker
        self.client = client
        let address = "127.0.0.1:\(port)"
        precondition(url.contains(address), "the URL \(url) does not point at \(address)")
        workerURL = url.replacingOccurrences(of: address, with: "127.0.0.1:\(worker.port)")
        clientURL = url.replacingOccurrences(of: address, with: "127.0.0.1:\(client.port)")
    }

    /// Stops both proxies, closing every connection through them.
    func stop() {
        let (worker, client) = (worker, client)
        try? blocking {
            await worker.stop()
            await client.stop()
        }
    }
}
