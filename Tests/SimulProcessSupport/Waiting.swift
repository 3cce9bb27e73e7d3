import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The signal (SIGINT or SIGTERM) that asked the driver to stop, or 0. The handler only stores it; every wait and
/// sleep reads it and throws ``Interrupted``, so the driver unwinds and cleans up on its own thread.
let receivedSignal = Atomic<Int32>(0)

/// A signal arrived: the run stops, kills what it started, and exits 130.
package struct Interrupted: Error {
    package init() {}
}

/// Why a step of a driver (the fault suite's, the browser test's) stopped: a wait past its limit, a worker that did
/// not stop, a command that failed. The fault suite gives the scenario a FAILED row; the browser test fails.
package struct DriverError: Error, CustomStringConvertible {
    package var description: String

    package init(_ description: String) { self.description = description }
}

/// Signal handling, sleeping and waiting, all of them interruptible by SIGINT and SIGTERM.
package enum Waiting {
    /// Records SIGINT and SIGTERM in ``receivedSignal`` instead of dying of them, and ignores SIGPIPE.
    package static func installSignalHandlers() {
        let record: @convention(c) (Int32) -> Void = { signal in receivedSignal.store(signal, ordering: .relaxed) }
        signal(SIGINT, record)
        signal(SIGTERM, record)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Throws ``Interrupted`` once a signal has arrived.
    package static func checkInterrupted() throws {
        if receivedSignal.load(ordering: .relaxed) != 0 { throw Interrupted() }
    }

    /// Forgets a signal that arrived, so that the cleanup after it can wait for what it stops.
    package static func forgetSignal() {
        receivedSignal.store(0, ordering: .relaxed)
    }

    /// Sleeps `seconds`, in slices of at most 50 ms so that a signal ends it at once.
    package static func sleep(_ seconds: Double) throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while true {
            try checkInterrupted()
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return }
            let slice = min(left, .milliseconds(50))
            let (whole, fraction) = slice.components
            var request = timespec(tv_sec: Int(whole), tv_nsec: Int(fraction / 1_000_000_000))
            _ = nanosleep(&request, nil)
        }
    }

    /// Polls `condition` every `pause` seconds until it holds. A condition that throws counts as not holding, as a failed
    /// command does in a shell's `until`.
    /// - Throws: ``DriverError`` "timed out after `limit` s waiting for: `what`", or ``Interrupted``.
    package static func until(
        _ limit: Double, _ what: String, pause: Double = 0.2, _ condition: () throws -> Bool
    ) throws {
        let stopwatch = Stopwatch()
        while true {
            do {
                if try condition() { return }
            } catch let error as Interrupted {
                throw error
            } catch {}
            if stopwatch.seconds > limit {
                throw DriverError("timed out after \(format(limit)) s waiting for: \(what)")
            }
            try sleep(pause)
        }
    }

    /// Runs `body`; an error other than ``Interrupted`` is printed and the run goes on, as `|| true` does in a shell.
    package static func tolerating(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as Interrupted {
            throw error
        } catch {
            printError("\(error)")
        }
    }

    /// `2` for 2.0 and `0.5` for 0.5: a limit as a person would write it.
    package static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}

/// Elapsed time since it was made, read as the suite prints it: seconds with one decimal.
package struct Stopwatch {
    package let start = ContinuousClock.now

    /// Starts counting now.
    package init() {}

    /// The seconds elapsed.
    package var seconds: Double {
        let (whole, fraction) = start.duration(to: .now).components
        return Double(whole) + Double(fraction) / 1e18
    }

    /// The seconds elapsed, with one decimal: `12.7`.
    package var text: String { String(format: "%.1f", seconds) }
}

/// Writes `text` and a newline to standard error, unbuffered, as the shell's `echo >&2` did.
package func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Writes `text` and a newline to standard output, unbuffered, so it interleaves with standard error in order.
package func printOutput(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

/// Runs `body`, which blocks (it starts processes and waits for them), on a thread of its own, so that a Swift
/// Testing test awaiting it does not hold one of the few threads every other test's tasks run on.
package func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
