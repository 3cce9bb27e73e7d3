import Foundation
import Simul
import SimulJSON
import SimulProcessSupport
import SimulQueue
import SimulQueueTestSupport
import SimulRedis
import SimulRedisBroker
import SimulTestSupport
import Testing
import SimulRESP

/// The broker through Redis Sentinel, against real sentinels on 127.0.0.1: a master, two replicas, three sentinels.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct RedisSentinelTests {
    /// A worker and a client find the master through the sentinels. The master is killed in the middle of the run;
    /// they carry on with the replica the sentinels promote, and with `wait_replicas=1` no task whose send returned
    /// is lost: each one's result comes.
    @Test func aFailoverInTheMiddleOfARunLosesNoTaskWithWaitReplicas() async throws {
        let cluster = try await SentinelCluster.start()
        let broker = try RedisBroker(url: cluster.url(options: ["wait_replicas=1"]))
        let queue = QueueHarness(broker: broker) { $0.concurrency = 8 }
        let total = 1_000
        var sent: [(index: Int, result: AsyncResult)] = []
        var refusedSends = 0
        for index in 0..<total {
            if index == total / 2 { cluster.first.stop() }
            // While no master is known a send fails; the sender tries again, as `simul send` does.
            while true {
                do {
                    sent.append((index, try await queue.client.send("t.add", args: [.integer(Int64(index)), 0])))
                    break
                } catch let error as QueueError where error.isUnavailable {
                    refusedSends += 1
                    try await Task.sleep(for: .milliseconds(50))  // a pause before the next try, as a sender makes
                }
            }
        }
        for (index, result) in sent {
            #expect(try await result.get(timeout: .seconds(60)) == JSONValue.integer(Int64(index)), "task \(index)")
        }
        let promoted = try #require(try cluster.masterPort())
        #expect(cluster.replicas.map(\.port).contains(promoted))
        print("sentinel failover: \(total) sent, \(sent.count) results, \(refusedSends) sends refused during it")
        try await queue.stop()
        await broker.close()
    }

    /// A master the sentinels lose sight of while this client still reaches it (frozen here, its connections open):
    /// when they promote a replica, `+switch-master` closes the connection to the old master, and a new connection
    /// reaches the promoted one. Without it the connection would wait on the frozen master, and write to it when it
    /// thawed.
    @Test func aSwitchOfMasterClosesTheConnectionsToTheOldOne() async throws {
        let cluster = try await SentinelCluster.start()
        let configuration = try RedisConfiguration(url: cluster.url())
        let before = try await RedisConnection.connect(to: configuration)
        #expect(try await before.send("SET", "k", "before").string == "OK")
        cluster.first.send(SIGSTOP)
        defer { cluster.first.send(SIGCONT) }
        try await waitUntil("the sentinels promote a replica") { try cluster.masterPort() != cluster.first.port }
        try await waitUntil("the connection to the old master is closed", timeout: .seconds(10)) { !before.isOpen }
        let after = try await RedisConnection.connect(to: configuration)
        guard case .array(let role) = try await after.send("ROLE") else { Issue.record("ROLE is not an array"); return }
        #expect(role.first?.string == "master")
        #expect(try await after.send("GET", "k").string == "before")
        #expect(cluster.replicas.map(\.port).contains(try #require(try cluster.masterPort())))
        await after.close()
    }

    /// With no sentinel answering, connecting is one line that names each sentinel and why.
    @Test func noSentinelAnsweringIsOneLine() async throws {
        let ports = try (0..<2).map { _ in try LoopbackPort.free() }
        let url = ports.map { "sentinel://127.0.0.1:\($0)" }.joined(separator: ";") + "/0?master_name=mymaster"
        let error = await #expect(throws: RedisError.self) {
            try await RedisConnection.connect(to: RedisConfiguration(url: url))
        }
        #expect(
            error?.message
                == "cannot connect to redis at the master 'mymaster': no sentinel gave its address "
                + "(127.0.0.1:\(ports[0]): cannot connect to redis at 127.0.0.1:\(ports[0]): connection refused; "
                + "127.0.0.1:\(ports[1]): cannot connect to redis at 127.0.0.1:\(ports[1]): connection refused)")
    }
}
