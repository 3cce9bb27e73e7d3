public import Logging

/// The task a worker is running, as swift-log metadata: `task_id`, `task_name`, `task_retries`, `queue` and
/// `worker`.
///
/// The worker binds it as a task-local while it runs a task, on the thread or task the task's code runs on, and
/// ``Logging/Logger/MetadataProvider/simulTask`` reads it, so every logger made with that provider, the worker's and
/// the task's own, adds the metadata to each line:
///
/// ```swift
/// LoggingSystem.bootstrap(StreamLogHandler.standardError, metadataProvider: .simulTask)
/// catalog.register("tasks.add", parameters: ["x", "y"]) { (x: Int, y: Int) in
///     Logger(label: "tasks").info("adding")   // … task_id=… task_name=tasks.add …: adding
///     return x + y
/// }
/// ```
///
/// The processes pool runs tasks in other processes, which do not inherit it: ``QueueProcessTask`` binds it again
/// there, from what crosses the pipe.
public struct TaskLogMetadata: Sendable {
    /// The task id.
    public var taskId: String
    /// The task name.
    public var taskName: String
    /// The queue the message came from.
    public var queue: String
    /// The worker's name.
    public var worker: String
    /// How many times the task has been retried.
    public var retries: Int

    /// The task being run here, if any.
    @TaskLocal public static var current: TaskLogMetadata?

    /// Creates the metadata of one task run.
    public init(taskId: String, taskName: String, queue: String, worker: String, retries: Int) {
        self.taskId = taskId
        self.taskName = taskName
        self.queue = queue
        self.worker = worker
        self.retries = retries
    }

    /// The fields as swift-log metadata.
    public var metadata: Logger.Metadata {
        [
            "task_id": .string(taskId), "task_name": .string(taskName), "task_retries": "\(retries)",
            "queue": .string(queue), "worker": .string(worker),
        ]
    }
}

extension Logger.MetadataProvider {
    /// The running task's ``TaskLogMetadata``, or nothing outside a task.
    public static let simulTask = Logger.MetadataProvider { TaskLogMetadata.current?.metadata ?? [:] }
}
