import DequeModule
import Synchronization

/// The results of a pool's `map`, as an async sequence: lazy, with a bounded number of batches in flight.
///
/// Iterating submits work as it goes; at most `maxInFlight` batches are submitted and not yet consumed. An error
/// from any element ends the iteration with that error. Leaving the loop early, or an error, cancels the batches
/// that have not started.
public struct MapResults<Element: Sendable>: AsyncSequence {
    /// Submits the next batch, or returns nil when the inputs are exhausted.
    @usableFromInline typealias Submitter = () -> Future<[Element]>?

    private let maxInFlight: Int
    private let ordered: Bool
    private let makeSubmitter: () -> Submitter

    /// - Parameters:
    ///   - maxInFlight: the most batches submitted ahead of the consumer.
    ///   - ordered: yield in input order, or as batches complete.
    ///   - makeSubmitter: makes a fresh submitter for each iteration.
    @usableFromInline
    init(maxInFlight: Int, ordered: Bool, makeSubmitter: @escaping () -> Submitter) {
        precondition(maxInFlight >= 1, "maxInFlight must be at least 1")
        self.maxInFlight = maxInFlight
        self.ordered = ordered
        self.makeSubmitter = makeSubmitter
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(window: Window(submit: makeSubmitter(), maxInFlight: maxInFlight, ordered: ordered))
    }

    /// Iterates over the results.
    ///
    /// Handing out an element of the current batch is inlined into the caller, with no suspension and no hop
    /// between executors; only fetching the next batch is a real async call.
    public struct AsyncIterator: AsyncIteratorProtocol {
        @usableFromInline let window: Window
        @usableFromInline var batch: [Element] = []
        @usableFromInline var position = 0

        init(window: Window) { self.window = window }

        @inlinable
        public mutating func next() async throws -> Element? {
            try await next(isolation: nil)
        }

        @inlinable
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Element? {
            if position < batch.count {
                defer { position += 1 }
                return batch[position]
            }
            return try await nextBatch(isolation: actor)
        }

        @usableFromInline
        mutating func nextBatch(isolation actor: isolated (any Actor)?) async throws -> Element? {
            while let next = try await window.nextBatch(isolation: actor) {
                guard !next.isEmpty else { continue }
                batch = next
                position = 1
                return next[0]
            }
            batch = []
            position = 0
            return nil
        }
    }

    /// The batches in flight; one iterator's private state.
    @usableFromInline
    final class Window {
        private let submit: Submitter
        private let maxInFlight: Int
        private let ordered: Bool
        private var inFlight: Deque<Future<[Element]>> = []
        private var exhausted = false
        private var finished = false
        private let completions = CompletionQueue()

        init(submit: @escaping Submitter, maxInFlight: Int, ordered: Bool) {
            self.submit = submit
            self.maxInFlight = maxInFlight
            self.ordered = ordered
        }

        deinit { cancelRemaining() }

        /// The next batch of results, or nil when every batch has been handed out.
        @usableFromInline
        func nextBatch(isolation actor: isolated (any Actor)?) async throws -> [Element]? {
            guard !finished else { return nil }
            refill()
            guard let batch = await nextOutcome(isolation: actor) else {
                finished = true
                return nil
            }
            do {
                return try batch.get()
            } catch {
                finished = true
                cancelRemaining()
                throw error
            }
        }

        private func refill() {
            while !exhausted, inFlight.count < maxInFlight {
                guard let future = submit() else {
                    exhausted = true
                    break
                }
                inFlight.append(future)
                if !ordered {
                    let completions = completions
                    future.onCompletion { _ in completions.push(future) }
                }
            }
        }

        private func nextOutcome(isolation actor: isolated (any Actor)?) async -> Result<[Element], any Error>? {
            if ordered {
                guard let head = inFlight.popFirst() else { return nil }
                return await head.outcome
            }
            guard !inFlight.isEmpty else { return nil }
            guard let done = await completions.pop() else { return .failure(CancellationError()) }
            if let index = inFlight.firstIndex(of: done) { inFlight.remove(at: index) }
            return await done.outcome
        }

        private func cancelRemaining() {
            for future in inFlight { future.cancel() }
            inFlight.removeAll()
        }
    }

    /// Futures in the order they completed, for unordered maps.
    private final class CompletionQueue: Sendable {
        private struct State {
            var ready: Deque<Future<[Element]>> = []
            var waiter: CheckedContinuation<Future<[Element]>?, Never>?
        }

        private let state = Mutex(State())

        func push(_ future: Future<[Element]>) {
            let waiter = state.withLock { state -> CheckedContinuation<Future<[Element]>?, Never>? in
                guard let waiter = state.waiter else {
                    state.ready.append(future)
                    return nil
                }
                state.waiter = nil
                return waiter
            }
            waiter?.resume(returning: future)
        }

        /// The next completed future; nil if the waiting task is cancelled.
        func pop() async -> Future<[Element]>? {
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { state -> Future<[Element]>?? in
                        if let future = state.ready.popFirst() { return .some(future) }
                        if Task.isCancelled { return .some(nil) }
                        state.waiter = continuation
                        return nil
                    }
                    if let ready { continuation.resume(returning: ready) }
                }
            } onCancel: {
                state.withLock { state in
                    defer { state.waiter = nil }
                    return state.waiter
                }?.resume(returning: nil)
            }
        }
    }
}
