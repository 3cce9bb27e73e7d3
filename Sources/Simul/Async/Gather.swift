import Synchronization

/// Runs every operation concurrently and returns their results in argument order, like `asyncio.gather(a(), b())`.
///
/// The operations may return different types; the result is a tuple with one element per operation:
///
/// ```swift
/// let (user, avatar) = try await gather({ try await fetchUser(id) }, { try await fetchAvatar(id) })
/// ```
///
/// For many operations of one type, use ``gatherAll(_:)``. (It has its own name because an overload of `gather`
/// stops Swift 6.3 from inferring `@Sendable` for closure literals passed to the parameter pack.)
///
/// Each operation runs in its own child task, started at once: it runs on the calling thread until its first
/// suspension, as with asyncio's eager tasks, and goes on concurrently from there. If one throws, `gather` cancels
/// the others, waits for them to notice, and rethrows that first error unchanged. This deviates from asyncio, where the siblings of a failed
/// awaitable keep running after `gather` has raised; in Swift they are child tasks and cannot outlive the call.
/// Cancelling the task that called `gather` cancels every operation.
///
/// - Parameter operation: the operations to run; with none, `gather()` returns `()` at once.
/// - Returns: a tuple of the results, in the order the operations were passed.
/// - Throws: the first error an operation throws, in completion order.
public func gather<each T: Sendable>(
    _ operation: repeat @escaping @Sendable () async throws -> each T
) async throws -> (repeat each T) {
    let slots = (repeat GatherSlot<each T>())
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (operation, slot) in repeat (each operation, each slots) {
            group.addImmediateTask { slot.store(try await operation()) }
        }
        // `next()` rethrows the first failure at once, unlike `waitForAll()`, which waits for every child first.
        // Leaving the body by throwing cancels the remaining children.
        while try await group.next() != nil {}
    }
    return (repeat (each slots).take())
}

/// Runs every operation concurrently and returns their results in the order of `operations`.
///
/// This is `asyncio.gather(*aws)` for many operations of one type:
///
/// ```swift
/// let pages = try await gatherAll(urls.map { url in { try await download(url) } })
/// ```
///
/// Every operation gets its own child task at once, so operations may wait for each other without deadlocking.
/// Each child starts immediately: it runs on the calling thread until its first suspension (a network call, a
/// sleep, a wait), as with asyncio's eager tasks, and then concurrently with the others. An operation that finishes
/// without suspending costs no thread hop at all. Work that computes for long without suspending therefore runs
/// one operation after another; give it to `concurrentMap(maxConcurrency:_:)` or a ``ThreadPool`` instead, which
/// also bound how many run at a time.
/// If one throws, `gather` cancels the others, waits for them to notice, and rethrows that first error unchanged
/// (asyncio leaves the siblings running); operations not started yet are not started.
///
/// - Parameter operations: the operations to run; an empty array gives `[]`.
/// - Returns: the results, `results[i]` being the value of `operations[i]`.
/// - Throws: the first error an operation throws, in completion order.
@inlinable  // lets callers specialize it for their `T`: about 10% less CPU per operation than the generic body
public func gatherAll<T: Sendable>(_ operations: [@Sendable () async throws -> T]) async throws -> [T] {
    let count = operations.count
    guard count > 0 else { return [] }
    let finished = FinishedChildren()
    return try await withThrowingTaskGroup(of: (Int, T).self) { group in
        var results = [T?](repeating: nil, count: count)
        var collected = 0
        for index in 0..<count {
            let operation = operations[index]
            group.addImmediateTask {
                defer { finished.increment() }
                return (index, try await operation())
            }
            // Collect the children that have already finished while still adding: a finished child stays allocated
            // until `next()` returns it, and freeing them early keeps the memory hot. With 100k no-op children this
            // is the difference between about 0.5M and 1M operations per second on two cores. `next()` only runs
            // for children that have finished (or are finishing), so no operation waits for a later one to start.
            while collected < finished.count {
                guard let (done, value) = try await group.next() else { break }
                results[done] = value
                collected += 1
            }
        }
        while let (done, value) = try await group.next() {
            results[done] = value
        }
        return results.map { $0! }
    }
}

/// Holds one result of the parameter-pack `gather`, written by its child task and read after the group ends.
final class GatherSlot<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    init() {}

    func store(_ newValue: sending Value) {
        value.withLock { $0 = newValue }
    }

    /// The stored value; only called after the child that stores it has finished.
    func take() -> Value {
        value.withLock { value in
            guard let result = value.take() else {
                preconditionFailure("gather: a child task finished without storing its result")
            }
            return result
        }
    }
}

/// Counts the child tasks of the array `gather` that have finished, so the parent knows `next()` won't wait long.
@usableFromInline
final class FinishedChildren: Sendable {
    private let finished = Atomic<Int>(0)

    @usableFromInline
    init() {}

    @usableFromInline
    func increment() {
        finished.add(1, ordering: .releasing)
    }

    @usableFromInline
    var count: Int { finished.load(ordering: .acquiring) }
}
