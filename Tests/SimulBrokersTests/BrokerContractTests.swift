import Foundation
import SimulBrokers
import SimulJSON
import SimulProcessSupport
import SimulQueue
import SimulRedisBroker
import SimulRedisTestSupport
import SimulTestSupport
import Synchronization
import Testing

/// What every broker promises, stated once and run against every kind of store, as River's driver contract runs one
/// shared suite against every database driver.
///
/// Each test takes a ``BrokerKind`` and opens a fresh store of that kind, opened the way users open one: through
/// ``QueueConnection``'s URL factory. A broker that lands later joins by adding its case to ``BrokerKind``; the
/// compiler then asks how to open it and which promises do not apply to it.
///
/// Tests of leases and ETAs open their store on a ``ManualClock`` and move it: a lease runs out, or an ETA comes,
/// when the test says so. Other waits are for a condition, with a generous safety timeout; no test sleeps, and none
/// asserts how long anything took.
@Suite(.timeLimit(.minutes(3)))
struct BrokerContractTests {
    /// A lease that tests run out by moving the clock.
    static let shortLease = Duration.seconds(10)
    /// A lease that no test outlives.
    static let longLease = Duration.seconds(60)

    // MARK: Delivery

    /// At least once, first half: what is sent is received, once, as it was sent, including the times the worker
    /// acts on (a message's expiry is the worker's to enforce: brokers deliver an expired message, and the worker
    /// marks it REVOKED).
    @Test(arguments: BrokerKind.allCases)
    func whatIsSentIsReceivedAsSent(kind: BrokerKind) async throws {
        try await kind.withStore { store in
            var first = Self.message("t.add", args: [2, 3])
            first.kwargs = ["note": "contract"]
            first.expires = Date(timeIntervalSince1970: 4_102_444_800)
            let second = Self.message("t.mul", args: [4, 5], queue: "other")
            try await store.broker.send([first, second])

            let deliveries = try await Self.receive(2, from: store.broker, queues: ["celery", "other"])
            #expect(Set(deliveries.map(\.tag)) == [first.deliveryTag, second.deliveryTag])
            for delivery in deliveries {
                let sent = try #require([first, second].first { $0.deliveryTag == delivery.tag })
                let received = try MessageCodec.decode(delivery.body)
                #expect(delivery.queue == sent.queue)
                #expect(try !Self.isRedelivered(delivery))
                #expect(received.id == sent.id && received.task == sent.task && received.queue == sent.queue)
                #expect(received.args == sent.args && received.kwargs == sent.kwargs)
                #expect(received.expires == sent.expires && received.eta == nil)
            }
            try await store.broker.commit(BrokerCommit(ack: deliveries.map(\.tag)))
        }
    }

    /// A receive that finds no message waits for one: a message sent while it waits is what it returns.
    @Test(arguments: BrokerKind.allCases)
    func aWaitingReceiveGetsAMessageSentMeanwhile(kind: BrokerKind) async throws {
        try await kind.withStore { store in
            let broker = store.broker
            let waiting = Task {
                try await broker.receive(from: ["celery"], limit: 5, lease: Self.longLease, timeout: .seconds(20))
            }
            let message = Self.message()
            try await broker.send([message])
            #expect(try await waiting.value.map(\.tag) == [message.deliveryTag])
        }
    }

    /// Queue lengths count the messages waiting in each queue, not those leased to a worker; purging a queue
    /// deletes its waiting messages and leaves leased ones, and other queues, alone.
    @Test(arguments: BrokerKind.allCases)
    func purgeDeletesTheWaitingMessagesOfOneQueue(kind: BrokerKind) async throws {
        try await kind.withStore { store in
            let leased = Self.message()
            try await Self.sendAndLease([leased], from: store.broker)
            try await store.broker.send([Self.message(), Self.message(), Self.message(queue: "other")])
            let lengths = try await store.broker.require(.queueAdministration).queueLengths()
            #expect(lengths["celery"] == 2 && lengths["other"] == 1)

            #expect(try await store.broker.require(.queueAdministration).purge(queue: "celery") == 2)
            let after = try await store.broker.require(.queueAdministration).queueLengths()
            #expect(after["celery", default: 0] == 0 && after["other"] == 1)
            try await store.broker.commit(BrokerCommit(ack: [leased.deliveryTag]))
            #expect(try await Self.receive(1, from: store.broker, queues: ["celery", "other"]).count == 1)
        }
    }

