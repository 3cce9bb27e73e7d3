import GRDB
import Synchronization

/// Group commit: writes that arrive while a transaction is being written wait, and then all go in the next one.
///
/// With `synchronous=FULL` every transaction costs a sync of the WAL, so merging concurrent senders, a worker's
/// receive and its acknowledgements into one transaction multiplies throughput without weakening durability:
/// no caller returns before its write is on disk. Each write runs in its own savepoint, so one failing write
/// fails alone.
final class WriteBatcher: Sendable {
    private struct Write {
        let body: @Sendable (Database) throws -> any Sendable
        let done: CheckedContinuation<any Sendable, any Error>
    }

    private struct State {
        var waiting: [Write] = []
        var writing = false
    }

    private let pool: DatabasePool
    private let state = Mutex(State())

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Runs `body` in the next transaction and returns its value once that transaction is committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let value = try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state -> Bool in
                state.waiting.append(Write(body: body, done: continuation))
                defer { state.writing = true }
                return !state.writing
            }
            if start { Task { await self.drain() } }
        }
        return value as! T
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Write] in
                defer { state.waiting = [] }
                if state.waiting.isEmpty { state.writing = false }
                return state.waiting
            }
            if batch.isEmpty { return }
            let outcomes: [Result<any Sendable, any Error>]
            do {
                outcomes = try await pool.writeWithoutTransaction { db in
                    var outcomes: [Result<any Sendable, any Error>] = []
                    try db.inTransaction(.immediate) {
                        for write in batch {
                            do {
                                var value: (any Sendable)?
                                try db.inSavepoint {
                                    value = try write.body(db)
                                    return .commit
                                }
                                outcomes.append(.success(value!))
                            } catch {
                                outcomes.append(.failure(error))
                            }
                        }
                        return .commit
                    }
                    return outcomes
                }
            } catch {
                for write in batch { write.done.resume(throwing: error) }
                continue
            }
            for (write, outcome) in zip(batch, outcomes) { write.done.resume(with: outcome) }
        }
    }
}
