import Synchronization

/// Group commit: items submitted while a batch is being written wait, and then all go in the next batch.
///
/// A caller that finds no write in flight writes at once, so an idle producer pays no delay; under load, many
/// concurrent callers share one write (one SQLite transaction and its sync, one Redis round trip). No caller returns
/// before the batch holding its item is written.
package final class GroupCommit<Item: Sendable, Output: Sendable>: Sendable {
    /// Writes a batch and returns one outcome per item, in order; throwing fails every item in the batch.
    package typealias Write = @Sendable ([Item]) async throws -> [Result<Output, any Error>]

    private struct Waiting {
        let item: Item
        let done: CheckedContinuation<Output, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        var writing = false
    }

    private let state = Mutex(State())

    package init() {}

    /// Puts `item` in the next batch and returns its outcome once that batch is written. The caller that starts a run
    /// of batches writes them all with its `write`, so every caller passes the same one.
    package func submit(_ item: Item, writingWith write: @escaping Write) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state -> Bool in
                state.waiting.append(Waiting(item: item, done: continuation))
                defer { state.writing = true }
                return !state.writing
            }
            if start { Task { await self.drain(write) } }
        }
    }

    private func drain(_ write: Write) async {
        while true {
            let batch = state.withLock { state -> [Waiting] in
                defer { state.waiting = [] }
                if state.waiting.isEmpty { state.writing = false }
                return state.waiting
            }
            if batch.isEmpty { return }
            do {
                let outcomes = try await write(batch.map(\.item))
                precondition(outcomes.count == batch.count, "a group commit's write gave the wrong number of outcomes")
                for (waiting, outcome) in zip(batch, outcomes) { waiting.done.resume(with: outcome) }
            } catch {
                for waiting in batch { waiting.done.resume(throwing: error) }
            }
        }
    }
}