    /// A queue's backlog is its waiting messages, as queue lengths count them, and since when the oldest has waited:
    /// its `simul_sent_at`, the send time that Simul's senders write. A message without one (a Python client's) is
    /// dated by the broker, never later than when the broker first reported it, and keeps that date while it waits,
    /// so its age grows. A message that a broker holds until its ETA waits from then; on Redis, where the worker holds
    /// it, from its send time.
    @Test(arguments: BrokerKind.allCases)
    func backlogsCountTheWaitingMessagesAndDateTheOldest(kind: BrokerKind) async throws {
        let clock = ManualClock()
        try await kind.withStore(on: clock) { store in
            let administration = try store.broker.require(.queueAdministration)
            let start = clock.now
            var first = Self.message()
            first.sentAt = start
            try await store.broker.send([first])
            clock.advance(by: .seconds(5))
            var second = Self.message()
            second.sentAt = clock.now
            try await store.broker.send([second])
            clock.advance(by: .seconds(5))
            #expect(
                try await administration.backlogs(of: ["celery", "empty"])
                    == ["celery": QueueBacklog(length: 2, oldestSince: start), "empty": .empty])

            let leased = try await Self.receive(1, from: store.broker, lease: Self.longLease)
            #expect(leased.map(\.tag) == [first.deliveryTag])
            #expect(
                try await administration.backlogs(of: ["celery"])
                    == ["celery": QueueBacklog(length: 1, oldestSince: start.addingTimeInterval(5))])
            try await store.broker.commit(BrokerCommit(ack: leased.map(\.tag)))
            try await store.broker.commit(
                BrokerCommit(ack: try await Self.receive(1, from: store.broker, lease: Self.longLease).map(\.tag)))
            #expect(try await administration.backlogs(of: ["celery"]) == ["celery": .empty])

