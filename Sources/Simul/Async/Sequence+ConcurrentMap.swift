extension Sequence where Element: Sendable {
    /// Transforms every element concurrently, with at most `maxConcurrency` transforms running at once, and returns
    /// the results in the order of the sequence.
    ///
    /// This is `Executor.map` with a bounded window (Python 3.14's `buffersize`), for async work:
    ///
    /// ```swift
    /// let sizes = try await urls.concurrentMap(maxConcurrency: 8) { url in
    ///     try await download(url).count
    /// }
    /// ```
    ///
    /// Elements are read lazily from the sequence, one each time a slot frees up, so a large sequence is never
    /// turned into a large number of pending tasks. The first error cancels the transforms still running, and is
    /// rethrown unchanged once they have returned. If the calling task is cancelled, no new transform starts.
    ///
    /// - Parameters:
    ///   - maxConcurrency: how many transforms may run at once. Must be at least 1; 1 runs them one by one.
    ///   - transform: the work to run for each element, in its own child task.
    /// - Returns: the transformed elements, in the order of the sequence.
    /// - Throws: the first error a transform throws, or `CancellationError` if the calling task was cancelled
    ///   before every element had started.
    public func concurrentMap<T: Sendable>(
        maxConcurrency: Int,
        _ transform: @escaping @Sendable (Element) async throws -> T
    ) async throws -> [T] {
        precondition(
            maxConcurrency >= 1,
            "concurrentMap(maxConcurrency:) needs maxConcurrency >= 1, got \(maxConcurrency)"
        )
        var elements = makeIterator()
        return try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var results: [T?] = []
            results.reserveCapacity(underestimatedCount)
            var running = 0
            while running < maxConcurrency, let element = elements.next() {
                try Task.checkCancellation()
                let index = results.count
                results.append(nil)
                group.addTask { (index, try await transform(element)) }
                running += 1
            }
            while let (index, value) = try await group.next() {
                results[index] = value
                if let element = elements.next() {
                    try Task.checkCancellation()
                    let next = results.count
                    results.append(nil)
                    group.addTask { (next, try await transform(element)) }
                }
            }
            return results.map { $0! }
        }
    }
}
