import Foundation
import SimulProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

extension ScenarioContext {
    /// 8. SQLite only, as root: the broker's file on a 2 MiB tmpfs, filled by sends until the disk is full. A worker
    /// that cannot write its results stops within its shutdown timeout on SIGTERM, and at once on a second SIGTERM
    /// (cold); its messages stay leased. Then the tmpfs grows to 64 MiB, and a worker runs every task sent. Each of
    /// the first two workers gets 256 KiB freed just before it starts, so that it can start, and fills it.
    func diskFull() throws {
        let timeout = 5
        let disk = path("disk")
        url = "sqlite://\(disk)/queue.sqlite"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        try mustRun(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", disk])
        defer {
            ProcessGroups.killAll()
            Self.unmount(disk)
        }
        // Room for each worker to start (its first write is its worker-online event) and run a little, freed just
        // before it starts: 256 KiB of ballast each.
        for kind in ["warm", "cold"] {
            try Data(count: 262_144).write(to: URL(fileURLWithPath: "\(disk)/ballast-\(kind)"))
        }
        let sendCode = try ChildProcess.run(
            [binary, "send", "simul.record", "--args", #"["\#(records)"]"#, "--count", "20000", "--broker", url],
            output: .file(ids), error: .file(path("send.err")))
        let sendError = (try? String(contentsOfFile: path("send.err"), encoding: .utf8)) ?? ""
        var checks = [
            Check(
                "the sends stopped on a full disk after \(Self.lines(ids)) (exit \(sendCode))",
                sendError.contains("database or disk is full"))
        ]
        // SIGTERM once (warm), then twice (cold), each to a worker retrying its writes; both with a short lease, so
        // the messages they hold come back soon after.
        for kind in ["warm", "cold"] {
            try FileManager.default.removeItem(atPath: "\(disk)/ballast-\(kind)")
            let worker = try startWorker(
                log: "\(kind).log",
                ["-c", "2", "--lease", "3", "--shutdown-timeout", "\(timeout)", "-n", "\(kind)@faults"])
            try Waiting.until(60, "the \(kind) worker failing to write results") {
                let log = (try? String(contentsOfFile: path("\(kind).log"), encoding: .utf8)) ?? ""
                return log.contains("cannot write results")
            }
            let signalled = Stopwatch()
            try worker.send(SIGTERM)
            if kind == "cold" {
                try Waiting.sleep(0.2)
                try worker.send(SIGTERM)
            }
            let code = try exitCode(of: worker)
            let exitTime = signalled.text
            let limit = kind == "warm" ? timeout + 2 : 2
            checks.append(
                Check(
                    "\(kind): exit 0 in \(exitTime) s (limit \(limit) s)",
                    code == 0 && Double(exitTime) ?? .infinity <= Double(limit)))
        }
        try mustRun(["mount", "-o", "remount,size=64m", disk])
        let drain = try startWorker(log: "drain.log", ["-c", "4", "--lease", "30", "-n", "drain@faults"])
        try waitDone(120)
        try stopWorker(drain)
        try collect()
        // The two stopped workers' tasks that ran but could not store results run again: at most what each held,
        // prefetch (4 x 2) + concurrency (2).
        try tally(Tally(maxDuplicates: 20, checks: checks, notes: ["\(Self.lines(ids)) sent"]))
    }

    /// Runs a command that must succeed.
    private func mustRun(_ arguments: [String]) throws {
        let code = try ChildProcess.run(arguments)
        guard code == 0 else { throw DriverError("\(arguments.joined(separator: " ")): exit \(code)") }
    }

    /// Unmounts `target`, lazily if it is still busy.
    static func unmount(_ target: String) {
        let unmounted = (try? ChildProcess.run(["umount", target], error: .discard)) == 0
        if !unmounted { _ = try? ChildProcess.run(["umount", "-l", target], error: .discard) }
    }
}
