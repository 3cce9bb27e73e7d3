import Foundation
import NIOCore
import SimulJSON
import SimulProcessSupport
import SimulQueue
import SimulQueueTestSupport
import SimulRedis
import SimulRedisBroker
import SimulTestSupport
import Testing
import SimulRESP

/// The client and the broker with a ``FaultProxy`` between them and a real `redis-server`: the network partitioned,
/// reset and half-open, and healed.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct RedisNetworkFaultTests {
    /// A partition holds a command until it heals (as TCP does), so a command with a short timeout fails and closes
    /// its connection, and a new one goes on once it heals; a reset refuses a connection as it is made; a half-open
    /// one is noticed by the command's timeout, which closes it.
    @Test func aConnectionThroughTheProxyMeetsEachFault() async throws {
        let server = try await RedisServer.start()
        let proxy = try await FaultProxy.start(upstreamPort: server.port)
        var configuration = RedisConfiguration(host: "127.0.0.1", port: proxy.port)
        configuration.commandTimeout = .seconds(2)
        let pong = RESPValue.simpleString(ByteBuffer(string: "PONG"))

        let connection = try await RedisConnection.connect(to: configuration)
        #expect(try await connection.send("PING") == pong)
        proxy.fault = .partition
        await #expect(throws: RedisError.timedOut(after: .seconds(2))) { try await connection.send("PING") }
        try await waitUntil("the timeout closes the connection") { !connection.isOpen }
        proxy.fault = nil
        let healed = try await RedisConnection.connect(to: configuration)
        #expect(try await healed.send("PING") == pong)
        await healed.close()

        // Under a reset, a connection is reset as it is made: connecting fails at once, in one error.
        proxy.fault = .reset
        let reset = await #expect(throws: RedisError.self) { try await RedisConnection.connect(to: configuration) }
        #expect(reset?.message.hasPrefix("cannot connect to redis at 127.0.0.1:\(proxy.port)") == true)
        proxy.fault = nil

        let halfOpen = try await RedisConnection.connect(to: configuration)
        proxy.fault = .halfOpen
        await #expect(throws: RedisError.timedOut(after: .seconds(2))) { try await halfOpen.send("PING") }
        try await waitUntil("the timeout closes the half-open connection") { !halfOpen.isOpen }
        await proxy.stop()
    }

    /// A worker partitioned from Redis for three of its leases, while a client keeps sending: its held messages'
    /// leases lapse and they go back to the queue, and when the partition heals every task has its result; none is
    /// lost (some may run twice).
    @Test func aWorkerPartitionedForThreeLeasesLosesNothing() async throws {
        let server = try await RedisServer.start()
        let proxy = try await FaultProxy.start(upstreamPort: server.port)
        let workerBroker = try RedisBroker(url: "redis://127.0.0.1:\(proxy.port)/0")
        let clientBroker = try RedisBroker(url: server.url())
        let client = QueueClient(broker: clientBroker, backend: clientBroker)
        var catalog = QueueHarness.catalog
        // Long enough that the worker holds running and prefetched messages when the partition starts.
        catalog.register("t.slowEcho", parameters: ["x"]) { (x: Int) async throws -> Int in
            try await Task.sleep(for: .milliseconds(50))
            return x
        }
        let queue = QueueHarness(catalog: catalog, broker: workerBroker) {
            $0.concurrency = 4
            $0.lease = .seconds(2)
        }
        var results: [AsyncResult] = []
        for index in 0..<100 { results.append(try await client.send("t.slowEcho", args: [.integer(Int64(index))])) }
        try await waitUntil("the worker is under way, running tasks") {
            queue.worker.stats.processed >= 10 && queue.worker.stats.active > 0
        }
        proxy.fault = .partition
        for index in 100..<200 { results.append(try await client.send("t.slowEcho", args: [.integer(Int64(index))])) }
        // The partition lasts three leases of real time: Redis judges leases by the time that passes.
        try await Task.sleep(for: .seconds(6))
        proxy.fault = nil
        for (index, result) in results.enumerated() {
            do {
                #expect(try await result.get(timeout: .seconds(60)) == .integer(Int64(index)), "task \(index)")
            } catch {
                Issue.record("task \(index): \(error); \(try whereIs(result.id, server: server, worker: queue.worker))")
                break
            }
        }
        print("partition of 3 leases: 200 sent, 200 results, \(queue.worker.stats.processed - 200) ran twice")
        try await queue.stop()
        await workerBroker.close()
        await clientBroker.close()
        await proxy.stop()
    }

    /// Where task `id` is when its result does not come: the queue, the held messages, the restore lock, the worker.
    private func whereIs(_ id: String, server: RedisServer, worker: Worker) throws -> String {
        let queued = try server.cli(["LRANGE", "celery", "0", "-1"], database: 0).contains(id)
        let held = try server.cli(["HGETALL", "unacked"], database: 0).contains(id)
        let scores = try server.cli(["ZRANGE", "unacked_index", "0", "-1", "WITHSCORES"], database: 0)
            .split(separator: "\n").joined(separator: " ")
        let lock = try server.cli(["PTTL", "unacked_mutex"], database: 0)
        return "queued \(queued), held in redis \(held), lease scores [\(scores)], restore lock's pttl \(lock), "
            + "worker \(worker.stats), now \(Date().timeIntervalSince1970)"
    }
}
