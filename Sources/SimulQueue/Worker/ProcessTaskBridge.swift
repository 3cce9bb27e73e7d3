import Dispatch
public import Simul
import Synchronization

/// Runs catalog tasks in a ``ProcessPool``: the worker sends the task's name and arguments, and the worker process
/// (this binary started again) looks the task up in the same catalog.
///
/// Call ``install(_:into:)`` at the start of `main`, before `runWorkerIfRequested()`.
public enum QueueProcessTask: ProcessTask {
    /// What crosses the pipe to the worker process.
    public struct Input: Codable, Sendable {
        var name: String
        var args: [JSONValue]
        var kwargs: [String: JSONValue]
        var id: String
        var retries: Int
        var hostname: String
    }

    /// What comes back: the result, or the error with its type, or a retry request.
    public enum Output: Codable, Sendable {
        case success(JSONValue)
        case failure(type: String, message: String, module: String, traceback: String?)
        case retry(countdown: Double?, maxRetries: Int?)
    }

    public static let name = "simul.queue.run"

    private static let catalog = Mutex<TaskCatalog?>(nil)

    /// Makes `catalog`'s tasks runnable in pool workers.
    public static func install(_ catalog: TaskCatalog, into registry: inout TaskRegistry) {
        self.catalog.withLock { $0 = catalog }
        registry.register(QueueProcessTask.self)
    }

    public static func run(_ input: Input) throws -> Output {
        guard let task = catalog.withLock({ $0?[input.name] }) else {
            let error = TaskError.notRegistered(input.name)
            return .failure(type: error.type, message: error.message, module: error.module, traceback: nil)
        }
        let context = TaskContext(id: input.id, name: input.name, retries: input.retries, hostname: input.hostname)
        do {
            let value = try TaskContext.$current.withValue(context) {
                try task.runBlocking(args: input.args, kwargs: input.kwargs)
                    ?? blockingRun { try await task.run(args: input.args, kwargs: input.kwargs) }
            }
            return .success(value)
        } catch let retry as RetryRequest {
            return .retry(countdown: retry.countdown, maxRetries: retry.maxRetries)
        } catch {
            let failure = TaskError.from(error)
            return .failure(type: failure.type, message: failure.message, module: failure.module,
                            traceback: failure.traceback)
        }
    }

    /// Runs async work to completion from synchronous code in a pool worker, which has no other work.
    private static func blockingRun(_ work: @escaping @Sendable () async throws -> JSONValue) throws -> JSONValue {
        let outcome = Mutex<Result<JSONValue, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let result: Result<JSONValue, any Error>
            do { result = .success(try await work()) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try outcome.withLock { $0! }.get()
    }
}
