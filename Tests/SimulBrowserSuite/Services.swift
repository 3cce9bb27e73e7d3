import Foundation
import SimulProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The long-running processes of one broker's run (workers, the dashboard), each in its own process group and
/// logging to `NAME.log` in the working directory; the shell scripts' `start` and `stop_all`.
final class Services {
    private let work: String
    /// In start order.
    private var started: [ChildProcess] = []

    init(work: String) { self.work = work }

    /// Starts `arguments` with the test's environment changed by `environment`, its output and errors into
    /// `NAME.log`.
    /// - Throws: ``DriverError`` if it cannot be started.
    func start(_ name: String, _ arguments: [String], environment: [String: String?] = [:]) throws {
        let process = try ChildProcess.start(
            arguments, output: .file("\(work)/\(name).log"), error: .standardOutput, environment: environment)
        started.append(process)
    }

    /// Stops the process groups newest first, each before the next, so workers shut down while their broker still
    /// runs: SIGTERM, at most 10 s for the whole group to exit, then SIGKILL.
    func stopAll() {
        for process in started.reversed() {
            defer { ProcessGroups.remove(process.pid) }
            process.poll()
            guard kill(-process.pid, SIGTERM) == 0 else { continue }
            let stopwatch = Stopwatch()
            while kill(-process.pid, 0) == 0, stopwatch.seconds < 10 {
                process.poll()
                var pause = timespec(tv_sec: 0, tv_nsec: 100_000_000)
                _ = nanosleep(&pause, nil)
            }
            kill(-process.pid, SIGKILL)
            _ = try? process.wait(limit: 10)
        }
        started = []
    }

    /// Prints the last `lines` lines of every log in the working directory that has any, on standard error.
    func printLogs(lines: Int) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []
        let logs = names.filter { $0.hasSuffix(".log") }.sorted().map { "\(work)/\($0)" } + ["\(work)/redis/redis.log"]
        for log in logs {
            guard let text = try? String(contentsOfFile: log, encoding: .utf8), !text.isEmpty else { continue }
            printError("--- \(URL(fileURLWithPath: log).lastPathComponent) (last \(lines) lines)")
            for line in text.trimmingTrailingNewlines.split(separator: "\n", omittingEmptySubsequences: false)
                .suffix(lines)
            {
                printError("    | \(line)")
            }
        }
    }
}
