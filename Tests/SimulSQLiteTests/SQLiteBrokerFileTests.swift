import Foundation
import Simul
import SimulJSON
import SimulQueue
import SimulQueueTestSupport
import SimulSQLite
import SimulTestSupport
import Testing

/// The SQLite broker notices that its file was deleted or replaced under it, and a worker on it stops.
@Suite(.timeLimit(.minutes(2))) struct SQLiteBrokerFileTests {
    @Test func receiveFailsOnceTheFileIsDeleted() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("queue.sqlite")
        let broker = try SQLiteBroker(path: path)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        // The file is compared at most once a second: a receive that waits longer meets the check.
        await #expect(throws: QueueError.brokerGone("the SQLite broker's file \(path) was deleted or replaced")) {
            _ = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(30), timeout: .seconds(30))
        }
        await broker.close()
    }

    @Test func receiveFailsOnceTheFileIsReplaced() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("queue.sqlite")
        let broker = try SQLiteBroker(path: path)
        let other = try SQLiteBroker(path: scratch.file("other.sqlite"))
        try await other.send([TaskMessage(task: "t.add", args: [1, 2])])
        await other.close()
        #expect(rename(scratch.file("other.sqlite"), path) == 0)
        await #expect(throws: QueueError.brokerGone("the SQLite broker's file \(path) was deleted or replaced")) {
            _ = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(30), timeout: .seconds(30))
        }
        await broker.close()
    }

    @Test func aWorkerStopsAndThrowsWhenItsFileIsDeleted() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("queue.sqlite")
        let broker = try SQLiteBroker(path: path)
        let queue = QueueHarness(broker: broker)
        #expect(try await queue.client.send("t.add", args: [1, 2]).get(timeout: .seconds(30)) == 3)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        await #expect(throws: QueueError.brokerGone("the SQLite broker's file \(path) was deleted or replaced")) {
            try await queue.finished()
        }
        await broker.close()
    }
}
