package import Foundation
import Synchronization

/// Messages a task running in a ``ProcessPool`` worker process sends to the pool before its output: the pipe's
/// side channel, which the queue's worker uses to store a task's custom states (`TaskContext.updateState`).
///
/// A worker process writes each message as an `update` frame at once, ahead of the call's result, so the pool's
/// `updates` handler sees them in order and before the output. A message sent after its call ended is dropped.
package enum ProcessTaskUpdates {
    /// Sends messages for one call.
    package struct Sender: Sendable {
        let id: UInt64

        /// Sends `payload` to the pool, unless the call has ended.
        /// - Returns: whether it was written.
        @discardableResult
        package func send(_ payload: Data) -> Bool {
            ResponseWriter.shared.writeUpdate(payload, for: id)
        }
    }

    /// The sender of the call running in this worker process, or `nil` outside one (in the pool's own process, or
    /// between calls).
    package static var current: Sender? { ResponseWriter.shared.runningCall.map(Sender.init(id:)) }
}

/// A worker process's writes to its response descriptor, one at a time: the loop's frames and a task's updates,
/// which may come from another thread of the task.
final class ResponseWriter: Sendable {
    static let shared = ResponseWriter()

    private struct State {
        var runningCall: UInt64?
    }

    private let state = Mutex(State())

    var runningCall: UInt64? { state.withLock { $0.runningCall } }

    /// Marks the call whose updates are written from now on; `nil` when it ended.
    func setRunningCall(_ id: UInt64?) {
        state.withLock { $0.runningCall = id }
    }

    /// Writes `data` whole.
    /// - Returns: false when the parent is gone.
    func write(_ data: Data) -> Bool {
        state.withLock { _ in data.write(to: WorkerLoop.responses) == data.count }
    }

    func writeUpdate(_ payload: Data, for id: UInt64) -> Bool {
        state.withLock { state in
            guard state.runningCall == id else { return false }
            var frame = Data()
            frame.appendFrame(.update, id: id, payload)
            return frame.write(to: WorkerLoop.responses) == frame.count
        }
    }
}