            let sentAt = clock.now
            try await store.broker.send([Self.message()])
            clock.advance(by: .seconds(5))
            let dated = try #require(try await administration.backlogs(of: ["celery"])["celery"]?.oldestSince)
            #expect(dated >= sentAt && dated <= clock.now)
            clock.advance(by: .seconds(5))
            #expect(
                try await administration.backlogs(of: ["celery"])
                    == ["celery": QueueBacklog(length: 1, oldestSince: dated)])

            var later = Self.message(queue: "later")
            later.sentAt = clock.now
            later.eta = clock.now.addingTimeInterval(60)
            try await store.broker.send([later])
            let waiting = kind.holdsETA ? nil : clock.now
            #expect(
                try await administration.backlogs(of: ["later"])
                    == ["later": QueueBacklog(length: 1, oldestSince: waiting)])
            clock.advance(by: .seconds(61))
            #expect(
                try await administration.backlogs(of: ["later"])
                    == ["later": QueueBacklog(length: 1, oldestSince: waiting ?? later.eta)])
        }
    }

    /// At least once, second half: a message received and neither acknowledged nor renewed goes back when its lease
    /// runs out, marked redelivered.
    ///
    /// Redis judges a lease by the receiving worker's lease, as kombu's visibility timeout does, so every receive
    /// here asks for the same short lease.
    @Test(arguments: BrokerKind.allCases)
    func aMessageWhoseLeaseRunsOutIsDeliveredAgain(kind: BrokerKind) async throws {
        let clock = ManualClock()
        try await kind.withStore(on: clock) { store in
            let message = Self.message()
            try await store.broker.send([message])
            let first = try await Self.receive(1, from: store.broker, lease: Self.shortLease)
            #expect(try first.map(Self.isRedelivered) == [false])

            clock.advance(by: Self.shortLease - .seconds(1))
            #expect(try await Self.receiveNow(from: store.broker).isEmpty)
            // Past the lease by more than Redis's pause between two looks for lapsed leases (half a lease).
            clock.advance(by: Self.shortLease)
            let again = try await Self.receiveNow(from: store.broker)
            #expect(again.map(\.tag) == [message.deliveryTag])
            #expect(try again.map { try MessageCodec.decode($0.body).id } == [message.id])
            #expect(try again.map(Self.isRedelivered) == [true])
        }
    }

    /// A broker counts the leases on a message that ran out (each time, a worker took it and never finished it), and
    /// not the times it was given back on purpose: what lets a worker stop a task that kills every worker.
    @Test(arguments: BrokerKind.allCases)
    func lapsedLeasesAreCountedAndGivingBackIsNot(kind: BrokerKind) async throws {
        let clock = ManualClock()
        try await kind.withStore(on: clock) { store in
            try await store.broker.send([Self.message()])
            var delivery = try #require(try await Self.receive(1, from: store.broker, lease: Self.shortLease).first)
            #expect(try Self.lapsedLeases(delivery) == 0)
            for lapses in 1...2 {
                clock.advance(by: Self.shortLease * 2)
                delivery = try #require(try await Self.receiveNow(from: store.broker).first)
                #expect(try Self.lapsedLeases(delivery) == lapses)
            }
            try await store.broker.commit(BrokerCommit(requeue: [delivery.tag]))
            delivery = try #require(try await Self.receive(1, from: store.broker, lease: Self.shortLease).first)
            #expect(try Self.lapsedLeases(delivery) == 2)
            #expect(try Self.isRedelivered(delivery))
            try await store.broker.commit(BrokerCommit(ack: [delivery.tag]))
        }
    }

    /// Renewing a lease keeps the message with its worker for another lease from the renewal: of two messages
    /// leased together, the one renewed halfway stays away when the other comes back, and comes back itself a lease
    /// after its renewal.
    @Test(arguments: BrokerKind.allCases)
    func renewingALeaseKeepsTheMessage(kind: BrokerKind) async throws {
        let clock = ManualClock()
        try await kind.withStore(on: clock) { store in
            let (kept, witness) = (Self.message(args: [1, 1]), Self.message(args: [2, 2]))
            try await Self.sendAndLease([kept, witness], from: store.broker, for: Self.shortLease)

            clock.advance(by: Self.shortLease / 2)
            try await store.broker.renew([kept.deliveryTag], lease: Self.shortLease)
            clock.advance(by: Self.shortLease / 2)
            let back = try await Self.receiveNow(from: store.broker)
            #expect(back.map(\.tag) == [witness.deliveryTag])
            #expect(try back.map(Self.isRedelivered) == [true])

            clock.advance(by: Self.shortLease / 2)
            let renewedBack = try await Self.receiveNow(from: store.broker)
            #expect(renewedBack.map(\.tag) == [kept.deliveryTag])
        }
    }

    /// Acknowledging is idempotent: acknowledging a message twice, or a tag the broker never had, is harmless, and
    /// an acknowledged message never comes back (it was leased together with a witness that did come back).
    @Test(arguments: BrokerKind.allCases)
    func acknowledgingTwiceIsHarmless(kind: BrokerKind) async throws {
        let clock = ManualClock()
        try await kind.withStore(on: clock) { store in
            let (acked, witness) = (Self.message(args: [1, 1]), Self.message(args: [2, 2]))
            try await Self.sendAndLease([acked, witness], from: store.broker, for: Self.shortLease)

            try await store.broker.commit(BrokerCommit(ack: [acked.deliveryTag]))
            try await store.broker.commit(BrokerCommit(ack: [acked.deliveryTag, acked.deliveryTag, "no-such-tag"]))
            clock.advance(by: Self.shortLease)
            let back = try await Self.receiveNow(from: store.broker)
            #expect(back.map(\.tag) == [witness.deliveryTag])
        }
    }

    /// A requeued message goes back to its queue at once, long before its lease would run out, and is received
    /// again, marked redelivered.
    @Test(arguments: BrokerKind.allCases)
    func aRequeuedMessageIsReceivedAgain(kind: BrokerKind) async throws {
        try await kind.withStore { store in
            let message = Self.message()
            try await Self.sendAndLease([message], from: store.broker)
            try await store.broker.commit(BrokerCommit(requeue: [message.deliveryTag]))

            let again = try await Self.receive(1, from: store.broker)
            #expect(again.map(\.tag) == [message.deliveryTag])
            #expect(try again.map(Self.isRedelivered) == [true])
        }
    }

    /// A rejected message becomes a dead letter that keeps its queue, its body and the reason; replaying sends it
    /// back to its queue.
    @Test(arguments: BrokerKind.allCases)
    func aRejectedMessageIsDeadLetteredWithItsReasonAndReplayed(kind: BrokerKind) async throws {
        try await kind.withStore { store in
            let message = Self.message("t.missing")
            try await store.broker.send([message])
            let delivery = try #require(try await Self.receive(1, from: store.broker).first)
            let reason = "the task 't.missing' is not registered — “unknown task”"
            try await store.broker.commit(BrokerCommit(deadLetter: [(delivery: delivery, reason: reason)]))

            let letters = try await store.broker.require(.deadLetters).deadLetters(limit: 10)
            #expect(letters.map(\.reason) == [reason])
            #expect(letters.map(\.queue) == ["celery"])
            #expect(try letters.map { try MessageCodec.decode($0.body).id } == [message.id])

            #expect(try await store.broker.require(.deadLetters).replayDeadLetters(nil) == 1)
            #expect(try await store.broker.require(.deadLetters).deadLetters(limit: 10).isEmpty)
            let replayed = try await Self.receive(1, from: store.broker)
            #expect(try replayed.map { try MessageCodec.decode($0.body).id } == [message.id])
        }
    }

    /// Lower priority numbers come first (0 first, as on Celery's Redis transport), then older messages. Redis
    /// keeps one list per step of 0, 3, 6 and 9, so the priorities here are a step apart.
    @Test(arguments: BrokerKind.allCases)
    func lowerPriorityNumbersComeFirstThenOlderMessages(kind: BrokerKind) async throws {
        try await kind.withStore { store in
            let last = Self.message(args: [9], priority: 9)
            let third = Self.message(args: [5], priority: 5)
            let first = Self.message(args: [0], priority: 0)
            let second = Self.message(args: [0], priority: 0)
            try await store.broker.send([last, third, first])
            try await store.broker.send([second])

            let deliveries = try await Self.receive(4, from: store.broker)
            #expect(deliveries.map(\.tag) == [first, second, third, last].map(\.deliveryTag))
        }
    }

    /// A message with an ETA is not delivered before it: brokers that hold ETAs (``BrokerKind/holdsETA``) deliver it
    /// once it is due and never before. Redis, as kombu, delivers it at once with its ETA intact, and the worker
    /// holds it, renewing its lease, until it is due.
    @Test(arguments: BrokerKind.allCases)
    func aMessageWithAnETAIsNotDeliveredBeforeIt(kind: BrokerKind) async throws {
        let clock = ManualClock()
        try await kind.withStore(on: clock) { store in
            let due = Self.message(args: [0])
            var soon = Self.message(args: [1])
            soon.eta = clock.now.addingTimeInterval(1)
            var later = Self.message(args: [2])
            later.eta = clock.now.addingTimeInterval(3_600)
            try await store.broker.send([later, soon, due])

            let first = try await Self.receive(kind.holdsETA ? 1 : 3, from: store.broker)
            if kind.holdsETA {
                #expect(first.map(\.tag) == [due.deliveryTag])
                clock.advance(by: .milliseconds(999))
                #expect(try await Self.receiveNow(from: store.broker).isEmpty)
                clock.advance(to: try #require(soon.eta))
                #expect(try await Self.receiveNow(from: store.broker).map(\.tag) == [soon.deliveryTag])
            } else {
                #expect(Set(first.map(\.tag)) == [due.deliveryTag, soon.deliveryTag, later.deliveryTag])
                let delivered = try #require(first.first { $0.tag == later.deliveryTag })
                let held = try MessageCodec.decode(delivered.body)
                let (eta, sent) = (try #require(held.eta), try #require(later.eta))
                #expect(abs(eta.timeIntervalSince(sent)) < 0.001)
            }
        }
    }

    // MARK: Results

    /// A stored SUCCESS is never overwritten: not by a failure, a retry, a later start or a second success, as
    /// when a redelivered task runs twice. Other states do give way to later ones.
    @Test(arguments: BrokerKind.allCases)
    func aStoredSuccessIsNeverOverwritten(kind: BrokerKind) async throws {
        try await kind.withStore { store in
            let id = TaskID.make()
            try await store.backend.store([TaskResult(taskId: id, status: .started)])
            #expect(try await store.backend.results(for: [id])[id]?.status == .started)
            try await store.backend.store([TaskResult(taskId: id, status: .success, result: 1)])
            let laterResults: [TaskResult] = [
                .failure(taskId: id, .valueError("late")), TaskResult(taskId: id, status: .retry),
                TaskResult(taskId: id, status: .started), TaskResult(taskId: id, status: .revoked),
                TaskResult(taskId: id, status: .success, result: 2),
            ]
            for later in laterResults { try await store.backend.store([later]) }
            let stored = try await store.backend.results(for: [id])[id]
            #expect(stored?.status == .success)
            #expect(stored?.result == 1)
        }
    }

    /// A client waiting for a result gets it when a worker stores it, from another connection to the store (or
    /// from its own, for a store that does not persist); a wait for a result never stored ends empty.
    @Test(arguments: BrokerKind.allCases)
    func aWaitingClientGetsTheResultWhenItIsStored(kind: BrokerKind) async throws {
        try await kind.withStore { store in
            let id = TaskID.make()
            let client = store.backend
            let waiting = Task { try await client.waitForResult(id, timeout: .seconds(20)) }
            let worker = kind.persists ? try store.connect().backend : store.backend
            try await worker.store([TaskResult(taskId: id, status: .started)])
            try await worker.store([TaskResult(taskId: id, status: .success, result: 5)])
            let result = try await waiting.value
            #expect(result?.status == .success && result?.result == 5)
            #expect(try await client.waitForResult(TaskID.make(), timeout: .milliseconds(50)) == nil)
        }
    }

    /// The chord join counts each header task once: a part added twice (its task was redelivered and ran again)
    /// does not complete the chord early, the call that adds the last part gets every result in index order, and
    /// a part added after that gets nothing, so the body is sent once.
    @Test(arguments: BrokerKind.allCases)
    func theChordJoinCountsEachHeaderTaskOnce(kind: BrokerKind) async throws {
        try await kind.withStore { store in
            let group = TaskID.make()
            let parts = (0..<3).map {
                TaskResult(taskId: TaskID.make(), status: .success, result: .integer(Int64($0) * 10))
            }
            try await store.backend.setChordSize(group, size: 3)

            #expect(try await store.backend.addChordPart(group, index: 0, result: parts[0]) == nil)
            #expect(try await store.backend.addChordPart(group, index: 0, result: parts[0]) == nil)
            #expect(try await store.backend.addChordPart(group, index: 2, result: parts[2]) == nil)
            let joined = try await store.backend.addChordPart(group, index: 1, result: parts[1])
            #expect(joined?.map(\.taskId) == parts.map(\.taskId))
            #expect(joined?.map(\.result) == [0, 10, 20])
            #expect(try await store.backend.addChordPart(group, index: 1, result: parts[1]) == nil)
        }
    }

    /// The chord join has one winner when header tasks finish at once, each of them twice.
    @Test(arguments: BrokerKind.allCases)
    func concurrentChordPartsCompleteTheChordOnce(kind: BrokerKind) async throws {
        try await kind.withStore { store in
            let group = TaskID.make()
            let parts = (0..<4).map { TaskResult(taskId: TaskID.make(), status: .success, result: .integer(Int64($0))) }
            try await store.backend.setChordSize(group, size: parts.count)
            let backend = store.backend
            let joins = try await withThrowingTaskGroup(of: [TaskResult]?.self) { adders in
                for (index, part) in Array(parts.enumerated()) + Array(parts.enumerated()) {
                    adders.addTask { try await backend.addChordPart(group, index: index, result: part) }
                }
                return try await adders.reduce(into: [[TaskResult]]()) { joins, join in
                    if let join { joins.append(join) }
                }
            }
            #expect(joins.count == 1)
            #expect(joins.first?.map(\.taskId) == parts.map(\.taskId))
        }
    }

    /// A saved group, Celery's `{"result": tuple}`, is read back from another connection to the store until it is
    /// deleted. (That Redis keeps it where Celery does, `celery-taskset-meta-<id>`, the interop scenario
    /// `s6-group-save-restore` checks against Python.)
    @Test(arguments: BrokerKind.allCases)
    func aSavedGroupIsReadBackUntilDeleted(kind: BrokerKind) async throws {
        try await kind.withStore { store in
            let group = TaskID.make()
            let tuple: JSONValue = [[.string(group), nil], [[["a", nil], nil], [["b", nil], nil]]]
            #expect(try await store.backend.savedGroup(group) == nil)
            try await store.backend.saveGroup(group, tuple: tuple)
            let reader = kind.persists ? try store.connect().backend : store.backend
            #expect(try await reader.savedGroup(group) == tuple)
            let restored = try #require(try await GroupResult.restore(group, backend: reader))
            #expect(restored.map(\.id) == ["a", "b"])
            try await store.backend.deleteGroup(group)
            #expect(try await reader.savedGroup(group) == nil)
        }
    }

    // MARK: Control

    /// Revocations outlive the connection that made them: a new connection to the same store sees them. A store
    /// that does not persist (``BrokerKind/persists``) keeps them for its own connection only.
    @Test(arguments: BrokerKind.allCases)
    func revocationsOutliveTheConnection(kind: BrokerKind) async throws {
        try await kind.withStore { store in
            let (skipped, stopped) = (TaskID.make(), TaskID.make())
            try await store.broker.require(.revocations).revoke([skipped], terminate: false)
            try await store.broker.require(.revocations).revoke([stopped], terminate: true)
            #expect(try await Self.revoked(in: store.broker) == [skipped: false, stopped: true])

            let other = try store.connect()
            #expect(
                try await Self.revoked(in: other.broker) == (kind.persists ? [skipped: false, stopped: true] : [:]))
        }
    }

    /// One winner per periodic slot: of beats claiming the same slot at once, each on its own connection (on one
    /// broker for a store that does not persist), exactly one wins, and only its message is sent, with the claim;
    /// the next slot is claimed afresh.
    @Test(arguments: BrokerKind.allCases)
    func oneClaimerWinsEachSlotAndSendsItsMessage(kind: BrokerKind) async throws {
        try await kind.withStore { store in
            var claimers = Array(repeating: try store.broker.require(.slotClaims), count: 6)
            if kind.persists { claimers = try claimers.map { _ in try store.connect().broker.require(.slotClaims) } }
            let slot = "contract.tick@2026-12-06T00:00:00"
            let messages = claimers.map { _ in Self.message("t.tick") }
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for (claimer, message) in zip(claimers, messages) {
                    group.addTask { try await claimer.claim(slot, sending: OutgoingMessage(message)) }
                }
                return try await group.reduce(0) { wins, won in wins + (won ? 1 : 0) }
            }
            #expect(wins == 1)
            let sent = try await Self.receive(1, from: store.broker)
            #expect(try await Self.receiveNow(from: store.broker).isEmpty)
            #expect(Set(messages.map(\.deliveryTag)).contains(try #require(sent.first?.tag)))
            let claims = try store.broker.require(.slotClaims)
            #expect(try await claims.claim(slot, sending: OutgoingMessage(Self.message("t.tick"))) == false)
            #expect(try await Self.receiveNow(from: store.broker).isEmpty)
            let next = Self.message("t.tick")
            #expect(try await claims.claim("contract.tick@2026-12-06T00:00:10", sending: OutgoingMessage(next)) == true)
            #expect(try await Self.receive(1, from: store.broker).map(\.tag) == [next.deliveryTag])
        }
    }

    /// Events come back in the order they were committed, page by page, each page's cursor leading to the next.
    /// On Redis events are a live feed, as Celery's are: a monitor sees those sent after it first asks.
    @Test(arguments: BrokerKind.allCases)
    func eventsArriveInOrder(kind: BrokerKind) async throws {
        try await kind.withStore { store in
            var cursor = try await store.broker.require(.events).events(after: 0, limit: 100).cursor
            let host = "contract@test"
            let task: [String: JSONValue] = ["uuid": .string(TaskID.make())]
            try await store.broker.commit(BrokerCommit(events: [QueueEvent("worker-online", hostname: host, at: .now)]))
            let lifetime = ["task-received", "task-started", "task-succeeded"].map {
                QueueEvent($0, hostname: host, at: .now, task)
            }
            try await store.broker.commit(BrokerCommit(events: lifetime))
            try await store.broker.commit(
                BrokerCommit(events: [QueueEvent("worker-heartbeat", hostname: host, at: .now)]))

            var seen: [QueueEvent] = []
            try await waitUntil("every event arrived") {
                let page = try await store.broker.require(.events).events(after: cursor, limit: 2)
                seen += page.events
                cursor = page.cursor
                return seen.count >= 5
            }
            let types = ["worker-online", "task-received", "task-started", "task-succeeded", "worker-heartbeat"]
            #expect(seen.map(\.type) == types)
            #expect(seen[1...3].map(\.taskId) == Array(repeating: task["uuid"]?.stringValue, count: 3))
            #expect(try await store.broker.require(.events).events(after: cursor, limit: 10).events.isEmpty)
        }
    }

    // MARK: Helpers

    static func message(
        _ task: String = "t.add", args: [JSONValue] = [1, 2], queue: String = "celery", priority: Int = 0
    ) -> TaskMessage {
        var message = TaskMessage(task: task, args: args, queue: queue)
        message.priority = priority
        return message
    }

    /// Whether `delivery` is marked as delivered before: by the broker, or inside the envelope, where Redis marks
    /// it as kombu does. The worker reads both.
    static func isRedelivered(_ delivery: Delivery) throws -> Bool {
        try delivery.redelivered || MessageCodec.decode(delivery.body).redelivered
    }

    /// How many leases on `delivery` ran out before it: as the broker counts them, or inside the envelope, where
    /// Redis counts them. The worker reads both.
    static func lapsedLeases(_ delivery: Delivery) throws -> Int {
        try max(delivery.lapsedLeases, MessageCodec.decode(delivery.body).lapsedLeases)
    }

    /// Receives until `count` messages have arrived.
    static func receive(
        _ count: Int, from broker: any Broker, queues: [String] = ["celery"],
        lease: Duration = BrokerContractTests.longLease
    ) async throws -> [Delivery] {
        var deliveries: [Delivery] = []
        try await waitUntil("\(count) messages arrived") {
            deliveries += try await broker.receive(
                from: queues, limit: count - deliveries.count, lease: lease, timeout: .seconds(1))
            return deliveries.count >= count
        }
        return deliveries
    }

    /// Sends `messages` to the queue `celery` and receives them all, leased for `lease`.
    static func sendAndLease(
        _ messages: [TaskMessage], from broker: any Broker, for lease: Duration = BrokerContractTests.longLease
    ) async throws {
        try await broker.send(messages)
        _ = try await receive(messages.count, from: broker, lease: lease)
    }

    /// Every stored revocation, task id to whether it asked for termination: a first read from no cursor.
    static func revoked(in broker: any Broker) async throws -> [String: Bool] {
        let (revocations, _) = try await broker.require(.revocations).revocations(after: nil)
        return Dictionary(revocations.map { ($0.id, $0.terminate) }) { $0 || $1 }
    }

    /// What is waiting in the queue `celery` now, leased for the short lease, without waiting for more.
    static func receiveNow(from broker: any Broker) async throws -> [Delivery] {
        try await broker.receive(from: ["celery"], limit: 10, lease: shortLease, timeout: .zero)
    }
}

