public import Foundation

extension Process {
    /// Waits for the process to end on a thread of its own, so that a test awaiting it does not hold one of the few
    /// threads every other test's tasks run on (`waitUntilExit` blocks its thread until the child ends).
    public func exited() async {
        await withCheckedContinuation { continuation in
            Thread {
                self.waitUntilExit()
                continuation.resume()
            }.start()
        }
    }
}
