import Foundation
import SimulJSON
import SimulProcessSupport
import SimulQueue
import SimulQueueTestSupport
import SimulRedis
import SimulRedisBroker
import SimulRedisTestSupport
import SimulTestSupport
import Testing
import SimulRESP

/// Every remote-control command a Celery worker answers, asked of a Swift worker over a real `redis-server` through
/// the broker's client side (kombu's pidbox protocol), with the shapes of `research/celery-control.md` §2.
@Suite(.timeLimit(.minutes(2)))
struct RedisRemoteControlTests {
    static let node = "control@test"

    /// A server, a worker on it, and a second broker that asks, as `celery inspect` would from another process.
    struct Fixture {
        let server: RedisServer
        let broker: RedisBroker
        let asker: RedisBroker
        let queue: QueueHarness

        static func start(configure: (inout WorkerConfiguration) -> Void = { _ in }) async throws -> Fixture {
            let server = try await RedisServer.start()
            let broker = try RedisBroker(url: server.url())
            let asker = try RedisBroker(url: server.url())
            let queue = QueueHarness(broker: broker) {
                $0.name = RedisRemoteControlTests.node
                $0.maxConcurrency = 8
                configure(&$0)
            }
            let fixture = Fixture(server: server, broker: broker, asker: asker, queue: queue)
            // The worker subscribes to the pidbox as it starts: ask until it answers.
            try await waitUntil("the worker answers ping") {
                try await fixture.ask("ping", timeout: .seconds(1)) != nil
            }
            return fixture
        }

        /// The worker's answer to `method`, or `nil` if it gave none.
        func ask(
            _ method: String, _ arguments: [String: JSONValue] = [:], timeout: Duration = .seconds(5)
        ) async throws -> JSONValue? {
            let answers = try await asker.broadcast(
                method, arguments: arguments, destination: [RedisRemoteControlTests.node], reply: true,
                timeout: timeout, limit: nil)
            #expect(answers.allSatisfy { $0.node == RedisRemoteControlTests.node })
            return answers.first?.reply
        }

        func stop() async throws {
            try await queue.stop()
            await asker.close()
            await broker.close()
            server.stop()
        }
    }

    @Test func inspectCommandsAnswerInCelerysShapes() async throws {
        let fixture = try await Fixture.start()
        #expect(try await fixture.ask("ping") == ["ok": "pong"])

        let stats = try #require(try await fixture.ask("stats"))
        // Flower requires `broker` and `total` to be objects; `clock` is a string, as Celery sends it.
        #expect(stats["broker"]?["transport"] == "redis" && stats["broker"]?["port"]?.intValue != nil)
        #expect(stats["total"]?.objectValue != nil)
        #expect(stats["clock"]?.stringValue != nil && stats["pid"]?.intValue == Int(getpid()))
        #expect(stats["pool"]?["max-concurrency"] == 4 && stats["prefetch_count"] == 16)
        #expect(stats["rusage"]?["maxrss"]?.intValue != nil && stats["uptime"]?.intValue != nil)

        let first = try #require(try await fixture.ask("clock")?["clock"]?.intValue)
        let second = try #require(try await fixture.ask("clock")?["clock"]?.intValue)
        #expect(second > first)
        #expect(try await fixture.ask("report")?["ok"]?.stringValue?.contains("software -> simul:") == true)
        #expect(try await fixture.ask("conf", ["with_defaults": false])?["worker_concurrency"] == 4)

        // A task held for its ETA is scheduled, and query_task finds it there.
        let later = try await fixture.queue.client.send(
            "t.add", args: [1, 2], options: SendOptions(countdown: 3600))
        try await waitUntil("the ETA task is held") { try await fixture.ask("scheduled")?.arrayValue?.count == 1 }
        let scheduled = try #require(try await fixture.ask("scheduled")?.arrayValue?.first)
        #expect(scheduled["priority"] == 6 && scheduled["eta"]?.stringValue?.hasSuffix("+00:00") == true)
        #expect(scheduled["request"]?["id"] == .string(later.id) && scheduled["request"]?["acknowledged"] == false)
        let found = try await fixture.ask("query_task", ["ids": [.string(later.id), "no-such-id"]])
        #expect(found?.objectValue?.keys.sorted() == [later.id])
        #expect(found?[later.id]?.arrayValue?.first == "scheduled")
        #expect(try await fixture.ask("reserved") == [])

        // A running task is active, with its arguments as Python's repr when `safe` is asked.
        let gated = try await fixture.queue.client.send("t.gated", args: ["inspect-active", 7])
        try await waitUntil("the gated task runs") { try await fixture.ask("active")?.arrayValue?.count == 1 }
        let active = try #require(try await fixture.ask("active", ["safe": true])?.arrayValue?.first)
        #expect(active["id"] == .string(gated.id) && active["args"] == "('inspect-active', 7)")
        #expect(active["acknowledged"] == true && active["hostname"] == .string(Self.node))
        #expect(active["time_start"]?.doubleValue != nil && active["worker_pid"]?.intValue != nil)
        let activeState = try await fixture.ask("query_task", ["ids": .string(gated.id)])?[gated.id]?.arrayValue?.first
        #expect(activeState == "active")
        Gates.shared.open("inspect-active")
        #expect(try await gated.get(timeout: .seconds(20)) == 7)
        #expect(try await fixture.ask("stats")?["total"]?["t.gated"] == 1)

        let registered = try #require(try await fixture.ask("registered", ["taskinfoitems": []])?.arrayValue)
        #expect(registered.contains("t.add") && registered.contains("t.record [rate_limit=20/s]"))
        #expect(
            try await fixture.ask("registered", ["taskinfoitems": ["name"]])?.arrayValue?.contains(
                "t.add [name=t.add]") == true)

