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

/// The Redis broker against a real `redis-server` of its own per test, since kombu's keys (`unacked`, the queue
/// lists) are shared by everything on a database.
@Suite(.timeLimit(.minutes(3)))
struct RedisBrokerTests {
    /// A server, the broker on it, and a plain connection to look at the keys.
    struct Fixture {
        let server: RedisServer
        let broker: RedisBroker
        let redis: RedisConnection

        static func start() async throws -> Fixture {
            let server = try await RedisServer.start()
            let broker = try RedisBroker(url: server.url())
            return Fixture(
                server: server, broker: broker, redis: try await RedisConnection.connect(to: server.configuration))
        }

        func stop() async {
            await broker.close()
            await redis.close()
            server.stop()
        }

        func count(_ command: RedisArgument...) async throws -> Int { try await redis.send(command).int ?? -1 }
    }

    static func message(_ task: String = "t.add", args: [JSONValue] = [2, 3], priority: Int = 0) -> TaskMessage {
        var message = TaskMessage(task: task, args: args)
        message.priority = priority
        return message
    }

    /// A slot's claim and its send are one write: when the push fails (here the queue's key holds a string), the
    /// slot stays unclaimed, and the next try, once the push can succeed, claims and sends.
    @Test func aClaimWhoseSendFailsLeavesTheSlotUnclaimed() async throws {
        let fixture = try await Fixture.start()
        let slot = "tick@2026-12-07T00:00:00"
        try await fixture.redis.send("SET", "celery", "not a list")
        await #expect(throws: QueueError.self) {
            _ = try await fixture.broker.claim(slot, sending: OutgoingMessage(Self.message()))
        }
        #expect(try await fixture.count("EXISTS", RedisArgument("simul.claim.\(slot)")) == 0)
        // A plain send to that key is refused the same way, not dropped.
        let refused = await #expect(throws: QueueError.self) { try await fixture.broker.send([Self.message()]) }
        #expect("\(refused.map { "\($0)" } ?? "")".contains("WRONGTYPE"))
        try await fixture.redis.send("DEL", "celery")
        #expect(try await fixture.broker.claim(slot, sending: OutgoingMessage(Self.message())) == true)
        #expect(try await fixture.count("LLEN", "celery") == 1)
        #expect(try await fixture.broker.claim(slot, sending: OutgoingMessage(Self.message())) == false)
        #expect(try await fixture.count("LLEN", "celery") == 1)
        await fixture.stop()
    }

    @Test func sendsAndHoldsMessagesInKombusLayout() async throws {
        let fixture = try await Fixture.start()
        let message = Self.message()
        try await fixture.broker.send([message])
        #expect(try await fixture.count("LLEN", "celery") == 1)
        #expect(
            try await fixture.count("SISMEMBER", "_kombu.binding.celery", "celery\u{06}\u{16}\u{06}\u{16}celery") == 1)

        let deliveries = try await fixture.broker.receive(
            from: ["celery"], limit: 10, lease: .seconds(30), timeout: .seconds(1))
        #expect(deliveries.map(\.tag) == [message.deliveryTag])
        #expect(try MessageCodec.decode(deliveries[0].body).id == message.id)
        #expect(try await fixture.count("LLEN", "celery") == 0)
        #expect(try await fixture.count("ZCARD", "unacked_index") == 1)
        // kombu's entry: [envelope, exchange, routing key], the envelope embedded as JSON, which a Python worker
        // restores if this worker dies.
        let entry = try #require(
            try await fixture.redis.send("HGET", "unacked", RedisArgument(message.deliveryTag)).string)
        let parts = try JSONDecoder().decode(JSONValue.self, from: Data(entry.utf8)).arrayValue ?? []
        #expect(parts.count == 3 && parts[0]["headers"]?["id"] == .string(message.id) && parts[2] == "celery")

        try await fixture.broker.commit(BrokerCommit(ack: [message.deliveryTag]))
        #expect(try await fixture.count("ZCARD", "unacked_index") == 0)
        #expect(try await fixture.count("HLEN", "unacked") == 0)
        await fixture.stop()
    }

    @Test func lowerPriorityNumbersComeFirstFromTheirOwnLists() async throws {
        let fixture = try await Fixture.start()
        let low = Self.message(args: [9, 9], priority: 9)
        let high = Self.message(args: [0, 0], priority: 0)
        let middle = Self.message(args: [4, 4], priority: 4)
        try await fixture.broker.send([low, middle, high])
        #expect(try await fixture.count("LLEN", "celery\u{06}\u{16}9") == 1)
        #expect(try await fixture.count("LLEN", "celery\u{06}\u{16}3") == 1)
        let deliveries = try await fixture.broker.receive(
            from: ["celery"], limit: 3, lease: .seconds(30), timeout: .seconds(1))
        #expect(deliveries.map(\.tag) == [high.deliveryTag, middle.deliveryTag, low.deliveryTag])
        await fixture.stop()
    }

    @Test func aBlockingReceiveWakesWhenAMessageArrives() async throws {
        let fixture = try await Fixture.start()
        let message = Self.message()
        let receiving = Task {
            try await fixture.broker.receive(from: ["celery"], limit: 5, lease: .seconds(30), timeout: .seconds(20))
        }
        try await fixture.redis.send("LPUSH", "celery", RedisArgument(bytes: MessageCodec.encode(message)))
        #expect(try await receiving.value.map(\.tag) == [message.deliveryTag])
        #expect(try await fixture.count("HEXISTS", "unacked", RedisArgument(message.deliveryTag)) == 1)
        #expect(
            try await fixture.broker.receive(
                from: ["celery"], limit: 5, lease: .seconds(30), timeout: .milliseconds(50)
            ).isEmpty)
        await fixture.stop()
    }

    @Test func requeuedAndExpiredMessagesComeBackRedelivered() async throws {
        let fixture = try await Fixture.start()
        let clock = ManualClock()
        let broker = try RedisBroker(url: fixture.server.url(), clock: clock)
        let first = Self.message(args: [1, 1])
        let second = Self.message(args: [2, 2])
        try await broker.send([first, second])
        _ = try await broker.receive(from: ["celery"], limit: 2, lease: .seconds(60), timeout: .seconds(1))
        try await broker.commit(BrokerCommit(requeue: [first.deliveryTag]))
        let requeued = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(60), timeout: .seconds(1))
        #expect(requeued.map(\.tag) == [first.deliveryTag])
        #expect(try MessageCodec.decode(requeued[0].body).redelivered)
        // Neither is acknowledged or renewed: past the lease on the broker's clock, a receive puts both back and
        // takes them.
        clock.advance(by: .seconds(61))
        let back = try await broker.receive(from: ["celery"], limit: 2, lease: .seconds(60), timeout: .zero)
        #expect(Set(back.map(\.tag)) == [first.deliveryTag, second.deliveryTag])
        #expect(try back.allSatisfy { try MessageCodec.decode($0.body).redelivered })
        await broker.close()
        await fixture.stop()
    }

    /// The hold script reads a message's tag with patterns, so a broken envelope can be held under its own tag; past
    /// its lease it still goes back to its list, as it came.
    @Test func aTruncatedEnvelopeIsHeldUnderItsTagAndRestoredAsItCame() async throws {
        let fixture = try await Fixture.start()
        let broken =
            #"{"properties": {"delivery_tag": "t-1", "delivery_info": {"exchange": "", "routing_key": "celery"}}, "bo"#
        try await fixture.redis.send("LPUSH", "celery", RedisArgument(broken))
        let held = try await fixture.broker.receive(
            from: ["celery"], limit: 5, lease: .seconds(60), timeout: .seconds(1))
        #expect(held.map(\.tag) == ["t-1"])
        var back: [Delivery] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while back.isEmpty, ContinuousClock.now < deadline {
            back = try await fixture.broker.receive(
                from: ["celery"], limit: 5, lease: .seconds(1), timeout: .milliseconds(200))
        }
        #expect(back.map(\.tag) == ["t-1"])
        #expect(back.first?.body == Data(broken.utf8))
        await fixture.stop()
    }

    @Test func malformedMessagesAreHeldAndDeadLetteredWithTheirReason() async throws {
        let fixture = try await Fixture.start()
        try await fixture.redis.send("LPUSH", "celery", "{not json")
        let deliveries = try await fixture.broker.receive(
            from: ["celery"], limit: 5, lease: .seconds(30), timeout: .seconds(1))
        let delivery = try #require(deliveries.first)
        #expect(delivery.body == Data("{not json".utf8))
        #expect(try await fixture.count("HEXISTS", "unacked", RedisArgument(delivery.tag)) == 1)
        try await fixture.broker.commit(BrokerCommit(deadLetter: [(delivery, "the message is not JSON")]))
        #expect(try await fixture.count("HLEN", "unacked") == 0)
        let letters = try await fixture.broker.deadLetters(limit: 10)
        #expect(letters.map(\.reason) == ["the message is not JSON"] && letters.first?.body == Data("{not json".utf8))
        #expect(try await fixture.broker.replayDeadLetters(nil) == 1)
        #expect(try await fixture.count("LLEN", "celery") == 1)
        #expect(try await fixture.broker.deadLetters(limit: 10).isEmpty)
        await fixture.stop()
    }

    @Test func resultsAreStoredPublishedAndNeverOverwriteASuccess() async throws {
        let fixture = try await Fixture.start()
        let id = TaskID.make()
        let waiting = Task { try await fixture.broker.waitForResult(id, timeout: .seconds(20)) }
        // Store only once the waiter listens, so the result reaches it by the publish, not by its first read.
        let channel = RedisArgument("celery-task-meta-\(id)")
        let deadline = ContinuousClock.now + .seconds(20)
        while case .array(let counts) = try await fixture.redis.send("PUBSUB", "NUMSUB", channel), counts.last?.int != 1
        {
            guard ContinuousClock.now < deadline else { throw QueueError.timeout("the waiter never subscribed") }
            await Task.yield()
        }
        let other = try RedisBroker(url: fixture.server.url())
        try await other.store([TaskResult(taskId: id, status: .success, result: 5)])
        #expect(try await waiting.value?.result == 5)
        let stored = try #require(try await fixture.redis.send("GET", RedisArgument("celery-task-meta-\(id)")).string)
        #expect(stored.contains("\"status\":\"SUCCESS\""))
        #expect(try await fixture.count("TTL", RedisArgument("celery-task-meta-\(id)")) > 86_000)
        try await other.store([.failure(taskId: id, TaskError.valueError("late"))])
        #expect(try await fixture.broker.results(for: [id])[id]?.status == .success)
        #expect(try await fixture.broker.waitForResult(TaskID.make(), timeout: .milliseconds(100)) == nil)
        await other.close()
        await fixture.stop()
    }

    // MARK: Revocations

    @Test func revocationsAreAStreamReadFromACursor() async throws {
        let fixture = try await Fixture.start()
        let empty = try await fixture.broker.revocations(after: nil)
        #expect(empty.revocations.isEmpty)
        try await fixture.broker.revoke(["a", "b"], terminate: false)
        #expect(try await fixture.count("XLEN", "simul.revocations") == 2)
        let first = try await fixture.broker.revocations(after: empty.cursor)
        #expect(first.revocations.map(\.id) == ["a", "b"])
        let nothing = try await fixture.broker.revocations(after: first.cursor)
        #expect(nothing.revocations.isEmpty && nothing.cursor == first.cursor)
        try await fixture.broker.revoke(["b"], terminate: true)
        try await fixture.broker.revoke(["c"], terminate: false)
        let second = try await fixture.broker.revocations(after: first.cursor)
        #expect(second.revocations.map(\.id) == ["b", "c"])
        #expect(second.revocations.map(\.terminate) == [true, false])
        #expect(try await fixture.broker.revocations(after: second.cursor).revocations.isEmpty)
        // A reader that starts now reads every entry; the worker's revoked set merges the two for "b".
        let all = try await fixture.broker.revocations(after: nil).revocations
        #expect(all.map(\.id) == ["a", "b", "b", "c"])
        let age = try #require(all.first).at.timeIntervalSinceNow
        #expect(age < 60 && age > -60)
        #expect(try await fixture.count("TTL", "simul.revocations") > 10_000)
        await fixture.stop()
    }

    @Test func revocationsAreTrimmedToTheBoundAndTheAge() async throws {
        let fixture = try await Fixture.start()
        let broker = try RedisBroker(
            url: fixture.server.url(), revocationLimits: .init(maxCount: 3, maxAge: 10_800))
        // An entry from long ago, as a stream id is a time in ms.
        try await fixture.redis.send("XADD", "simul.revocations", "1-1", "task_id", "ancient", "terminate", "1")
        #expect(try await broker.revocations(after: nil).revocations.isEmpty)
        try await broker.revoke(["a", "b"], terminate: false)
        #expect(try await fixture.count("XLEN", "simul.revocations") == 2)
        try await broker.revoke(["c", "d"], terminate: true)
        #expect(try await fixture.count("XLEN", "simul.revocations") == 3)
        #expect(try await broker.revocations(after: nil).revocations.map(\.id) == ["b", "c", "d"])
        await broker.close()
        await fixture.stop()
    }

    @Test func aRevokeReachesARunningWorkerByBroadcast() async throws {
        let fixture = try await Fixture.start()
        let queue = QueueHarness(broker: fixture.broker) {
            $0.name = "redis@test"
            $0.pool = .async
            // It reads the stream once at start, then not for an hour: only the broadcast can tell it in time.
            $0.revocationInterval = .seconds(3_600)
        }
        let nap = try await queue.client.send("t.nap", args: [60])
        try await waitUntil("running, and subscribed to the remote-control channel (a pattern subscription)") {
            let subscribed = try await fixture.count("PUBSUB", "NUMPAT") >= 1
            return queue.worker.stats.active == 1 && subscribed
        }
        try await queue.client.revoke([nap.id], terminate: true)
        let error = await #expect(throws: TaskError.self) { try await nap.get(timeout: .seconds(20)) }
        #expect(error?.type == "TaskRevokedError" && error?.message == "terminated")
        try await queue.stop()
        await fixture.stop()
    }

    @Test func aWorkerRunsChainsChordsAndFailuresOverRedis() async throws {
        let fixture = try await Fixture.start()
        let queue = QueueHarness(broker: fixture.broker) { $0.name = "redis@test" }
        let client = queue.client

        #expect(try await client.send("t.add", args: [2, 3]).get(timeout: .seconds(20)) == 5)
        let chain = try await client.chain([
            Signature("t.add", args: [1, 2]), Signature("t.mul", args: [10]), Signature("t.add", args: [5]),
        ])
        #expect(try await chain.get(timeout: .seconds(20)) == 35)
        let chord = try await client.chord(
            (1...5).map { Signature("t.add", args: [.integer(Int64($0)), .integer(Int64($0))]) },
            body: Signature("t.xsum"))
        #expect(try await chord.get(timeout: .seconds(20)) == 30)
        let failure = try await client.send("t.fail", args: ["boom"])
        let error = await #expect(throws: TaskError.self) { try await failure.get(timeout: .seconds(20)) }
        #expect(error?.type == "ValueError" && error?.message == "boom")
        let stored = try #require(
            try await fixture.redis.send("GET", RedisArgument("celery-task-meta-\(failure.id)")).string)
        #expect(stored.contains("\"exc_type\":\"ValueError\"") && stored.contains("\"exc_module\":\"builtins\""))

        try await queue.stop()
        #expect(try await fixture.count("HLEN", "unacked") == 0)
        await fixture.stop()
    }

    /// With kombu's `global_keyprefix`, every key the broker writes (queues, bindings, unacked, results, chords,
    /// Simul's own) and every channel begins with it, result keys with Celery's form of it; an application without
    /// the prefix on the same database sees none of it.
    @Test func aGlobalKeyPrefixNamesEveryKeyAndChannel() async throws {
        let fixture = try await Fixture.start()
        let prefixed = try RedisBroker(url: fixture.server.url() + "?global_keyprefix=app1")
        let queue = QueueHarness(broker: prefixed) { $0.name = "prefixed@test" }
        let sum = try await queue.client.send("t.add", args: [2, 3])
        #expect(try await sum.get(timeout: .seconds(20)) == 5)
        let chord = try await queue.client.chord(
            (1...3).map { Signature("t.add", args: [.integer(Int64($0)), 0]) }, body: Signature("t.xsum"))
        #expect(try await chord.get(timeout: .seconds(20)) == 6)
        try await queue.client.revoke([TaskID.make()], terminate: false)
        _ = try await prefixed.purge(queue: "celery")
        try await queue.stop()

        guard case .array(let names) = try await fixture.redis.send("KEYS", "*") else {
            Issue.record("KEYS did not answer a list")
            return
        }
        let keys = names.compactMap(\.string)
        #expect(keys.contains("app1_kombu.binding.celery"))
        #expect(keys.contains("app1_celery-task-meta-\(sum.id)"))
        #expect(keys.contains("app1simul.revocations"))
        #expect(keys.allSatisfy { $0.hasPrefix("app1") }, "\(keys.sorted())")
        #expect(try await fixture.broker.queueLengths().isEmpty)
        #expect(try await fixture.broker.results(for: [sum.id]).isEmpty)
        await prefixed.close()
        await fixture.stop()
    }

    @Test func aWorkerAnswersRemoteControlAsCeleryDoes() async throws {
        let fixture = try await Fixture.start()
        let queue = QueueHarness(broker: fixture.broker) { $0.name = "redis@test" }
        // What `app.control.ping()` does: bind a reply queue, publish the request, pop the reply.
        try await fixture.redis.send(
            "SADD", "_kombu.binding.reply.celery.pidbox", "client-1\u{06}\u{16}\u{06}\u{16}client-1.reply.celery.pidbox"
        )
        let request: JSONValue = [
            "method": "ping", "arguments": [:], "destination": ["redis@test"], "ticket": "ticket-1",
            "reply_to": ["exchange": "reply.celery.pidbox", "routing_key": "client-1"],
        ]
        let envelope: JSONValue = [
            "body": .string(Data(request.jsonBytes).base64EncodedString()), "content-type": "application/json",
            "content-encoding": "utf-8",
            "headers": ["clock": 1, "expires": .number(Date().timeIntervalSince1970 + 30)],
            "properties": [
                "body_encoding": "base64", "delivery_tag": "t-1",
                "delivery_info": ["exchange": "celery.pidbox", "routing_key": ""],
            ],
        ]
        var reply: RESPValue = .null
        let deadline = ContinuousClock.now + .seconds(20)
        while reply == .null, ContinuousClock.now < deadline {
            try await fixture.redis.send("PUBLISH", "/0.celery.pidbox", RedisArgument(envelope.jsonText))
            reply = try await fixture.redis.send(
                ["BRPOP", "client-1.reply.celery.pidbox", "0.5"], timeout: .seconds(5))
        }
        guard case .array(let pair) = reply, let text = pair.last?.string else {
            Issue.record("no reply to ping")
            return
        }
        let answer = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        let body = try JSONDecoder().decode(
            JSONValue.self, from: try #require(Data(base64Encoded: answer["body"]?.stringValue ?? "")))
        #expect(body == ["redis@test": ["ok": "pong"]])
        #expect(answer["headers"]?["ticket"] == "ticket-1")
        #expect(answer["properties"]?["delivery_tag"]?.stringValue != nil)
        try await queue.stop()
        await fixture.stop()
    }

    @Test func workerEventsArePublishedOnCeleryevForMonitors() async throws {
        let fixture = try await Fixture.start()
        let queue = QueueHarness(broker: fixture.broker) {
            $0.name = "redis@test"
            $0.heartbeatInterval = .milliseconds(500)
        }
        let monitor = try RedisBroker(url: fixture.server.url())
        // The worker publishes worker-online once it has started, which a loaded machine may delay.
        try await waitUntil("the monitor sees redis@test") {
            try await ClusterState.load(from: monitor).workers["redis@test"] != nil
        }
        let seen = try #require(try await ClusterState.load(from: monitor).workers["redis@test"])
        #expect(seen.fields["sw_ident"] == "simul" && seen.fields["freq"] == 0.5 && !seen.offline)
        try await queue.stop()
        await monitor.close()
        await fixture.stop()
    }

    @Test(arguments: ["redis://", "redis://h:0", "foo://x"])
    func badURLsAreOneClearError(url: String) throws {
        #expect(throws: QueueError.self) { try RedisBroker(url: url) }
    }
}
