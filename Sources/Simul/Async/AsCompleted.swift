/// Runs the operations concurrently and yields each outcome as soon as it is known, in completion order.
///
/// This is `asyncio.as_completed` for operations rather than futures. Each element carries the operation's
/// index in `operations`, so results can be matched to inputs:
///
/// ```swift
/// for await (index, result) in asCompleted(urls.map { url in { try await download(url) } }, maxConcurrency: 4) {
///     switch result {
///     case .success(let data): print("\(urls[index]): \(data.count) bytes")
///     case .failure(let error): print("\(urls[index]): \(error)")
///     }
/// }
/// ```
///
/// The operations run in a task group owned by the stream. Operations start in index order and at most
/// `maxConcurrency` run at a time; one more starts each time one finishes. An error doesn't stop the others: it is
/// yielded as a `.failure`. The stream finishes after the last outcome.
///
/// Dropping the stream (leaving the `for await` loop early and letting go of the stream) or cancelling the task
/// that iterates it cancels the operations still running, and no new ones start. Cancellation is cooperative: an
/// operation that ignores it keeps running in the background until it returns.
///
/// - Parameters:
///   - operations: the operations to run.
///   - maxConcurrency: how many operations may run at once; `nil` starts them all at once. Must be at least 1.
/// - Returns: a stream of `(index, result)` pairs, one per operation, in the order they finish.
public func asCompleted<T: Sendable>(
    _ operations: [@Sendable () async throws -> T],
    maxConcurrency: Int? = nil
) -> AsyncStream<(index: Int, result: Result<T, any Error>)> {
    if let maxConcurrency {
        precondition(
            maxConcurrency >= 1,
            "asCompleted(_:maxConcurrency:) needs maxConcurrency >= 1, got \(maxConcurrency)"
        )
    }
    typealias Outcome = (index: Int, result: Result<T, any Error>)
    let (stream, continuation) = AsyncStream.makeStream(of: Outcome.self)
    let width = min(maxConcurrency ?? operations.count, operations.count)
    let producer = Task {
        await withTaskGroup(of: Outcome.self) { group in
            var started = 0
            while started < width {
                let index = started
                let operation = operations[index]
                group.addTask { (index, await outcome(of: operation)) }
                started += 1
            }
            while let finished = await group.next() {
                if case .terminated = continuation.yield(finished) {
                    group.cancelAll()
                    return
                }
                if started < operations.count {
                    let index = started
                    let operation = operations[index]
                    // Unless the consumer went away (the producer task is then cancelled, and so is the group).
                    if group.addTaskUnlessCancelled(operation: { (index, await outcome(of: operation)) }) {
                        started += 1
                    }
                }
            }
        }
        continuation.finish()
    }
    // Set before the stream is returned, so no termination can be missed.
    continuation.onTermination = { _ in producer.cancel() }
    return stream
}

/// Runs `operation` and captures its value or error.
private func outcome<T: Sendable>(of operation: @Sendable () async throws -> T) async -> Result<T, any Error> {
    do {
        return .success(try await operation())
    } catch {
        return .failure(error)
    }
}