/// The kinds of broker the contract runs against; each test's name shows which.
///
/// A new broker joins the contract with one line, its case. The compiler then asks the questions below, which
/// state how to open a fresh store of that kind and which promises do not apply to it, so none is skipped silently.
enum BrokerKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite
    case redis
    case redisTLS
    case redisACL

    var testDescription: String {
        switch self {
        case .redisTLS: "redis over TLS"
        case .redisACL: "redis as an ACL user with RedisACL's commands only"
        default: rawValue
        }
    }

    /// Whether the store outlives a connection, so that another connection to its URL sees what this one wrote.
    /// `memory://` opens a new, empty store each time.
    var persists: Bool {
        switch self {
        case .memory: false
        case .sqlite, .redis, .redisTLS, .redisACL: true
        }
    }

    /// Whether the broker holds a message back until its ETA. On Redis, as with kombu, the worker holds it.
    var holdsETA: Bool {
        switch self {
        case .memory, .sqlite: true
        case .redis, .redisTLS, .redisACL: false
        }
    }

    /// Opens a store that no other test sees: a new memory broker, a new SQLite file in a folder of its own, or a
    /// `redis-server` of its own (kombu's keys, such as `unacked`, are shared by everything on a database), plain or
    /// speaking only TLS with a throwaway authority's certificates and asking for the client's.
    func open(on clock: any QueueClock) async throws -> BrokerStore {
        switch self {
        case .memory:
            return try BrokerStore(url: "memory://", clock: clock)
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simul-contract-\(UUID())")
            let file = folder.appendingPathComponent("queue.sqlite")
            return try BrokerStore(url: "sqlite://" + file.path, clock: clock, folder: folder)
        case .redis, .redisTLS:
            let server = try await RedisServer.start(tls: self == .redisTLS)
            return try BrokerStore(url: server.url(), clock: clock, server: server)
        case .redisACL:
            let server = try await RedisServer.start(users: [RedisACL.rule(user: "simul", password: "s3cret")])
            let url = "redis://simul:s3cret@127.0.0.1:\(server.port)/0"
            return try BrokerStore(url: url, clock: clock, server: server)
        }
    }

    /// Runs `body` on a fresh store whose connections take the time from `clock`, and closes the store afterwards,
    /// also when `body` throws.
    func withStore(on clock: any QueueClock = .system, _ body: (BrokerStore) async throws -> Void) async throws {
        let store = try await open(on: clock)
        do {
            try await body(store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}

/// One test's store: the connection the test works on, more connections to the same URL, and what to remove after.
final class BrokerStore: Sendable {
    let url: String
    /// The test's connection.
    let connection: QueueConnection
    /// Connections opened by ``connect()``, closed with the store.
    private let others = Mutex<[QueueConnection]>([])
    private let folder: URL?
    private let server: RedisServer?

    private let clock: any QueueClock

    init(url: String, clock: any QueueClock, folder: URL? = nil, server: RedisServer? = nil) throws {
        self.url = url
        self.clock = clock
        self.folder = folder
        self.server = server
        connection = try QueueConnection(broker: url, options: .init(clock: clock))
    }

    var broker: any Broker { connection.broker }
    var backend: any ResultBackend { connection.backend }

    /// Another connection to the store's URL (for `memory://`, a new store: see ``BrokerKind/persists``).
    func connect() throws -> QueueConnection {
        let other = try QueueConnection(broker: url, options: .init(connections: 1, clock: clock))
        others.withLock { $0.append(other) }
        return other
    }

    /// Closes every connection, then stops the store's server or deletes its folder.
    func close() async {
        for other in others.withLock({ $0 }) { await other.close() }
        await connection.close()
        server?.stop()
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }
}
