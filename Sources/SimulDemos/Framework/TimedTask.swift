import Foundation
public import Simul

/// Runs `Base` in a worker process and reports when it started and ended there and in which process, so a
/// ``SpanRecorder`` can draw it: the parent's own clock would count the time a task waited in the pool's queue.
public struct TimedTask<Base: ProcessTask>: ProcessTask {
    public static var name: String { Base.name + ".timed" }

    public static func run(_ input: Base.Input) throws -> TimedOutput<Base.Output> {
        let start = ContinuousClock.now
        let value = try Base.run(input)
        return TimedOutput(value: value, pid: getpid(), start: start, end: .now)
    }
}

/// What a ``TimedTask`` returns: the task's output, the worker's pid and the task's start and end.
public struct TimedOutput<Value: Codable & Sendable>: Codable, Sendable {
    /// The wrapped task's output.
    public var value: Value
    /// The worker process that ran it.
    public var pid: Int32
    /// When it started, on the machine's continuous clock.
    public var start: ContinuousClock.Instant
    /// When it ended.
    public var end: ContinuousClock.Instant
}
