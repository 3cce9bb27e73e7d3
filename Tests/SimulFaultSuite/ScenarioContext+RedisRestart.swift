import Foundation
import SimulProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

extension ScenarioContext {
    /// 3. Redis only: `kill -9` Redis (append-only, fsync always) mid-run of 10,000 tasks while a client is still
    /// sending them and others wait for results, keep it down 2 s, start it again on the same port and files.
    /// Nothing is restarted but Redis: the workers, the sender and the waiters must reconnect by themselves.
    func redisRestart() throws {
        let count = 10_000
        let concurrency = 4
        let options = ["-c", "\(concurrency)", "--lease", "5"]
        let workers = [
            try startWorker(log: "threads.log", ["--pool", "threads"] + options + ["-n", "threads@faults"]),
            try startWorker(log: "async.log", ["--pool", "async"] + options + ["-n", "async@faults"]),
        ]
        // Line-buffered, so that the ids are in the file as they are sent.
        let sendRecords = [binary, "send", "simul.record", "--args", #"["\#(records)", 0.001]"#, "--count", "\(count)"]
        let producer = try ChildProcess.start(
            ["stdbuf", "-oL"] + sendRecords + ["--broker", url], output: .file(ids), error: .file(path("sender.log")))
        try Waiting.until(120, "a quarter of the tasks sent and 500 run") {
            Self.lines(ids) >= count / 4 && Self.lines(records) >= 500
        }
        // Waiters across the restart: `simul result --wait` on the newest ids sent, and a `simul send --wait`.
        var waiters: [ChildProcess] = []
        for id in Self.lines(of: ids).suffix(3) {
            waiters.append(
                try ChildProcess.start(
                    [binary, "result", id, "--wait", "--timeout", "240", "--broker", url],
                    output: .file(path("waiter-\(id).out")), error: .standardOutput))
        }
        let sendWait = [binary, "send", "simul.record", "--args", #"["\#(records)"]"#, "--wait", "--timeout", "240"]
        waiters.append(
            try ChildProcess.start(
                ["stdbuf", "-oL"] + sendWait + ["--broker", url], output: .file(path("send-wait.out")),
                error: .standardOutput))
        try Waiting.until(30, "the send --wait sent") { Self.lines(path("send-wait.out")) >= 1 }

        // First Redis drops every client's connection (CLIENT KILL): they must reconnect and work must go on.
        let killedAt = Self.distinct(records)
        try server.cli(["client", "kill", "type", "normal"])
        try server.cli(["client", "kill", "type", "pubsub"])
        try Waiting.until(120, "500 more tasks run after CLIENT KILL") { Self.distinct(records) >= killedAt + 500 }
        // Then Redis itself dies.
        let sentAt = Self.lines(ids)
        let doneAt = Self.distinct(records)
        server.stop(SIGKILL)
        try Waiting.sleep(2)
        try server.start()
        say("restarted redis with \(sentAt) of \(count) sent and \(doneAt) run")

        var checks: [Check] = []
        let senderCode = try exitCode(of: producer, limit: 300)
        let printed = Self.lines(ids)
        checks.append(
            Check(
                "the sender finished by itself (exit \(senderCode), \(printed) ids)",
                senderCode == 0 && printed == count))
        for (index, waiter) in waiters.enumerated() {
            let code = try exitCode(of: waiter, limit: 300)
            checks.append(Check("waiter \(index + 1) got its result (exit \(code))", code == 0))
        }
        if let sent = Self.lines(of: path("send-wait.out")).first {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: ids))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data((sent + "\n").utf8))
            try handle.close()
        }
        try waitDone(300)
        for worker in workers {
            checks.append(Check("worker \(worker.pid) was never restarted", worker.isRunning))
        }
        for worker in workers { try stopWorker(worker) }
        try collect()
        // What a restart may run twice: messages whose lease ran out while Redis was down (what the two workers
        // held), and a batch of sends the client repeated because their replies were lost.
        try tally(
            Tally(
                maxDuplicates: 2 * (concurrency * 4 + concurrency) + 64, checks: checks,
                notes: [
                    "clients killed at \(killedAt) run; redis killed and restarted at \(sentAt) sent, \(doneAt) run"
                ]
            ))
    }
}
