#if canImport(Glibc)
    import Glibc
#endif

/// Why a ``ProcessPool`` task failed.
///
/// ```swift
/// do { try await pool.run(Crashy.self, ()) }
/// catch let error as ProcessPoolError where error.signal == SIGSEGV { print("segfault in", error.task) }
/// ```
public struct ProcessPoolError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Sendable, Hashable {
        case crashed
        case remote
        case unknownTask
        case decoding
        case encoding
        case timedOut
        case broken
        case initializerFailed
        case shutDown
    }

    private let code: Code
    /// The task's name, when the error concerns one task.
    public let task: String
    /// The worker's pid, for crashes.
    public let pid: Int32?
    /// The signal that killed the worker, if one did.
    public let signal: Int32?
    /// The worker's exit code, if it exited.
    public let exitCode: Int32?
    /// The type of the error the task threw, such as `"MyApp.ParseError"`.
    public let remoteType: String?
    /// What went wrong, in words.
    public let message: String

    private init(
        _ code: Code, task: String = "", pid: Int32? = nil, signal: Int32? = nil, exitCode: Int32? = nil,
        remoteType: String? = nil, message: String
    ) {
        self.code = code
        self.task = task
        self.pid = pid
        self.signal = signal
        self.exitCode = exitCode
        self.remoteType = remoteType
        self.message = message
    }

    /// The worker died while running the task: a trap, a signal or `exit`.
    public static func workerCrashed(task: String, pid: Int32, status: Int32) -> ProcessPoolError {
        let signal = status & 0x7f
        if signal != 0 {
            return ProcessPoolError(
                .crashed, task: task, pid: pid, signal: signal,
                message: "worker \(pid) was killed by signal \(signal) (\(signalName(signal))) while running '\(task)'"
            )
        }
        let code = (status >> 8) & 0xff
        return ProcessPoolError(
            .crashed, task: task, pid: pid, exitCode: code,
            message: "worker \(pid) exited with code \(code) while running '\(task)'"
        )
    }

    /// The task threw an error in the worker.
    public static func remote(task: String, type: String, message: String) -> ProcessPoolError {
        ProcessPoolError(.remote, task: task, remoteType: type, message: "'\(task)' failed with \(type): \(message)")
    }

    /// No task of that name is registered in the worker binary.
    public static func unknownTask(_ task: String, detail: String) -> ProcessPoolError {
        ProcessPoolError(.unknownTask, task: task, message: detail)
    }

    /// The input (in the worker) or the output (in the parent) did not decode.
    public static func decoding(task: String, message: String) -> ProcessPoolError {
        ProcessPoolError(.decoding, task: task, message: message)
    }

    /// The input (in the parent) or the output (in the worker) did not encode.
    public static func encoding(task: String, message: String) -> ProcessPoolError {
        ProcessPoolError(.encoding, task: task, message: message)
    }

    /// The task ran past ``ProcessPoolConfiguration/taskTimeout``; its worker was killed.
    public static func timedOut(task: String, after timeout: Duration) -> ProcessPoolError {
        ProcessPoolError(.timedOut, task: task, message: "'\(task)' ran past its \(timeout.timeDescription) timeout")
    }

    /// The pool is broken (``ProcessPoolConfiguration/CrashPolicy/breakPool``, or workers that cannot start).
    public static func poolBroken(_ reason: String) -> ProcessPoolError {
        ProcessPoolError(.broken, message: "the process pool is broken: \(reason)")
    }

    /// The pool's initializer threw in a worker.
    public static func initializerFailed(task: String, type: String, message: String) -> ProcessPoolError {
        ProcessPoolError(
            .initializerFailed, task: task, remoteType: type,
            message: "the process pool is broken: initializer '\(task)' failed with \(type): \(message)"
        )
    }

    /// The pool was shut down before the task was submitted.
    public static let shutDown = ProcessPoolError(.shutDown, message: "cannot submit work after shutdown")

    /// Whether two errors are the same kind of failure, ignoring details such as the pid.
    public func hasSameKind(as other: ProcessPoolError) -> Bool { code == other.code }

    public var description: String { message }

    private static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGILL: "SIGILL, a Swift runtime trap"
        case SIGTRAP: "SIGTRAP, a Swift runtime trap"
        case SIGSEGV: "SIGSEGV, a segmentation fault"
        case SIGBUS: "SIGBUS"
        case SIGABRT: "SIGABRT"
        case SIGKILL: "SIGKILL"
        case SIGTERM: "SIGTERM"
        case SIGFPE: "SIGFPE"
        default: "signal \(signal)"
        }
    }
}