        let queues = try #require(try await fixture.ask("active_queues")?.arrayValue)
        #expect(queues.count == 1 && queues[0]["name"] == "celery" && queues[0]["exchange"]?["type"] == "direct")
        #expect(queues[0]["routing_key"] == "celery" && queues[0]["durable"] == true && queues[0]["no_ack"] == false)

        // hello (mingle): the sender's revocations are merged, in either format, and ours come back.
        let hello = try #require(try await fixture.ask("hello", ["from_node": "other@host", "revoked": ["r-1"]]))
        #expect(hello["revoked"] == ["r-1"] && hello["clock"]?.intValue != nil)
        let old = try await fixture.ask("hello", ["from_node": "old@host", "revoked": ["r-2": [1.5, "r-2"]]])
        #expect(old?["revoked"] == ["r-1", "r-2"])
        #expect(try await fixture.ask("hello", ["from_node": .string(Self.node), "revoked": []]) == .null)
        #expect(try await fixture.ask("revoked") == ["r-1", "r-2"])
        try await fixture.stop()
    }

    @Test func controlCommandsChangeTheRunningWorker() async throws {
        let fixture = try await Fixture.start()
        // Rate limits: Celery's replies, and the new limit is what the worker runs with.
        #expect(
            try await fixture.ask("rate_limit", ["task_name": "no.such", "rate_limit": "1/s"]) == [
                "error": "unknown task"
            ])
        #expect(
            try await fixture.ask("rate_limit", ["task_name": "t.add", "rate_limit": "x/y"]) == [
                "error": "Invalid rate limit string: 'x/y'"
            ])
        #expect(
            try await fixture.ask("rate_limit", ["task_name": "t.add", "rate_limit": "10/m"]) == [
                "ok": "new rate limit set successfully"
            ])
        #expect(try await fixture.ask("registered")?.arrayValue?.contains("t.add [rate_limit=10/m]") == true)
        #expect(
            try await fixture.ask("rate_limit", ["task_name": "t.record", "rate_limit": "0"]) == [
                "ok": "rate limit disabled successfully"
            ])
        #expect(try await fixture.ask("registered")?.arrayValue?.contains("t.record") == true)

        #expect(
            try await fixture.ask("time_limit", ["task_name": "t.add", "soft": 10, "hard": 20]) == [
                "ok": "time limits set successfully"
            ])
        #expect(try await fixture.ask("time_limit", ["task_name": "nope", "soft": 1]) == ["error": "unknown task"])
        #expect(
            try await fixture.ask("registered", ["taskinfoitems": ["time_limit", "soft_time_limit"]])?.arrayValue?
                .contains("t.add [time_limit=20.0 soft_time_limit=10.0]") == true)

        // Pool size: grow and shrink change concurrency and prefetch; autoscale is Celery's "not enabled".
        #expect(try await fixture.ask("pool_grow", ["n": "2"]) == ["ok": "pool will grow"])
        #expect(try await fixture.ask("stats")?["pool"]?["max-concurrency"] == 6)
        #expect(try await fixture.ask("stats")?["prefetch_count"] == 24)
        #expect(try await fixture.ask("pool_shrink", ["n": 3]) == ["ok": "pool will shrink"])
        #expect(try await fixture.ask("stats")?["pool"]?["max-concurrency"] == 3)
        #expect(try await fixture.ask("pool_grow", ["n": 100])?["error"] != nil)
        #expect(try await fixture.ask("pool_grow", ["n": "abc"])?["error"] != nil)
        #expect(
            try await fixture.ask("autoscale", ["max": 4, "min": 1]) == ["error": "ValueError('Autoscale not enabled')"]
        )

        // Consumers: a queue added is consumed from at once, and listed.
        #expect(try await fixture.ask("add_consumer", ["queue": "extra"]) == ["ok": "add consumer extra"])
        #expect(try await fixture.ask("add_consumer", ["queue": "extra"]) == ["ok": "add consumer extra"])
        #expect(try await fixture.ask("active_queues")?.arrayValue?.compactMap { $0["name"] } == ["celery", "extra"])
        let routed = try await fixture.queue.client.send("t.add", args: [20, 22], options: SendOptions(queue: "extra"))
        #expect(try await routed.get(timeout: .seconds(20)) == 42)
        #expect(
            try await fixture.ask("cancel_consumer", ["queue": "extra"]) == ["ok": "no longer consuming from extra"])
        #expect(try await fixture.ask("active_queues")?.arrayValue?.count == 1)

        #expect(try await fixture.ask("disable_events") == ["ok": "task events disabled"])
        #expect(try await fixture.ask("disable_events") == ["ok": "task events already disabled"])
        #expect(try await fixture.ask("enable_events") == ["ok": "task events enabled"])
        #expect(try await fixture.ask("enable_events") == ["ok": "task events already enabled"])
        #expect(try await fixture.ask("heartbeat") == .null)
        #expect(try await fixture.ask("no_such_thing") == ["error": "KeyError('no_such_thing')"])

        // Revoke: a waiting id is flagged; a running one stops with terminate.
        #expect(
            try await fixture.ask("revoke", ["task_id": "r-1"]) == ["ok": "tasks {'r-1'} flagged as revoked"])
        // As on Celery 5.7, a revoked id that is still PENDING is stored REVOKED at once; a ready one is left alone.
        try await waitUntil("r-1 is stored REVOKED") {
            try await fixture.queue.client.result("r-1").state() == .revoked
        }
        let done = try await fixture.queue.client.send("t.add", args: [1, 1])
        #expect(try await done.get(timeout: .seconds(20)) == 2)
        _ = try await fixture.ask("revoke", ["task_id": .string(done.id)])
        #expect(try await fixture.ask("revoked")?.arrayValue?.contains(.string(done.id)) == true)
        #expect(try await done.state() == .success)
        let running = try await fixture.queue.client.send("t.gated", args: ["never-opened", 1])
        try await waitUntil("the gated task runs") { try await fixture.ask("active")?.arrayValue?.count == 1 }
        #expect(
            try await fixture.ask("revoke", ["task_id": "r-2", "terminate": 1, "signal": "SIGTERM"]) == [
                "ok": "terminate: tasks unknown"
            ])
        #expect(
            try await fixture.ask("revoke", ["task_id": [.string(running.id)], "terminate": true, "signal": "KILL"])
                == ["ok": .string("terminate: \(running.id)")])
        try await waitUntil("the task is revoked") { try await running.state() == .revoked }
        #expect(
            try await fixture.ask("revoke", ["task_id": "r-3", "terminate": true, "signal": "SIGNOPE"]) == [
                "error": "unknown signal name 'SIGNOPE'"
            ])
        try await fixture.stop()
    }

    @Test func otherNodesCommandsAndBadMessagesAreIgnoredAndTheWorkerGoesOn() async throws {
        let fixture = try await Fixture.start()
        let elsewhere = try await fixture.asker.broadcast(
            "ping", arguments: [:], destination: ["other@host"], reply: true, timeout: .milliseconds(500), limit: nil)
        #expect(elsewhere.isEmpty)
        let everyone = try await fixture.asker.broadcast(
            "ping", arguments: [:], destination: nil, reply: true, timeout: .milliseconds(500), limit: nil)
        #expect(everyone == [ControlAnswer(node: Self.node, reply: ["ok": "pong"])])
        // Not an envelope, a body that is not an object, arguments that are not an object: logged and ignored.
        let redis = try await RedisConnection.connect(to: fixture.server.configuration)
        for payload in [
            "not json",
            #"{"body": "WzEsIDJd", "properties": {"body_encoding": "base64"}}"#,
            #"{"body": "eyJtZXRob2QiOiAicGluZyIsICJhcmd1bWVudHMiOiA1fQ==", "properties": {"body_encoding": "base64"}}"#,
        ] {
            try await redis.send("PUBLISH", "/0.celery.pidbox", RedisArgument(payload))
        }
        await redis.close()
        #expect(try await fixture.ask("ping") == ["ok": "pong"])
        try await fixture.stop()
    }

    @Test func shutdownStopsTheWorkerWithoutAnAnswer() async throws {
        let fixture = try await Fixture.start()
        #expect(try await fixture.ask("shutdown", timeout: .milliseconds(500)) == nil)
        try await fixture.queue.finished()
        await fixture.asker.close()
        await fixture.broker.close()
        fixture.server.stop()
    }

    /// Mingle: a starting worker asks the running ones for their revocations. The first worker learned of a
    /// revocation only from a Python worker's `hello` (in memory, not in the broker); the second one, started after,
    /// knows it from its own mingle.
    @Test func aStartingWorkerMergesTheRevocationsOthersHold() async throws {
        let fixture = try await Fixture.start()
        let revoked = TaskID.make()
        let greeting = try await fixture.ask("hello", ["from_node": "py@elsewhere", "revoked": [.string(revoked)]])
        #expect(greeting?["revoked"]?.arrayValue?.contains(.string(revoked)) == true)
        let second = QueueHarness(broker: try RedisBroker(url: fixture.server.url())) { $0.name = "second@test" }
        let answers = try await waitUntilAnswer(from: "second@test", asker: fixture.asker)
        #expect(answers.contains(.string(revoked)), "\(answers)")
        try await second.stop()
        try await fixture.stop()
    }

    /// The `revoked` list `node` answers with, once it answers.
    private func waitUntilAnswer(from node: String, asker: RedisBroker) async throws -> [JSONValue] {
        var revoked: [JSONValue]?
        try await waitUntil("\(node) answers") {
            let answers = try await asker.broadcast(
                "revoked", arguments: [:], destination: [node], reply: true, timeout: .seconds(1), limit: nil)
            revoked = answers.first?.reply.arrayValue
            return revoked != nil
        }
        return revoked ?? []
    }

    @Test func theSoloPoolRefusesToResize() async throws {
        let fixture = try await Fixture.start { $0.pool = .solo }
        #expect(
            try await fixture.ask("pool_grow", ["n": 1]) == [
                "error": "the solo pool runs one task at a time; it cannot grow"
            ])
        #expect(try await fixture.ask("stats")?["pool"]?["max-concurrency"] == 1)
        try await fixture.stop()
    }
}
