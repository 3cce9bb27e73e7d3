import Foundation
public import Simul
import Synchronization

/// Process tasks for the process-pool tests, run by the `SimulTestWorker` executable.
public enum TestTasks {
    /// Every task below, registered.
    public static var registry: TaskRegistry {
        var registry = TaskRegistry()
        registry.register(Add.self)
        registry.register(Square.self)
        registry.register(Fail.self)
        registry.register(Trap.self)
        registry.register(Segfault.self)
        registry.register(Exit.self)
        registry.register(Hang.self)
        registry.register(WorkerPID.self)
        registry.register(Initialize.self)
        registry.register(Initialized.self)
        registry.register(Report.self)
        registry.register(WaitForFile.self)
        return registry
    }

    /// The worker executable next to the test bundle.
    public static var workerExecutable: String { builtExecutable("SimulTestWorker") }

    /// A configuration that starts the test worker.
    public static func configuration(workers: Int = 2) -> ProcessPoolConfiguration {
        var configuration = ProcessPoolConfiguration()
        configuration.workerExecutable = workerExecutable
        configuration.maxWorkers = workers
        return configuration
    }
}

public struct Pair: Codable, Sendable, Equatable {
    public var x: Int
    public var y: Int
    public init(x: Int, y: Int) {
        self.x = x
        self.y = y
    }
}

public struct Add: ProcessTask {
    public static func run(_ input: Pair) -> Int { input.x + input.y }
}

public struct Square: ProcessTask {
    public static func run(_ input: Int) -> Int { input * input }
}

public struct TaskFailure: Error, CustomStringConvertible {
    public var description: String
}

public struct Fail: ProcessTask {
    public static func run(_ input: String) throws -> Int { throw TaskFailure(description: input) }
}

public struct Trap: ProcessTask {
    public static func run(_ input: Int) -> Int {
        let values = [1, 2, 3]
        return values[input]
    }
}

public struct Segfault: ProcessTask {
    public static func run(_ input: Int) -> Int {
        raise(SIGSEGV)
        return input
    }
}

public struct Exit: ProcessTask {
    public static func run(_ input: Int32) -> Int { exit(input) }
}

public struct Hang: ProcessTask {
    public static func run(_ input: Int) -> Int {
        while true { pause() }
    }
}

public struct WorkerPID: ProcessTask {
    public static func run(_ input: Int) -> Int32 { getpid() }
}

/// Waits until a file exists at the path it is given, then returns its worker's pid.
public struct WaitForFile: ProcessTask {
    public static func run(_ input: String) -> Int32 {
        while !FileManager.default.fileExists(atPath: input) { usleep(10_000) }
        return getpid()
    }
}

/// Sends `"1"` … `"n"` to the pool through ``ProcessTaskUpdates``, then returns whether the sender kept from this
/// worker process's previous call could still send (it cannot: its call has ended), or `nil` on its first call.
public struct Report: ProcessTask {
    private static let previous = Mutex<ProcessTaskUpdates.Sender?>(nil)

    public static func run(_ input: Int) throws -> Bool? {
        guard let updates = ProcessTaskUpdates.current else { throw TaskFailure(description: "no update channel") }
        for step in 0..<input { updates.send(Data(String(step + 1).utf8)) }
        let stale = previous.withLock { previous in
            defer { previous = updates }
            return previous
        }
        return stale?.send(Data("late".utf8))
    }
}

/// The initializer: stores its input in the worker; a negative input fails.
public struct Initialize: ProcessTask {
    nonisolated(unsafe) static var value = 0

    public static func run(_ input: Int) throws -> Int {
        guard input >= 0 else { throw TaskFailure(description: "negative seed \(input)") }
        value = input
        return input
    }
}

/// Reports what the initializer stored.
public struct Initialized: ProcessTask {
    public static func run(_ input: Int) -> Int { Initialize.value + input }
}
