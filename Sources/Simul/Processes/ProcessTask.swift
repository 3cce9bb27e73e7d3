import Foundation

/// A unit of work that a ``ProcessPool`` worker process can run, addressed by name.
///
/// Closures cannot cross a process boundary, so process work is a type: a name, a `Codable` input and output, and
/// a static function. The parent and the worker are the same binary, so the name finds the same code.
///
/// ```swift
/// struct LeastPrimeFactor: ProcessTask {
///     static func run(_ n: UInt64) throws -> UInt64 { smallestFactor(of: n) }
/// }
/// ```
public protocol ProcessTask: Sendable {
    /// What the task receives; sent as raw bytes when it is a number or an array of numbers, else as JSON.
    associatedtype Input: Codable & Sendable
    /// What the task returns; encoded like the input.
    associatedtype Output: Codable & Sendable

    /// The name the pool sends; by default the type's full name, such as `"MyApp.LeastPrimeFactor"`.
    static var name: String { get }

    /// Runs the task inside a worker process.
    /// - Parameter input: the decoded input.
    /// - Returns: the output to send back.
    /// - Throws: any error; the caller's future fails with ``ProcessPoolError`` carrying its type and message.
    static func run(_ input: Input) throws -> Output
}

extension ProcessTask {
    public static var name: String { String(reflecting: Self.self) }
}

/// The tasks a worker process can run, by name.
///
/// Build it at the very start of `main` and call ``runWorkerIfRequested()`` before anything else: a worker is this
/// same binary started again, and that call is where it turns into a worker.
///
/// ```swift
/// @main struct App {
///     static func main() async throws {
///         var registry = TaskRegistry()
///         registry.register(LeastPrimeFactor.self)
///         registry.runWorkerIfRequested()     // never returns in a worker process
///         let pool = ProcessPool()
///         print(try await pool.run(LeastPrimeFactor.self, 91))
///     }
/// }
/// ```
public struct TaskRegistry: Sendable {
    /// Runs one registered task on encoded input; `chunk` means the input and output are arrays.
    typealias Runner = @Sendable (_ body: Data, _ chunk: Bool) -> Result<Data, WorkerFailure>

    private(set) var runners: [String: Runner] = [:]

    /// Creates an empty registry.
    public init() {}

    /// The names of the registered tasks.
    public var names: [String] { runners.keys.sorted() }

    /// Registers a task under its ``ProcessTask/name``. Registering two tasks under one name is a programming
    /// error and traps.
    public mutating func register<T: ProcessTask>(_ task: T.Type) {
        precondition(runners[T.name] == nil, "two process tasks are registered as '\(T.name)'")
        runners[T.name] = { body, chunk in
            do {
                if chunk {
                    let inputs = try Self.decode([T.Input].self, for: T.name, from: body)
                    return try Self.encode(inputs.map(T.run))
                }
                return try Self.encode(T.run(Self.decode(T.Input.self, for: T.name, from: body)))
            } catch let failure as WorkerFailure {
                return .failure(failure)
            } catch {
                return .failure(.thrown(error))
            }
        }
    }

    /// Turns this process into a pool worker if a ``ProcessPool`` started it, and never returns in that case;
    /// otherwise returns at once.
    public func runWorkerIfRequested() {
        guard let marker = getenv(WorkerProcess.markerVariable), String(cString: marker) == "1" else { return }
        unsetenv(WorkerProcess.markerVariable)
        var loop = WorkerLoop(registry: self)
        loop.run()
    }

    private static func encode(_ value: some Encodable) throws(WorkerFailure) -> Result<Data, WorkerFailure> {
        do {
            return .success(try PoolCodec.encode(value))
        } catch {
            throw WorkerFailure(kind: .encoding, type: "EncodingError", message: "\(error)")
        }
    }

    private static func decode<Input: Decodable>(_ type: Input.Type, for task: String, from body: Data)
        throws(WorkerFailure) -> Input
    {
        do {
            return try PoolCodec.decode(type, from: body)
        } catch {
            throw WorkerFailure(
                kind: .decoding,
                type: "DecodingError",
                message: "input for '\(task)' is not a \(Input.self): \(DecodingError.describe(error))"
            )
        }
    }
}

extension DecodingError {
    /// One line saying what did not decode and where, for error messages.
    package static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: Context) -> String {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "the top level" : "'\(path)'"
        }
        switch error {
        case .typeMismatch(let type, let context): return "expected \(type) at \(path(context))"
        case .keyNotFound(let key, let context): return "missing key '\(key.stringValue)' at \(path(context))"
        case .valueNotFound(let type, let context): return "missing \(type) at \(path(context))"
        case .dataCorrupted(let context):
            let detail = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "\(detail ?? context.debugDescription) at \(path(context))"
        @unknown default: return "\(error)"
        }
    }
}

/// An error reported by a worker process, as it travels back over the pipe.
struct WorkerFailure: Error, Sendable, Equatable {
    enum Kind: UInt8, Sendable {
        case thrown = 0
        case unknownTask = 1
        case decoding = 2
        case encoding = 3
    }

    var kind: Kind
    var type: String
    var message: String

    static func thrown(_ error: any Error) -> WorkerFailure {
        WorkerFailure(kind: .thrown, type: String(reflecting: Swift.type(of: error)), message: "\(error)")
    }
}
