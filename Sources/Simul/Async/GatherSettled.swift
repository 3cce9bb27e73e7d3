/// Runs every operation concurrently and returns each one's outcome, success or error, in the order of `operations`.
///
/// This is `asyncio.gather(*aws, return_exceptions=True)`: a failure doesn't stop or cancel the others. Each operation
/// starts at once, on the calling thread until its first suspension, as in ``gatherAll(_:)``.
///
/// ```swift
/// let outcomes = await gatherAllSettled(urls.map { url in { try await download(url) } })
/// for case .failure(let error) in outcomes { logger.warning("download failed: \(error)") }
/// ```
///
/// Cancelling the calling task cancels every operation; those that stop because of it report their error (usually
/// `CancellationError`) in their slot, as asyncio reports `CancelledError`.
///
/// - Parameter operations: the operations to run; an empty array gives `[]`.
/// - Returns: the outcomes, `outcomes[i]` being that of `operations[i]`.
public func gatherAllSettled<T: Sendable>(
    _ operations: [@Sendable () async throws -> T]
) async -> [Result<T, any Error>] {
    let count = operations.count
    guard count > 0 else { return [] }
    let finished = FinishedChildren()
    return await withTaskGroup(of: (Int, Result<T, any Error>).self) { group in
        var results = [Result<T, any Error>?](repeating: nil, count: count)
        var collected = 0
        for index in 0..<count {
            let operation = operations[index]
            group.addImmediateTask {
                defer { finished.increment() }
                return (index, await settle(operation))
            }
            // As in `gather`: free the children that have already finished while still adding.
            while collected < finished.count {
                guard let (done, outcome) = await group.next() else { break }
                results[done] = outcome
                collected += 1
            }
        }
        while let (done, outcome) = await group.next() {
            results[done] = outcome
        }
        return results.map { $0! }
    }
}

/// Runs every operation concurrently and returns each one's outcome, success or error, in argument order.
///
/// The heterogeneous form of ``gatherAllSettled(_:)``, like `asyncio.gather(a(), b(), return_exceptions=True)`:
///
/// ```swift
/// let (user, avatar) = await gatherSettled({ try await fetchUser(id) }, { try await fetchAvatar(id) })
/// let name = (try? user.get())?.name ?? "unknown"
/// ```
///
/// - Parameter operation: the operations to run; a failure doesn't stop or cancel the others.
/// - Returns: a tuple of the outcomes, in the order the operations were passed.
public func gatherSettled<each T: Sendable>(
    _ operation: repeat @escaping @Sendable () async throws -> each T
) async -> (repeat Result<each T, any Error>) {
    let slots = (repeat GatherSlot<Result<each T, any Error>>())
    await withTaskGroup(of: Void.self) { group in
        for (operation, slot) in repeat (each operation, each slots) {
            group.addImmediateTask { slot.store(await settle(operation)) }
        }
        await group.waitForAll()
    }
    return (repeat (each slots).take())
}

/// Runs `operation` and captures its value or error.
private func settle<T: Sendable>(_ operation: () async throws -> T) async -> Result<T, any Error> {
    do {
        return .success(try await operation())
    } catch {
        return .failure(error)
    }
}
