import Foundation
import GRDB
import Simul
import SimulJSON
import SimulQueue
import SimulQueueTestSupport
import SimulSQLite
import SimulTestSupport
import Testing

@Suite(.timeLimit(.minutes(2))) struct SQLiteBrokerTests {
    // MARK: Messages

    @Test func sendReceiveAcknowledge() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        let message = TaskMessage(task: "t.add", args: [1, 2])
        try await broker.send([message])
        #expect(try await broker.queueLengths() == ["celery": 1])

        let deliveries = try await broker.receive(
            from: ["celery"], limit: 10, lease: .seconds(30), timeout: .seconds(10))
        let delivery = try #require(deliveries.first)
        #expect(deliveries.count == 1)
        #expect(delivery.tag == message.deliveryTag)
        #expect(delivery.queue == "celery")
        #expect(delivery.redelivered == false)
        #expect(try MessageCodec.decode(delivery.body) == message)
        // Leased: not waiting, and not handed out again.
        #expect(try await broker.queueLengths().isEmpty)
        #expect(try await broker.leasedCounts() == ["celery": 1])
        #expect(try await broker.receive(from: ["celery"], limit: 10, lease: .seconds(30), timeout: .zero).isEmpty)

        try await broker.commit(BrokerCommit(ack: [delivery.tag]))
        #expect(try await broker.leasedCounts().isEmpty)
        #expect(try await broker.queueLengths().isEmpty)
        #expect(try await broker.receive(from: ["celery"], limit: 10, lease: .seconds(30), timeout: .zero).isEmpty)
    }

    @Test func receiveWaitsForASend() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        let message = TaskMessage(task: "t.add", args: [1, 2])
        async let received = broker.receive(from: ["celery"], limit: 1, lease: .seconds(30), timeout: .seconds(20))
        try await broker.send([message])
        #expect(try await received.map(\.tag) == [message.deliveryTag])
    }

    @Test func lowerPriorityNumbersFirstThenOldestFirst() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        let priorities = [5, 0, 9, 0, 5, 3, 0]
        let messages = priorities.enumerated().map { index, priority in
            var message = TaskMessage(task: "t.add", args: [.integer(Int64(index)), 0])
            message.priority = priority
            return message
        }
        for message in messages { try await broker.send([message]) }
        let expected = [1, 3, 6, 5, 0, 4, 2].map { messages[$0].deliveryTag }

        var oneByOne: [String] = []
        for _ in messages {
            let taken = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(30), timeout: .zero)
            oneByOne += taken.map(\.tag)
        }
        #expect(oneByOne == expected)

        try await broker.commit(BrokerCommit(requeue: expected))
        let batch = try await broker.receive(from: ["celery"], limit: 10, lease: .seconds(30), timeout: .zero)
        #expect(batch.map(\.tag) == expected)
    }

    @Test func anExpiredLeaseRedeliversTheMessage() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        let message = TaskMessage(task: "t.add", args: [1, 2])
        try await broker.send([message])
        let first = try await broker.receive(
            from: ["celery"], limit: 1, lease: .milliseconds(200), timeout: .seconds(10))
        #expect(first.map(\.redelivered) == [false])

        var again: [Delivery] = []
        try await waitUntil("the lease ran out") {
            again = try await broker.receive(
                from: ["celery"], limit: 1, lease: .seconds(30), timeout: .milliseconds(50))
            return !again.isEmpty
        }
        #expect(again.map(\.tag) == [message.deliveryTag])
        #expect(again.map(\.redelivered) == [true])
        #expect(try MessageCodec.decode(again[0].body).id == message.id)
    }

    @Test func renewingKeepsTheMessageLeased() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        let kept = TaskMessage(task: "t.add", args: [1, 2])
        let witness = TaskMessage(task: "t.add", args: [3, 4])
        try await broker.send([kept, witness])
        let taken = try await broker.receive(
            from: ["celery"], limit: 2, lease: .milliseconds(200), timeout: .seconds(10))
        #expect(taken.count == 2)
        try await broker.renew([kept.deliveryTag], lease: .seconds(60))

        // Both leases were taken together; once the witness's has run out, the kept one's would have too.
        var again: [Delivery] = []
        try await waitUntil("the witness's lease ran out") {
            again = try await broker.receive(
                from: ["celery"], limit: 2, lease: .seconds(30), timeout: .milliseconds(50))
            return !again.isEmpty
        }
        #expect(again.map(\.tag) == [witness.deliveryTag])
        #expect(try await broker.leasedCounts() == ["celery": 2])
    }

    @Test func requeuePutsTheMessageBackAtOnce() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        let message = TaskMessage(task: "t.add", args: [1, 2])
        try await broker.send([message])
        let taken = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(60), timeout: .seconds(10))
        #expect(taken.count == 1)
        try await broker.commit(BrokerCommit(requeue: [message.deliveryTag]))
        #expect(try await broker.queueLengths() == ["celery": 1])
        let again = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(60), timeout: .zero)
        #expect(again.map(\.tag) == [message.deliveryTag])
        #expect(again.map(\.redelivered) == [true])
    }

    @Test func purgeDeletesOnlyWaitingMessagesOfThatQueue() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        let messages = (0..<3).map { TaskMessage(task: "t.add", args: [.integer(Int64($0)), 0]) }
        let elsewhere = TaskMessage(task: "t.add", args: [9, 9], queue: "other")
        try await broker.send(messages + [elsewhere])
        let leased = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(60), timeout: .seconds(10))
        #expect(leased.map(\.tag) == [messages[0].deliveryTag])

        #expect(try await broker.purge(queue: "celery") == 2)
        #expect(try await broker.queueLengths() == ["other": 1])
        #expect(try await broker.purge(queue: "celery") == 0)
        // The leased message survives the purge and can still be acknowledged.
        #expect(try await broker.leasedCounts() == ["celery": 1])
        try await broker.commit(BrokerCommit(ack: [messages[0].deliveryTag]))
        #expect(try await broker.leasedCounts().isEmpty)
        #expect(try await broker.receive(from: ["other"], limit: 10, lease: .seconds(60), timeout: .zero).count == 1)
    }

    /// A message whose worker died (its lease ran out) waits again: it is counted, and purged, like any other.
    @Test func aMessageWhoseLeaseRanOutCountsAsWaiting() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        let lapsed = TaskMessage(task: "t.add", args: [1, 2])
        let held = TaskMessage(task: "t.add", args: [3, 4])
        try await broker.send([lapsed])
        _ = try await broker.receive(from: ["celery"], limit: 1, lease: .milliseconds(100), timeout: .seconds(10))
        try await broker.send([held])
        _ = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(60), timeout: .seconds(10))
        try await waitUntil("the short lease ran out") {
            try await broker.queueLengths() == ["celery": 1]
        }
        #expect(try await broker.leasedCounts() == ["celery": 1])
        #expect(try await broker.purge(queue: "celery") == 1)
        #expect(try await broker.queueLengths().isEmpty)
        #expect(try await broker.receive(from: ["celery"], limit: 10, lease: .seconds(60), timeout: .zero).isEmpty)
        #expect(try await broker.leasedCounts() == ["celery": 1])
    }

    @Test func queueLengthsCountWaitingMessagesPerQueue() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        #expect(try await broker.queueLengths().isEmpty)
        try await broker.send((0..<2).map { _ in TaskMessage(task: "t.add", args: [1, 1]) })
        try await broker.send((0..<3).map { _ in TaskMessage(task: "t.add", args: [1, 1], queue: "math") })
        #expect(try await broker.queueLengths() == ["celery": 2, "math": 3])
        _ = try await broker.receive(from: ["math"], limit: 1, lease: .seconds(60), timeout: .seconds(10))
        #expect(try await broker.queueLengths() == ["celery": 2, "math": 2])
        #expect(try await broker.leasedCounts() == ["math": 1])
    }

    // MARK: Dead letters, revocations, claims

    @Test func deadLettersKeepTheirReasonAndReplayPutsThemBack() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        let messages = (0..<3).map { TaskMessage(task: "t.add", args: [.integer(Int64($0)), 0]) }
        try await broker.send(messages)
        let taken = try await broker.receive(from: ["celery"], limit: 3, lease: .seconds(60), timeout: .seconds(10))
        #expect(taken.count == 3)
        try await broker.commit(
            BrokerCommit(deadLetter: taken.enumerated().map { (delivery: $0.element, reason: "reason \($0.offset)") }))
        #expect(try await broker.leasedCounts().isEmpty)
        #expect(try await broker.queueLengths().isEmpty)

        let letters = try await broker.deadLetters(limit: 10)
        #expect(letters.map(\.reason) == ["reason 2", "reason 1", "reason 0"])
        #expect(letters.map(\.queue) == ["celery", "celery", "celery"])
        #expect(letters.map(\.body) == taken.reversed().map(\.body))
        #expect(try await broker.deadLetters(limit: 1).map(\.reason) == ["reason 2"])

        #expect(try await broker.replayDeadLetters([letters[2].id]) == 1)
        let replayed = try await broker.receive(from: ["celery"], limit: 10, lease: .seconds(60), timeout: .zero)
        #expect(try replayed.map { try MessageCodec.decode($0.body).id } == [messages[0].id])
        #expect(try await broker.deadLetters(limit: 10).map(\.reason) == ["reason 2", "reason 1"])

        #expect(try await broker.replayDeadLetters(nil) == 2)
        #expect(try await broker.deadLetters(limit: 10).isEmpty)
        #expect(try await broker.queueLengths() == ["celery": 2])
        #expect(try await broker.replayDeadLetters(nil) == 0)
    }

    @Test func revocationsRememberTermination() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        #expect(try await broker.revocations(after: nil).revocations.isEmpty)
        try await broker.revoke(["a", "b"], terminate: false)
        try await broker.revoke(["b"], terminate: true)
        try await broker.revoke(["b", "c"], terminate: false)
        let revoked = try await broker.revocations(after: nil).revocations
        #expect(revoked.map(\.id) == ["a", "b", "c"])
        #expect(revoked.map(\.terminate) == [false, true, false])
    }

    @Test func revocationsAreReadOnceThenOnlyWhatIsNew() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        let other = try SQLiteBroker(path: scratch.file("queue.sqlite"))
        let empty = try await broker.revocations(after: nil)
        #expect(empty.revocations.isEmpty)
        try await other.revoke(["a", "b"], terminate: false)
        let first = try await broker.revocations(after: empty.cursor)
        #expect(first.revocations.map(\.id) == ["a", "b"])
        let nothing = try await broker.revocations(after: first.cursor)
        #expect(nothing.revocations.isEmpty && nothing.cursor == first.cursor)
        try await other.revoke(["b"], terminate: true)
        try await other.revoke(["c"], terminate: false)
        let second = try await broker.revocations(after: first.cursor)
        #expect(second.revocations.map(\.id) == ["b", "c"])
        #expect(second.revocations.map(\.terminate) == [true, false])
        #expect(try await broker.revocations(after: second.cursor).revocations.isEmpty)
        #expect(try await broker.revocations(after: nil).revocations.map(\.id) == ["a", "b", "c"])
    }

    @Test func revocationsAreTrimmedToTheNewestWhenRevoking() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let broker = try SQLiteBroker(
            path: scratch.file("queue.sqlite"), revocationLimits: .init(maxCount: 3, maxAge: 100))
        try await broker.revoke(["a", "b"], terminate: false)
        let cursor = try await broker.revocations(after: nil).cursor
        try await broker.revoke(["c", "d"], terminate: true)
        #expect(try await broker.revocations(after: nil).revocations.map(\.id) == ["b", "c", "d"])
        // A reader behind the trim reads on from where it was.
        #expect(try await broker.revocations(after: cursor).revocations.map(\.id) == ["c", "d"])
        try await broker.revoke(["e", "f", "g", "h"], terminate: false)
        #expect(try await broker.revocations(after: nil).revocations.map(\.id) == ["f", "g", "h"])
        #expect(try Self.count("revoked", in: scratch.file("queue.sqlite")) == 3)
    }

    @Test func expiredRevocationsAreNotReadAndAreDeletedWhenRevoking() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        let path = scratch.file("queue.sqlite")
        let old = Date().timeIntervalSince1970 - 10_801
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "INSERT INTO revoked (task_id, terminate, at) VALUES ('old', 1, ?)", arguments: [old])
        }
        #expect(try await broker.revocations(after: nil).revocations.isEmpty)
        #expect(try Self.count("revoked", in: path) == 1)
        try await broker.revoke(["new"], terminate: false)
        #expect(try await broker.revocations(after: nil).revocations.map(\.id) == ["new"])
        #expect(try Self.count("revoked", in: path) == 1)
    }

    @Test func revocationsOfAnOlderFileMoveToTheSequencedTable() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("queue.sqlite")
        let now = Date().timeIntervalSince1970
        try await DatabaseQueue(path: path).write { db in
            try db.execute(
                sql: """
                    CREATE TABLE revocations (task_id TEXT PRIMARY KEY, terminate INTEGER NOT NULL, at REAL NOT NULL);
                    INSERT INTO revocations VALUES ('second', 0, ?), ('first', 1, ?);
                    """, arguments: [now - 1, now - 2])
        }
        let broker = try SQLiteBroker(path: path)
        let revoked = try await broker.revocations(after: nil).revocations
        #expect(revoked.map(\.id) == ["first", "second"] && revoked.map(\.terminate) == [true, false])
        let oldTableLeft = try await DatabaseQueue(path: path).read { try $0.tableExists("revocations") }
        #expect(!oldTableLeft)
    }

    /// A file from before messages kept their queue time gets the column when first opened, with that moment as the
    /// time its waiting messages were queued; a row that an older version writes afterwards has none, and counts for
    /// the depth but not for the oldest's age.
    @Test func messagesOfAnOlderFileAreDatedWhenItIsFirstOpened() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("queue.sqlite")
        // As a version without the column writes a waiting message.
        let insert = """
            INSERT INTO messages (tag, task_id, queue, priority, visible_at, body) VALUES (?, ?, 'celery', 0, 0, x'7b7d')
            """
        try await DatabaseQueue(path: path).write { db in
            try db.execute(
                sql: """
                    CREATE TABLE messages (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, tag TEXT NOT NULL UNIQUE, task_id TEXT NOT NULL,
                        queue TEXT NOT NULL, priority INTEGER NOT NULL, visible_at REAL NOT NULL,
                        leased INTEGER NOT NULL DEFAULT 0, deliveries INTEGER NOT NULL DEFAULT 0,
                        lapses INTEGER NOT NULL DEFAULT 0, body BLOB NOT NULL);
                    """)
            try db.execute(sql: insert, arguments: ["first", "a"])
        }
        let clock = ManualClock()
        let opened = clock.now
        let broker = try SQLiteBroker(path: path, clock: clock)
        clock.advance(by: .seconds(5))
        #expect(try await broker.backlogs(of: ["celery"]) == ["celery": QueueBacklog(length: 1, oldestSince: opened)])
        try await DatabaseQueue(path: path).write { db in try db.execute(sql: insert, arguments: ["second", "b"]) }
        #expect(try await broker.backlogs(of: ["celery"]) == ["celery": QueueBacklog(length: 2, oldestSince: opened)])
        try await broker.commit(BrokerCommit(ack: ["first"]))
        #expect(try await broker.backlogs(of: ["celery"]) == ["celery": QueueBacklog(length: 1, oldestSince: nil)])
    }

    @Test func aSlotIsClaimedOnceAcrossConnections() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        let other = try SQLiteBroker(path: scratch.file("queue.sqlite"))
        let tick = OutgoingMessage(TaskMessage(task: "t.tick"))
        #expect(try await broker.claim("tick@2024-01-01T00:00:00", sending: tick) == true)
        #expect(try await broker.claim("tick@2024-01-01T00:00:00", sending: tick) == false)
        #expect(try await other.claim("tick@2024-01-01T00:00:00", sending: tick) == false)
        #expect(try await other.claim("tick@2024-01-01T00:00:10", sending: tick) == true)
    }

    // MARK: Results

    @Test func aStoredSuccessIsNeverOverwritten() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        try await broker.store([TaskResult(taskId: "a", status: .started)])
        #expect(try await broker.results(for: ["a"])["a"]?.status == .started)
        try await broker.store([TaskResult(taskId: "a", status: .success, result: 1)])
        try await broker.store([.failure(taskId: "a", .valueError("late"))])
        try await broker.store([TaskResult(taskId: "a", status: .success, result: 2)])
        let stored = try await broker.results(for: ["a", "missing"])
        #expect(stored.keys.sorted() == ["a"])
        #expect(stored["a"]?.status == .success)
        #expect(stored["a"]?.result == 1)
        // A failure can be replaced.
        try await broker.store([.failure(taskId: "b", .valueError("first"))])
        try await broker.store([TaskResult(taskId: "b", status: .success, result: 3)])
        #expect(try await broker.results(for: ["b"])["b"]?.result == 3)
    }

    @Test func waitForResultSeesAResultAnotherConnectionStores() async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        let other = try SQLiteBroker(path: scratch.file("queue.sqlite"))
        async let waited = broker.waitForResult("t1", timeout: .seconds(20))
        try await other.store([TaskResult(taskId: "t1", status: .started)])
        try await other.store([TaskResult(taskId: "t1", status: .success, result: "done")])
        let result = try #require(try await waited)
        #expect(result.status == .success)
        #expect(result.result == "done")
        #expect(try await broker.waitForResult("never", timeout: .milliseconds(20)) == nil)
    }

    @Test func resultsExpire() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("queue.sqlite")
        let shortLived = try SQLiteBroker(path: path, resultExpiry: 0.1)
        let longLived = try SQLiteBroker(path: path)
        try await shortLived.store([TaskResult(taskId: "brief", status: .success, result: 1)])
        try await longLived.store([TaskResult(taskId: "kept", status: .success, result: 2)])
        try await waitUntil("the result expired") {
            try await shortLived.results(for: ["brief"]).isEmpty
        }
        #expect(try await longLived.results(for: ["brief", "kept"]).keys.sorted() == ["kept"])
        #expect(try await shortLived.waitForResult("brief", timeout: .zero) == nil)
        #expect(try await QueueClient(broker: longLived, backend: longLived).result("brief").state() == .pending)
        // An expired success no longer counts: the id can be stored again (a task sent again under its own id).
        try await longLived.store([TaskResult(taskId: "brief", status: .success, result: 3)])
        #expect(try await longLived.results(for: ["brief"])["brief"]?.result == 3)
    }

    // MARK: A worker on SQLite

    @Test(arguments: [WorkerConfiguration.Pool.threads, .async])
    func aWorkerRunsTwoHundredTasks(pool: WorkerConfiguration.Pool) async throws {
        let (broker, scratch) = try open()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: broker) { $0.pool = pool }
        var results: [AsyncResult] = []
        for index in 0..<200 {
            results.append(try await queue.client.send("t.add", args: [.integer(Int64(index)), 1000]))
        }
        for (index, result) in results.enumerated() {
            #expect(try await result.get(timeout: .seconds(60)) == .integer(Int64(index + 1000)))
        }
        try await queue.stop()
        #expect(queue.worker.stats.processed == 200)
        #expect(try await broker.queueLengths().isEmpty)
        #expect(try await broker.leasedCounts().isEmpty)
    }

    // MARK: Opening

    @Test func aDirectoryThatCannotBeCreatedIsAQueueError() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        // A path through a regular file fails even for root, which ignores permissions.
        let file = scratch.file("plain")
        #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        do {
            _ = try SQLiteBroker(path: file + "/sub/queue.sqlite")
            Issue.record("expected a QueueError")
        } catch let error as QueueError {
            #expect(
                error.message.hasPrefix("cannot create the directory '\(file)/sub' for the SQLite broker: "),
                "\(error.message)")
        }
    }

    @Test func aMissingDirectoryIsCreated() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("a/b/queue.sqlite")
        let broker = try SQLiteBroker(path: path)
        #expect(FileManager.default.fileExists(atPath: path))
        let message = TaskMessage(task: "t.add", args: [1, 2])
        try await broker.send([message])
        let taken = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(30), timeout: .seconds(10))
        #expect(taken.map(\.tag) == [message.deliveryTag])
    }

    /// The rows of `table`, read through a connection of the test's own.
    private static func count(_ table: String, in path: String) throws -> Int {
        try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM \(table)") ?? -1 }
    }

    private func open() throws -> (SQLiteBroker, ScratchDirectory) {
        let scratch = try ScratchDirectory()
        return (try SQLiteBroker(path: scratch.file("queue.sqlite")), scratch)
    }
}
