import SimulQueue
import Synchronization

/// Group send: messages sent while a write is in flight wait, and then all go in the next pipeline.
///
/// A sender that finds no write in flight writes at once, so an idle producer pays no delay; under load, many
/// concurrent `send` calls share one round trip and one `LPUSH` per list. No caller returns before Redis has its
/// messages; when a write fails, every sender in it gets the error, and none of its messages were pushed in part
/// (each list's `LPUSH` is one command inside `MULTI`).
final class SendBatcher: Sendable {
    private struct Waiting {
        let messages: [OutgoingMessage]
        let done: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        var writing = false
    }

    private let state = Mutex(State())

    /// Sends `messages` in the next batch and returns once that batch is written. The sender that starts a run of
    /// batches writes them all with its `write`, so every sender passes the same one.
    func send(
        _ messages: [OutgoingMessage], writingWith write: @escaping @Sendable ([OutgoingMessage]) async throws -> Void
    ) async throws {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state -> Bool in
                state.waiting.append(Waiting(messages: messages, done: continuation))
                defer { state.writing = true }
                return !state.writing
            }
            if start { Task { await self.drain(write) } }
        }
    }

    private func drain(_ write: @Sendable ([OutgoingMessage]) async throws -> Void) async {
        while true {
            let batch = state.withLock { state -> [Waiting] in
                defer { state.waiting = [] }
                if state.waiting.isEmpty { state.writing = false }
                return state.waiting
            }
            if batch.isEmpty { return }
            do {
                try await write(batch.flatMap(\.messages))
                for sender in batch { sender.done.resume() }
            } catch {
                for sender in batch { sender.done.resume(throwing: error) }
            }
        }
    }
}
