/// Runs `operation`, cancelling it and throwing ``TimeoutError`` if it hasn't finished within `timeout` on `clock`.
///
/// This is `asyncio.timeout(delay)` / `asyncio.wait_for(aw, timeout)`:
///
/// ```swift
/// let body = try await withTimeout(.seconds(30)) {
///     let response = try await client.execute(request, timeout: .seconds(30))
///     return try await response.body.collect(upTo: 10 << 20)
/// }
/// ```
///
/// The operation and a timer race in a task group. Swift cancellation is cooperative: when the time is up the
/// operation is cancelled, and `withTimeout` returns (by throwing) only once the operation notices and returns.
/// An operation that never checks for cancellation therefore delays the `TimeoutError` until it finishes on its own.
/// Python's `wait_for` waits for the cancelled work in the same way (bpo-32751). Once the time is up the outcome is
/// `TimeoutError` even if the operation then returns a value or throws an error of its own.
///
/// - Parameters:
///   - timeout: how long the operation may run, measured on `clock` from the call.
///   - clock: the clock that measures `timeout`; tests can pass a manual clock.
///   - operation: the work to run in a child task.
/// - Returns: the value of `operation`, if it finishes in time.
/// - Throws: ``TimeoutError`` with `timeout` if time ran out; `CancellationError` if the calling task is cancelled
///   (before or during the call); otherwise the error `operation` throws, unchanged.
public func withTimeout<T: Sendable, C: Clock>(
    _ timeout: C.Duration,
    clock: C = ContinuousClock(),
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T where C.Duration == Duration {
    try Task.checkCancellation()
    let deadline = clock.now.advanced(by: timeout)
    let outcome = await withTaskGroup(of: TimeoutRace<T>.self) { group in
        group.addTask {
            do {
                return .finished(.success(try await operation()))
            } catch {
                return .finished(.failure(error))
            }
        }
        group.addTask {
            do {
                try await clock.sleep(until: deadline, tolerance: nil)
                return .timeUp
            } catch {
                return .timerCancelled
            }
        }
        let first = await group.next() ?? .timerCancelled
        // Cancels the loser; the group then waits for it, so a cancelled operation has returned when we do.
        group.cancelAll()
        return first
    }
    if Task.isCancelled { throw CancellationError() }
    switch outcome {
    case .finished(let result): return try result.get()
    case .timeUp: throw TimeoutError(timeout: timeout)
    // The timer only stops early when the group is cancelled, which here means the calling task was.
    case .timerCancelled: throw CancellationError()
    }
}

/// Runs `operation`, cancelling it and throwing ``TimeoutError`` if it hasn't finished within `timeout`.
///
/// The same as ``withTimeout(_:clock:_:)`` on a `ContinuousClock`:
///
/// ```swift
/// let value = try await withTimeout(.milliseconds(500)) { try await cache.lookup(key) }
/// ```
///
/// Cancellation is cooperative, so on timeout this returns once the operation has noticed its cancellation.
/// - Parameters:
///   - timeout: how long the operation may run.
///   - operation: the work to run in a child task.
/// - Returns: the value of `operation`, if it finishes in time.
/// - Throws: ``TimeoutError`` with `timeout` if time ran out; `CancellationError` if the calling task is cancelled;
///   otherwise the error `operation` throws, unchanged.
public func withTimeout<T: Sendable>(
    _ timeout: Duration,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withTimeout(timeout, clock: ContinuousClock(), operation)
}

/// The first event in ``withTimeout(_:clock:_:)``'s race.
private enum TimeoutRace<Value: Sendable>: Sendable {
    case finished(Result<Value, any Error>)
    case timeUp
    case timerCancelled
}
