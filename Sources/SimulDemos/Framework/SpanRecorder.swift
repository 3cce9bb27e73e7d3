import Foundation
import Simul
import Synchronization

/// Records the units of work of one model's run as ``WorkSpan``s, from any thread, task or worker process.
///
/// ``DemoContext/measure(_:results:recording:)`` makes one at the start of the timed run and puts its spans in the
/// ``ModelRun``. Times are read from `ContinuousClock`, which every process on the machine shares, so a worker
/// process's own readings (``TimedTask``) land on the same axis.
public final class SpanRecorder: Sendable {
    private struct State {
        var spans: [WorkSpan] = []
        var threads: [ObjectIdentifier: Int] = [:]
    }

    /// The instant every span is measured from.
    public let origin: ContinuousClock.Instant
    private let state = Mutex(State())

    /// Creates a recorder whose spans count from now.
    public init() { origin = .now }

    /// The spans recorded so far, in the order they started.
    public var spans: [WorkSpan] { state.withLock { $0.spans }.sorted { $0.start_s < $1.start_s } }

    /// Records a unit that ran from `start` to `end` on `lane`, and used `cpu` seconds of CPU if that was measured.
    public func record(
        _ label: String, lane: String, from start: ContinuousClock.Instant, to end: ContinuousClock.Instant = .now,
        cpu: Double? = nil
    ) {
        let span = WorkSpan(
            lane: lane, label: label, start_s: (start - origin).seconds, end_s: (end - origin).seconds, cpu_s: cpu)
        state.withLock { $0.spans.append(span) }
    }

    /// Runs `body` as a unit on `lane` and records it.
    public func time<Value>(_ label: String, lane: String, _ body: () throws -> Value) rethrows -> Value {
        let start = ContinuousClock.now
        defer { record(label, lane: lane, from: start) }
        return try body()
    }

    /// Runs `body` as a unit on `lane` and records it.
    public func time<Value>(
        _ label: String, lane: String, _ body: () async throws -> Value
    ) async rethrows -> Value {
        let start = ContinuousClock.now
        defer { record(label, lane: lane, from: start) }
        return try await body()
    }

    /// Runs `body` as a unit on the calling OS thread's lane and records it; call it on the thread that does
    /// the work.
    public func timeOnThread<Value>(_ label: String, _ body: () throws -> Value) rethrows -> Value {
        try time(label, lane: threadLane(), body)
    }

    /// Records what a worker process measured of a ``TimedTask``, on the lane of its pid.
    public func record<Value>(_ label: String, _ output: TimedOutput<Value>) {
        record(label, lane: "pid \(output.pid)", from: output.start, to: output.end)
    }

    /// `thread N`: the calling OS thread, numbered in the order this recorder first saw each thread.
    func threadLane() -> String {
        let thread = ObjectIdentifier(Thread.current)
        let number = state.withLock { state in
            if let number = state.threads[thread] { return number }
            let number = state.threads.count + 1
            state.threads[thread] = number
            return number
        }
        return "thread \(number)"
    }
}
