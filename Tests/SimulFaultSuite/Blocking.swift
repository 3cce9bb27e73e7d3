import Foundation
import Synchronization

/// Runs `body`, which is async, from the driver's own thread and waits for its end: the driver is synchronous code,
/// and what it starts in-process (a ``FaultProxy``, a `SentinelCluster`) is SwiftNIO and async. The driver's thread
/// is not one of the threads Swift's tasks run on, so waiting here holds none of them.
/// - Throws: what `body` throws.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Outcome<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        let result: Result<T, any Error>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        outcome.result.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    // swift-format-ignore: NeverForceUnwrap
    return try outcome.result.withLock { $0! }.get()
}

/// Where ``blocking(_:)``'s task leaves its result for the waiting thread.
private final class Outcome<T: Sendable>: Sendable {
    let result = Mutex<Result<T, any Error>?>(nil)
}
