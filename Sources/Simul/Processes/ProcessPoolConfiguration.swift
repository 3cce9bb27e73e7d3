import Foundation

/// How a ``ProcessPool`` runs its workers.
public struct ProcessPoolConfiguration: Sendable {
    /// What one crashed worker does to the rest of the pool.
    public enum CrashPolicy: Sendable, Hashable {
        /// Fail only the task that was running, respawn the worker, and leave every other future alone.
        case failTaskAndRespawn
        /// Python's `BrokenProcessPool`: fail every pending future and refuse new work.
        case breakPool
    }

    /// How many worker processes run at once; defaults to ``SystemInfo/availableCPUs``.
    public var maxWorkers: Int = SystemInfo.availableCPUs
    /// After this many tasks a worker exits and a fresh one replaces it; `nil` keeps workers for ever.
    public var maxTasksPerChild: Int?
    /// What a crash does to the pool.
    public var crashPolicy: CrashPolicy = .failTaskAndRespawn
    /// A task running longer than this is killed with its worker and fails with ``ProcessPoolError/timedOut(task:after:)``.
    public var taskTimeout: Duration?
    /// The binary to start as a worker; `nil` re-executes this program (`/proc/self/exe`), which must call
    /// ``TaskRegistry/runWorkerIfRequested()`` first thing in `main`.
    public var workerExecutable: String?
    /// Extra environment variables for the workers.
    public var environment: [String: String] = [:]
    /// How long a worker may take to exit after its input closes on shutdown, before SIGTERM and then SIGKILL.
    public var shutdownGrace: Duration = .seconds(2)

    /// The name and encoded input of the task each worker runs once before its first task.
    var initializer: (name: String, input: Data)?

    /// Creates the default configuration.
    public init() {}

    /// Runs `task` with `input` once in every worker before it takes work. If it throws, the pool is broken and
    /// every future fails with ``ProcessPoolError/initializerFailed(task:type:message:)``, as in Python.
    public mutating func setInitializer<T: ProcessTask>(_ task: T.Type, _ input: T.Input) throws {
        initializer = (T.name, try PoolCodec.encode(input))
    }
}
