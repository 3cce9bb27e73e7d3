import Dispatch
import Foundation
public import Simul
public import SimulJSON
import Synchronization

/// Runs catalog tasks in a `ProcessPool`: the worker sends the task's name and arguments, and the worker process
/// (this binary started again) looks the task up in the same catalog.
///
/// Call ``install(_:into:)`` at the start of `main`, before `runWorkerIfRequested()`.
public enum QueueProcessTask: ProcessTask {
    /// What crosses the pipe to the worker process.
    ///
    /// Arguments cross as JSON text, read back with `JSONValue(parsing:)`, so they arrive as the message
    /// had them: `Codable` would turn a `JSONValue.bigInteger` into a `Double`.
    public struct Input: Codable, Sendable {
        var name: String
        var args: [JSONValue]
        var kwargs: [String: JSONValue]
        var id: String
        var retries: Int
        var hostname: String
        /// The queue the message came from, for the task's log metadata.
        var queue: String

        init(
            name: String, args: [JSONValue], kwargs: [String: JSONValue], id: String, retries: Int, hostname: String,
            queue: String
        ) {
            self.name = name
            self.args = args
            self.kwargs = kwargs
            self.id = id
            self.retries = retries
            self.hostname = hostname
            self.queue = queue
        }

        private enum CodingKeys: String, CodingKey { case name, args, kwargs, id, retries, hostname, queue }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(JSONValue.array(args).jsonText, forKey: .args)
            try container.encode(JSONValue.object(kwargs).jsonText, forKey: .kwargs)
            try container.encode(id, forKey: .id)
            try container.encode(retries, forKey: .retries)
            try container.encode(hostname, forKey: .hostname)
            try container.encode(queue, forKey: .queue)
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            args = try QueueProcessTask.exactJSON(container, .args).decode(as: [JSONValue].self)
            kwargs = try QueueProcessTask.exactJSON(container, .kwargs).decode(as: [String: JSONValue].self)
            id = try container.decode(String.self, forKey: .id)
            retries = try container.decode(Int.self, forKey: .retries)
            hostname = try container.decode(String.self, forKey: .hostname)
            queue = try container.decode(String.self, forKey: .queue)
        }
    }

    /// What comes back: the result, or the error with its type, or a retry request.
    ///
    /// A result crosses as JSON text, as ``Input``'s arguments do, so a big integer a task returns stays exact.
    public enum Output: Codable, Sendable {
        case success(JSONValue)
        case failure(type: String, message: String, module: String, traceback: String?)
        case retry(countdown: Double?, maxRetries: Int?)

        private enum CodingKeys: String, CodingKey { case success, failure, retry }
        private enum FailureKeys: String, CodingKey { case type, message, module, traceback }
        private enum RetryKeys: String, CodingKey { case countdown, maxRetries }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .success(let value):
                try container.encode(value.jsonText, forKey: .success)
            case .failure(let type, let message, let module, let traceback):
                var failure = container.nestedContainer(keyedBy: FailureKeys.self, forKey: .failure)
                try failure.encode(type, forKey: .type)
                try failure.encode(message, forKey: .message)
                try failure.encode(module, forKey: .module)
                try failure.encodeIfPresent(traceback, forKey: .traceback)
            case .retry(let countdown, let maxRetries):
                var retry = container.nestedContainer(keyedBy: RetryKeys.self, forKey: .retry)
                try retry.encodeIfPresent(countdown, forKey: .countdown)
                try retry.encodeIfPresent(maxRetries, forKey: .maxRetries)
            }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if container.contains(.success) {
                self = .success(try QueueProcessTask.exactJSON(container, .success))
            } else if container.contains(.failure) {
                let failure = try container.nestedContainer(keyedBy: FailureKeys.self, forKey: .failure)
                self = .failure(
                    type: try failure.decode(String.self, forKey: .type),
                    message: try failure.decode(String.self, forKey: .message),
                    module: try failure.decode(String.self, forKey: .module),
                    traceback: try failure.decodeIfPresent(String.self, forKey: .traceback))
            } else {
                let retry = try container.nestedContainer(keyedBy: RetryKeys.self, forKey: .retry)
                self = .retry(
                    countdown: try retry.decodeIfPresent(Double.self, forKey: .countdown),
                    maxRetries: try retry.decodeIfPresent(Int.self, forKey: .maxRetries))
            }
        }
    }

    /// A state a task stores with ``TaskContext/updateState(_:meta:)`` in a worker process, on its way to the
    /// worker: `{"state": …, "meta": …}` as JSON text, so the meta stays exact.
    struct StateUpdate: Equatable {
        var state: TaskState
        var meta: JSONValue

        var encoded: Data { Data(JSONValue.object(["state": .string(state.rawValue), "meta": meta]).jsonBytes) }

        /// Reads an update; `nil` for anything else.
        init?(decoding data: Data) {
            guard let update = try? JSONValue(parsing: data), let state = update["state"]?.stringValue,
                let meta = update["meta"]
            else { return nil }
            self.init(state: TaskState(rawValue: state), meta: meta)
        }

        init(state: TaskState, meta: JSONValue) {
            self.state = state
            self.meta = meta
        }
    }

    /// Parses the JSON text under `key`.
    private static func exactJSON<Key>(_ container: KeyedDecodingContainer<Key>, _ key: Key) throws -> JSONValue {
        let text = try container.decode(String.self, forKey: key)
        do {
            return try JSONValue(parsing: Data(text.utf8))
        } catch {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: container, debugDescription: "not JSON text: \(error)")
        }
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
        // The state a task stores crosses the pipe to the worker, which stores it as its other pools do.
        let context =
            ProcessTaskUpdates.current.map { updates in
                TaskContext(
                    id: input.id, name: input.name, retries: input.retries, hostname: input.hostname, client: nil,
                    stateWriter: { state, meta in updates.send(StateUpdate(state: state, meta: meta).encoded) })
            } ?? TaskContext(id: input.id, name: input.name, retries: input.retries, hostname: input.hostname)
        // The worker's task-local does not cross the pipe: bind it again here, for the loggers of the task's code.
        let metadata = TaskLogMetadata(
            taskId: input.id, taskName: input.name, queue: input.queue, worker: input.hostname, retries: input.retries)
        do {
            let value = try TaskLogMetadata.$current.withValue(metadata) {
                try TaskContext.$current.withValue(context) {
                    try task.runBlocking(args: input.args, kwargs: input.kwargs)
                        ?? blockingRun { try await task.run(args: input.args, kwargs: input.kwargs) }
                }
            }
            return .success(value)
        } catch let retry as RetryRequest {
            return .retry(countdown: retry.countdown, maxRetries: retry.maxRetries)
        } catch {
            let failure = TaskError.from(error)
            return .failure(
                type: failure.type, message: failure.message, module: failure.module,
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
