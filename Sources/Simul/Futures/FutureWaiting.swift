import Synchronization

/// When ``wait(_:timeout:returnWhen:clock:)`` returns, as Python's `concurrent.futures` constants.
public enum ReturnWhen: Sendable, Hashable {
    /// As soon as any future finishes or is cancelled.
    case firstCompleted
    /// As soon as any future finishes with an error; if none does, when all are done.
    case firstException
    /// When every future is done.
    case allCompleted
}

/// Yields futures as they finish: first those already done, then the rest in completion order.
///
/// Duplicates are yielded once. Futures may come from different pools.
///
/// ```swift
/// for try await future in asCompleted(futures, timeout: .seconds(10)) {
///     print(try await future.value)
/// }
/// ```
/// - Parameters:
///   - futures: the futures to watch.
///   - timeout: one deadline for the whole iteration; `nil` waits for ever.
///   - clock: the clock that measures `timeout`.
/// - Returns: a stream of the futures; it throws ``TimeoutError`` (`"2 (of 5) futures unfinished"`) if the
///   deadline passes first.
public func asCompleted<Value: Sendable, C: Clock>(
    _ futures: some Collection<Future<Value>>,
    timeout: C.Duration? = nil,
    clock: C = ContinuousClock()
) -> AsyncThrowingStream<Future<Value>, any Error> where C.Duration == Duration {
    let unique = Array(Set(futures))
    let (stream, continuation) = AsyncThrowingStream.makeStream(of: Future<Value>.self)
    let remaining = LockedValue(unique.count)
    if unique.isEmpty { continuation.finish() }
    let timer = timeout.map { timeout in
        Task {
            try await clock.sleep(for: timeout)
            let left = remaining.withLock { $0 }
            continuation.finish(
                throwing: TimeoutError(timeout: timeout, detail: "\(left) (of \(unique.count)) futures unfinished"))
        }
    }
    continuation.onTermination = { _ in timer?.cancel() }
    for future in unique.sorted(by: { $0.isDone && !$1.isDone }) {
        future.onCompletion { _ in
            continuation.yield(future)
            let last = remaining.withLock { count in
                count -= 1
                return count == 0
            }
            if last { continuation.finish() }
        }
    }
    return stream
}

/// Waits until `returnWhen` holds or `timeout` passes, and says which futures are done.
///
/// Like Python's `concurrent.futures.wait`, it never throws on timeout: check `notDone`. Cancelled futures count
/// as done.
/// - Parameters:
///   - futures: the futures to watch.
///   - timeout: how long to wait at most; `nil` waits for ever.
///   - returnWhen: the condition to wait for.
///   - clock: the clock that measures `timeout`.
/// - Returns: the futures that are done and those that are not.
public func wait<Value: Sendable, C: Clock>(
    _ futures: some Collection<Future<Value>>,
    timeout: C.Duration? = nil,
    returnWhen: ReturnWhen = .allCompleted,
    clock: C = ContinuousClock()
) async -> (done: Set<Future<Value>>, notDone: Set<Future<Value>>) where C.Duration == Duration {
    let all = Set(futures)
    let gate = OneShotGate()
    let remaining = LockedValue(all.count)
    if all.isEmpty { gate.open() }
    for future in all {
        future.onCompletion { outcome in
            let allDone = remaining.withLock { count in
                count -= 1
                return count == 0
            }
            switch returnWhen {
            case .firstCompleted: gate.open()
            case .firstException:
                if case .failure(let error) = outcome, !(error is CancellationError) { gate.open() }
                if allDone { gate.open() }
            case .allCompleted: if allDone { gate.open() }
            }
        }
    }
    if let timeout {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await gate.wait() }
            group.addTask { try? await clock.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    } else {
        await gate.wait()
    }
    let done = all.filter(\.isDone)
    return (done, all.subtracting(done))
}

/// A gate that opens once; waiters resume when it opens or when their task is cancelled.
final class OneShotGate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.isOpen else { return [] }
            state.isOpen = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    if state.isOpen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
