import Foundation
import Simul
import SimulJSON

/// Where a worker's tasks run: one thread, a thread pool, a process pool, or the cooperative pool.
final class TaskExecutorPool: Sendable {
    private let pool: WorkerConfiguration.Pool
    private let threads: ThreadPool?
    private let processes: ProcessPool?

    init(configuration: WorkerConfiguration) {
        pool = configuration.pool
        switch configuration.pool {
        case .solo, .threads:
            threads = ThreadPool(maxWorkers: configuration.poolCapacity, namePrefix: "simul-task")
            processes = nil
        case .processes:
            var processConfiguration = configuration.processPool
            processConfiguration.maxWorkers = configuration.poolCapacity
            threads = nil
            processes = ProcessPool(processConfiguration)
        case .async:
            threads = nil
            processes = nil
        }
    }

    /// Runs `task` with the message's arguments, with `context` as ``TaskContext/current``.
    func run(_ task: RegisteredTask, _ message: TaskMessage, _ context: TaskContext) async throws -> JSONValue {
        let args = message.args
        let kwargs = message.kwargs
        if let processes {
            let input = QueueProcessTask.Input(
                name: task.name, args: args, kwargs: kwargs, id: message.id, retries: message.retries,
                hostname: context.hostname, queue: TaskLogMetadata.current?.queue ?? message.queue)
            let output: QueueProcessTask.Output
            do {
                output = try await processes.run(QueueProcessTask.self, input) { data in
                    // The worker process checked the state; what does not decode did not come from updateState.
                    guard let update = QueueProcessTask.StateUpdate(decoding: data) else { return }
                    try? context.updateState(update.state, meta: update.meta)
                }
            } catch let error as ProcessPoolError {
                // The pool runs every queued task as `simul.queue.run`: name the task the user sent instead.
                guard let pid = error.pid, let status = error.signal ?? error.exitCode.map({ $0 << 8 }) else {
                    throw error
                }
                throw ProcessPoolError.workerCrashed(task: task.name, pid: pid, status: status)
            }
            switch output {
            case .success(let value): return value
            case .failure(let type, let message, let module, let traceback):
                throw TaskError(type: type, message: message, module: module, traceback: traceback)
            case .retry(let countdown, let maxRetries):
                throw RetryRequest(countdown: countdown, maxRetries: maxRetries, cause: nil)
            }
        }
        if let threads, !task.isAsync {
            // Task-locals stay on this task: bind them again on the pool's thread.
            let metadata = TaskLogMetadata.current
            return try await threads.run {
                try TaskLogMetadata.$current.withValue(metadata) {
                    try TaskContext.$current.withValue(context) { try task.runBlocking(args: args, kwargs: kwargs)! }
                }
            }
        }
        return try await TaskContext.$current.withValue(context) { try await task.run(args: args, kwargs: kwargs) }
    }

    /// The pids of the processes pool's worker processes; empty for the other pools.
    var processIDs: [Int32] { processes?.workerPIDs ?? [] }

    /// Replaces the processes pool's worker processes once their running tasks are done.
    /// - Returns: false for the other pools, which have no processes to replace.
    func restart() -> Bool {
        guard let processes else { return false }
        processes.restart()
        return true
    }

    func shutdown() async {
        await threads?.shutdown(cancelPending: true)
        await processes?.shutdown(cancelPending: true)
    }
}
