import Foundation
import Simul
import SimulJSON
import SimulProcessSupport
import SimulQueue
import SimulRedis
import SimulRedisBroker
import SimulRedisTestSupport
import SimulTestSupport
import Testing
import SimulRESP

/// The Redis broker when Redis misbehaves: a wrong or missing password, a restart under a client that holds, waits
/// for and receives messages, and a server that goes away for good while a client waits. Each test starts its own
/// `redis-server`; the process-level counterparts are in `scripts/faults.sh` (redis-restart) and `scripts/test.sh`.
@Suite(.timeLimit(.minutes(3)))
struct RedisBrokerFaultTests {
    static func message() -> TaskMessage { TaskMessage(task: "t.add", args: [2, 3]) }

    /// A configuration that reconnects quickly, so the tests wait for Redis, not for the backoff.
    static func quick(_ server: RedisServer) -> RedisConfiguration {
        var configuration = server.configuration
        configuration.reconnectBackoff = RedisBackoff(initial: .milliseconds(20), maximum: .milliseconds(200))
        return configuration
    }

    /// Waits until someone listens on the result channel of `id`.
    static func waitForSubscriber(of id: String, on redis: RedisConnection) async throws {
        try await waitUntil("the waiter subscribes") {
            guard
                case .array(let counts) = try await redis.send(
                    "PUBSUB", "NUMSUB", RedisArgument("celery-task-meta-\(id)"))
            else { return false }
            return counts.last?.int == 1
        }
    }

    @Test func aWrongOrMissingPasswordFailsInOneClearLine() async throws {
        let server = try await RedisServer.start(password: "secret")
        defer { server.stop() }
        let endpoint = "127.0.0.1:\(server.port)"

        let wrong = try RedisBroker(url: "redis://:wrong@\(endpoint)/0")
        let refused = QueueError.unavailable(
            "authentication to redis at \(endpoint) failed: WRONGPASS invalid username-password pair or user is disabled."
        )
        await #expect(throws: refused) { try await wrong.send([Self.message()]) }
        await #expect(throws: refused) {
            _ = try await wrong.receive(from: ["celery"], limit: 1, lease: .seconds(30), timeout: .milliseconds(10))
        }
        await wrong.close()

        let missing = try RedisBroker(url: "redis://\(endpoint)/0")
        await #expect(
            throws: QueueError.unavailable(
                "authentication to redis at \(endpoint) failed: NOAUTH Authentication required.")
        ) {
            try await missing.send([Self.message()])
        }
        await missing.close()
    }

    @Test func aRestartOfRedisLosesNothingQueuedHeldOrAwaited() async throws {
        let server = try await RedisServer.start(durable: true)
        defer { server.stop() }
        let broker = RedisBroker(configuration: Self.quick(server))
        let messages = [Self.message(), Self.message(), Self.message()]
        try await broker.send(messages)
        let held = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(60), timeout: .seconds(1))
        #expect(held.count == 1)
        let observer = try await RedisConnection.connect(to: server.configuration)
        let awaited = messages[2].id
        let waiting = Task { try await broker.waitForResult(awaited, timeout: .seconds(50)) }
        try await Self.waitForSubscriber(of: awaited, on: observer)
        await observer.close()

        server.stop()
        try server.start()

        // The broker reconnects by itself: receiving again, while it does, finds the two messages still queued.
        var received: [Delivery] = []
        try await waitUntil("the two queued messages received after the restart") {
            if let more = try? await broker.receive(
                from: ["celery"], limit: 10, lease: .seconds(60), timeout: .milliseconds(50))
            {
                received += more
            }
            return received.count >= 2
        }
        #expect(Set((held + received).map(\.tag)) == Set(messages.map(\.deliveryTag)))
        // The one held before the restart is still held, and acknowledged with the others; the waiter, subscribed
        // before the restart, hears the result stored after it.
        try await broker.commit(
            BrokerCommit(ack: (held + received).map(\.tag)),
            storing: [TaskResult(taskId: awaited, status: .success, result: 5)])
        #expect(try await waiting.value?.result == 5)
        let redis = try await RedisConnection.connect(to: server.configuration)
        #expect(try await redis.send("HLEN", "unacked").int == 0)
        #expect(try await redis.send("LLEN", "celery").int == 0)
        await redis.close()
        await broker.close()
    }

    @Test func aWaiterWhoseRedisStaysDownFailsInOneClearLine() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let broker = RedisBroker(configuration: Self.quick(server))
        let id = TaskID.make()
        let waiting = Task { try await broker.waitForResult(id, timeout: nil) }
        let observer = try await RedisConnection.connect(to: server.configuration)
        try await Self.waitForSubscriber(of: id, on: observer)
        await observer.close()

        server.stop()
        let endpoint = "127.0.0.1:\(server.port)"
        await #expect(
            throws: QueueError.unavailable(
                "lost redis at \(endpoint) while waiting for task \(id) (cannot connect to redis at \(endpoint): "
                    + "connection refused)")
        ) { _ = try await waiting.value }
        await broker.close()
    }
}
