import Foundation
import Simul
import SimulJSON
import SimulQueue

/// A broker and backend whose every call fails, as one behind a dead connection does.
final class UnreachableBroker: ResultBackend, RevocationStore, DeadLetterStore, EventFeed, SlotClaiming,
    QueueAdministration
{
    struct Down: Error, CustomStringConvertible {
        var description: String { "connection refused" }
    }

    var transport: String { "unreachable" }

    func commit(_ commit: BrokerCommit) async throws { throw Down() }
    func receive(from queues: [String], limit: Int, lease: Duration, timeout: Duration) async throws -> [Delivery] {
        throw Down()
    }
    func renew(_ tags: [String], lease: Duration) async throws { throw Down() }
    func deadLetters(limit: Int) async throws -> [DeadLetter] { throw Down() }
    func replayDeadLetters(_ ids: [Int64]?) async throws -> Int { throw Down() }
    func purge(queue: String) async throws -> Int { throw Down() }
    func queueLengths() async throws -> [String: Int] { throw Down() }
    func backlogs(of queues: [String]) async throws -> [String: QueueBacklog] { throw Down() }
    func revoke(_ ids: [String], terminate: Bool) async throws { throw Down() }
    func revocations(after cursor: RevocationCursor?) async throws
        -> (revocations: [Revocation], cursor: RevocationCursor)
    {
        throw Down()
    }
    func events(after cursor: Int64, limit: Int) async throws -> (events: [QueueEvent], cursor: Int64) { throw Down() }
    func claim(_ slot: String, sending message: OutgoingMessage) async throws -> Bool { throw Down() }
    func close() async {}
    func store(_ results: [TaskResult]) async throws { throw Down() }
    func results(for ids: [String]) async throws -> [String: TaskResult] { throw Down() }
    func waitForResult(_ id: String, timeout: Duration?) async throws -> TaskResult? { throw Down() }
    func forget(_ ids: [String]) async throws { throw Down() }
    func setChordSize(_ groupId: String, size: Int) async throws { throw Down() }
    func addChordPart(_ groupId: String, index: Int, result: TaskResult) async throws -> [TaskResult]? { throw Down() }
    func saveGroup(_ groupId: String, tuple: JSONValue) async throws { throw Down() }
    func savedGroup(_ groupId: String) async throws -> JSONValue? { throw Down() }
    func deleteGroup(_ groupId: String) async throws { throw Down() }
}
