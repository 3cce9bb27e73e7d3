import Foundation
import SimulProcessSupport

/// One sample of the soak, taken every 5 s: when, how many tasks had run, and the worker's and the client's resident
/// memory in KiB (the client's 0 once it has exited).
struct SoakSample {
    var seconds: Double
    var done: Double
    var workerKiB: Double
    var clientKiB: Double

    /// The sample as a line of the `samples` file: `seconds done worker_rss_kib client_rss_kib`.
    var line: String { String(format: "%.1f %.0f %.0f %.0f", seconds, done, workerKiB, clientKiB) }

    /// The resident memory of `process` in KiB (`VmRSS` in /proc), 0 once it has exited.
    static func residentKiB(of process: ChildProcess) -> Double {
        guard process.isRunning,
            let status = try? String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap({
                Double($0)
            })
        else { return 0 }
        return kib
    }

    /// The soak's memory and throughput checks over `samples`, for a run of `total` tasks.
    ///
    /// Memory: after warm-up (10 % done), the peak of each process's RSS stays within 10 % of its first sample.
    /// Throughput must not decline. The client shares the two cores while it sends, so the run has two phases, with
    /// the client and without; within each, the rate over the second half of its tasks must be at least 80 % of the
    /// rate over the first half. The 5 s windows are printed, not judged: another process on the machine moves them.
    static func checks(_ samples: [SoakSample], total: Int) -> [Check] {
        let warm = samples.filter { $0.done >= Double(total) * 0.1 }
        guard warm.count >= 4 else { return [Check("soak: too few samples after warm-up", false)] }
        var checks: [Check] = []
        for (who, column) in [("worker", \SoakSample.workerKiB), ("client", \SoakSample.clientKiB)] {
            let values = warm.map { $0[keyPath: column] }.filter { $0 > 0 }
            guard values.count >= 2, let base = values.first, let last = values.last, let peak = values.max() else {
                checks.append(Check("\(who) RSS: too few samples", false))
                continue
            }
            // Start (first sample past warm-up), middle and end (last sample while it ran), printed, not judged.
            let middle = values[values.count / 2]
            checks.append(
                Check(
                    "\(who) RSS start/middle/end "
                        + [base, middle, last].map { mib($0, "%.1f") }.joined(separator: "/")
                        + " MiB", true))
            let growth = peak / base - 1
            checks.append(
                Check(
                    "\(who) RSS \(mib(base, "%.0f")) MiB after warm-up, peak \(mib(peak, "%.0f")) MiB "
                        + "(+\(String(format: "%.1f", growth * 100))%, limit 10%)", growth <= 0.10))
        }
        let running = warm.filter { $0.done < Double(total) }
        let phases = [
            ("with the client", running.filter { $0.clientKiB > 0 }),
            ("worker alone", running.filter { $0.clientKiB == 0 }),
        ]
        for (name, phase) in phases {
            guard phase.count >= 6, let first = phase.first, let last = phase.last else {
                checks.append(Check("throughput \(name): \(phase.count) samples, too few to judge", true))
                continue
            }
            // swift-format-ignore: NeverForceUnwrap
            let middle = phase.firstIndex { $0.done >= (first.done + last.done) / 2 }!
            let before = rate(phase[...middle])
            let after = rate(phase[middle...])
            let percent = before != 0 ? after / before * 100 : 0
            checks.append(
                Check(
                    "throughput \(name): \(String(format: "%.0f", before))/s then \(String(format: "%.0f", after))/s "
                        + "(\(String(format: "%.0f", percent))%, floor 80%)", before != 0 && after >= 0.8 * before))
        }
        let windows = zip(running, running.dropFirst()).compactMap { earlier, later in
            later.seconds > earlier.seconds ? (later.done - earlier.done) / (later.seconds - earlier.seconds) : nil
        }
        if let slowest = windows.min(), let fastest = windows.max() {
            checks.append(
                Check(
                    "5 s windows from \(String(format: "%.0f", slowest)) to \(String(format: "%.0f", fastest)) tasks/s",
                    true))
        }
        return checks
    }

    /// Tasks per second from the first sample of `phase` to its last.
    private static func rate(_ phase: ArraySlice<SoakSample>) -> Double {
        guard let first = phase.first, let last = phase.last, last.seconds > first.seconds else { return 0 }
        return (last.done - first.done) / (last.seconds - first.seconds)
    }

    /// KiB as MiB, formatted.
    private static func mib(_ kib: Double, _ format: String) -> String { String(format: format, kib / 1024) }
}
