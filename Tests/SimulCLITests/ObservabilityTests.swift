import Foundation
import SimulJSON
import SimulProcessSupport
import SimulRedisTestSupport
import SimulTasks
import SimulTestSupport
import Testing

/// `simul worker --metrics-port`, `--loglevel` and `--log-format` as a user runs them: the counters a scrape reads
/// match the run, queue depth and the oldest message's age follow a worker that stops and resumes consuming, JSON
/// logs carry the task, and bad values get one line and exit 2.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ObservabilityTests {
    /// A `simul worker` whose metrics port is read from its first line of output.
    struct MetricsWorker {
        let process: Process
        let port: Int

        /// Starts a worker with `arguments` and `--metrics-port 0`, and waits for the port it prints.
        static func start(_ arguments: [String]) async throws -> MetricsWorker {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: simulExecutable)
            process.arguments = ["worker", "--metrics-port", "0"] + arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let line = try await onOwnThread { try output.fileHandleForReading.readLine() } ?? ""
            let prefix = "metrics on http://127.0.0.1:"
            guard line.hasPrefix(prefix), let port = Int(line.dropFirst(prefix.count).prefix { $0.isNumber }) else {
                process.terminate()
                throw Unexpected(line)
            }
            return MetricsWorker(process: process, port: port)
        }

        /// The samples of one scrape, by series (`name{label="value",…}` with the labels sorted).
        func scrape() async throws -> [String: Double] {
            let body = try await onOwnThread {
                try BlockingHTTP.get("http://127.0.0.1:\(port)/metrics", timeout: .seconds(10))
            }
            return ObservabilityTests.samples(String(decoding: body, as: UTF8.self))
        }

        /// Stops the worker warm and waits for it.
        func stop() async {
            if process.isRunning { process.terminate() }
            await process.exited()
        }
    }

    struct Unexpected: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = "unexpected output: '\(description)'" }
    }

    /// Parses Prometheus text into samples keyed by series with sorted labels.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            let series = line[..<space]
            guard let open = series.firstIndex(of: "{") else {
                samples[String(series)] = value
                continue
            }
            let labels = series[series.index(after: open)..<series.index(before: series.endIndex)]
                .split(separator: ",").sorted().joined(separator: ",")
            samples["\(series[..<open]){\(labels)}"] = value
        }
        return samples
    }

    /// The series `name` with `labels`, in the form ``samples(_:)`` keys them.
    static func series(_ name: String, _ labels: [String: String]) -> String {
        "\(name){\(labels.map { "\($0.key)=\"\($0.value)\"" }.sorted().joined(separator: ","))}"
    }

    static func tasks(_ name: String, _ status: String, exception: String? = nil) -> String {
        var labels = ["name": name, "queue": "celery", "status": status]
        if let exception { labels["exception"] = exception }
        return series("simul_tasks_total", labels)
    }

    static func sqliteURL() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simul-obs-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return "sqlite://\(directory.path)/queue.sqlite"
    }

    /// The brokers the scrape tests run on.
    enum BrokerCase: String, CaseIterable, Sendable {
        case sqlite, redis

        /// A fresh broker's URL: a new SQLite file, or a Redis server of the test's own, for the test to stop.
        func start() async throws -> (url: String, server: RedisServer?) {
            switch self {
            case .sqlite: return (try ObservabilityTests.sqliteURL(), nil)
            case .redis:
                let server = try await RedisServer.start()
                return (server.url(), server)
            }
        }
    }

    static let counted = [
        "simul.noop": ["received", "started", "succeeded"], "simul.fail": ["received", "started", "failed"],
    ]

    @Test(arguments: BrokerCase.allCases)
    func aScrapeDuringAndAfterARunOf1000TasksMatchesTheRun(broker: BrokerCase) async throws {
        let (url, server) = try await broker.start()
        defer { server?.stop() }
        let worker = try await MetricsWorker.start(["--broker", url, "-c", "4", "-n", "metrics@test"])
        defer { if worker.process.isRunning { worker.process.terminate() } }
        let noops = try await QueueCommandTests.simul(["send", "simul.noop", "--count", "990", "--broker", url])
        #expect(noops.status == 0, "\(noops.error)")
        let failures = try await QueueCommandTests.simul([
            "send", "simul.fail", "--args", #"["boom"]"#, "--count", "10", "--broker", url,
        ])
        #expect(failures.status == 0, "\(failures.error)")

        // Every scrape, during the run and after it, is a moment of it: no counter goes back, and no task is
        // started before it is received or finished before it is started.
        var last: [String: Double] = [:]
        try await waitUntil("the scrape counts 1,000 finished tasks", timeout: .seconds(150)) {
            let now = try await worker.scrape()
            for (series, value) in last where series.hasPrefix("simul_tasks_total") {
                #expect(now[series, default: 0] >= value, "\(series) went from \(value) to \(now[series] ?? 0)")
            }
            for (name, statuses) in Self.counted {
                let counts = statuses.map {
                    now[Self.tasks(name, $0, exception: $0 == "failed" ? "ValueError" : nil), default: 0]
                }
                #expect(counts == counts.sorted(by: >), "\(name): \(zip(statuses, counts).map { "\($0) \($1)" })")
            }
            last = now
            let finished =
                (last[Self.tasks("simul.noop", "succeeded")] ?? 0)
                + (last[Self.tasks("simul.fail", "failed", exception: "ValueError")] ?? 0)
            return finished == 1_000
        }
        for (name, count) in [("simul.noop", 990.0), ("simul.fail", 10.0)] {
            #expect(last[Self.tasks(name, "received")] == count)
            #expect(last[Self.tasks(name, "started")] == count)
        }
        #expect(last[Self.tasks("simul.noop", "succeeded")] == 990)
        #expect(last[Self.tasks("simul.fail", "failed", exception: "ValueError")] == 10)
        #expect(!last.keys.contains { $0.contains("status=\"retried\"") || $0.contains("status=\"dead_lettered\"") })
        let runtimes = Self.series(
            "simul_task_duration_seconds_count", ["name": "simul.noop", "queue": "celery", "status": "succeeded"])
        #expect(last[runtimes] == 990)
        let waits = Self.series("simul_task_queued_duration_seconds_count", ["name": "simul.noop", "queue": "celery"])
        #expect(last[waits] == 990)
        try await waitUntil("the gauges settle", timeout: .seconds(60)) {
            let now = try await worker.scrape()
            return now[Self.series("simul_queue_depth", ["queue": "celery"])] == 0
                && now[Self.series("simul_queue_oldest_age_seconds", ["queue": "celery"])] == 0
                && now[Self.series("simul_worker_tasks", ["status": "running"])] == 0
                && now[Self.series("simul_worker_tasks", ["status": "prefetched"])] == 0
        }
        await worker.stop()
        #expect(worker.process.terminationStatus == 0)
    }

    /// A worker stops taking messages, then takes them again: on Redis it cancels its consumer and adds it back
    /// (remote control); on SQLite, which has no remote control, its one slot runs a long `simul.sleep`, which a
    /// terminating revoke ends. Meanwhile the scrape shows the messages it leaves waiting, and their age growing.
    @Test(arguments: BrokerCase.allCases)
    func queueDepthAndOldestAgeFollowAWorkerThatStopsAndResumes(broker: BrokerCase) async throws {
        let (url, server) = try await broker.start()
        defer { server?.stop() }
        let worker = try await MetricsWorker.start([
            "--broker", url, "-c", "1", "--prefetch-multiplier", "1", "-n", "depth@test",
        ])
        defer { if worker.process.isRunning { worker.process.terminate() } }
        func control(_ arguments: [String]) async throws -> QueueCommandTests.Run {
            try await QueueCommandTests.simul(
                ["control"] + arguments + ["--broker", url, "-d", "depth@test", "--timeout", "5"])
        }
        let resume: () async throws -> QueueCommandTests.Run
        switch broker {
        case .redis:
            try await waitUntil("the worker answers ping") { try await control(["ping"]).status == 0 }
            #expect(try await control(["cancel_consumer", "celery"]).status == 0)
            resume = { try await control(["add_consumer", "celery"]) }
        case .sqlite:
            let sleep = try await QueueCommandTests.simul([
                "send", "simul.sleep", "--args", "[3600]", "--broker", url,
            ])
            #expect(sleep.status == 0, "\(sleep.error)")
            let id = sleep.output.trimmingCharacters(in: .whitespacesAndNewlines)
            try await waitUntil("the sleep starts", timeout: .seconds(60)) {
                try await worker.scrape()[Self.tasks("simul.sleep", "started")] == 1
            }
            resume = { try await QueueCommandTests.simul(["revoke", id, "--terminate", "--broker", url]) }
        }
        let sent = try await QueueCommandTests.simul(["send", "simul.noop", "--count", "25", "--broker", url])
        #expect(sent.status == 0, "\(sent.error)")
        let depth = Self.series("simul_queue_depth", ["queue": "celery"])
        let age = Self.series("simul_queue_oldest_age_seconds", ["queue": "celery"])
        // A receive already under way when the consumer was cancelled may still take a batch: depth counts the rest.
        var paused: [String: Double] = [:]
        try await waitUntil("depth shows the messages the stopped worker leaves", timeout: .seconds(60)) {
            paused = try await worker.scrape()
            let taken = paused[Self.tasks("simul.noop", "received")] ?? 0
            return paused[depth].map { $0 > 0 && $0 + taken == 25 } ?? false
        }
        let firstAge = try #require(paused[age])
        #expect(firstAge > 0)
        try await waitUntil("the oldest message's age grows while the worker is stopped", timeout: .seconds(60)) {
            let now = try await worker.scrape()
            return now[depth] == paused[depth] && now[age, default: 0] > firstAge
        }
        #expect(paused[Self.tasks("simul.noop", "succeeded")] == paused[Self.tasks("simul.noop", "received")])
        let resumed = try await resume()
        #expect(resumed.status == 0, "\(resumed.error)")
        try await waitUntil("depth and age fall to 0 once the worker resumes", timeout: .seconds(60)) {
            let now = try await worker.scrape()
            return now[depth] == 0 && now[age] == 0 && now[Self.tasks("simul.noop", "succeeded")] == 25
        }
        await worker.stop()
    }

    @Test func jsonLogLinesParseAndCarryTheTask() async throws {
        let url = try Self.sqliteURL()
        let worker = Process()
        worker.executableURL = URL(fileURLWithPath: simulExecutable)
        worker.arguments = [
            "worker", "--broker", url, "-n", "json@test", "--log-format", "json", "--loglevel", "debug",
        ]
        let errorPipe = Pipe()
        worker.standardOutput = FileHandle.nullDevice
        worker.standardError = errorPipe
        try worker.run()
        defer { if worker.isRunning { worker.terminate() } }
        let errors = Task { try await onOwnThread { try errorPipe.fileHandleForReading.readAll() } }
        let failing = try await QueueCommandTests.simul([
            "send", "simul.fail", "--args", #"["boom"]"#, "--broker", url, "--wait", "--timeout", "60",
        ])
        #expect(failing.status == 1)
        worker.terminate()
        await worker.exited()
        let lines = String(decoding: try await errors.value, as: UTF8.self).split(separator: "\n")
        let objects = try lines.map { try JSONValue(parsing: Data($0.utf8)) }
        #expect(objects.count >= 3, "\(lines)")
        for object in objects {
            for key in ["timestamp", "level", "label", "message"] {
                #expect(object[key]?.stringValue != nil, "\(key) in \(object.jsonText)")
            }
            #expect(object["metadata"]?.objectValue != nil)
        }
        let failed = try #require(objects.first { $0["message"]?.stringValue?.contains("failed: ValueError") == true })
        let metadata = try #require(failed["metadata"])
        #expect(metadata["task_name"] == "simul.fail")
        #expect(metadata["task_id"]?.stringValue?.count == 36)
        #expect(metadata["queue"] == "celery")
        #expect(metadata["worker"] == "json@test")
        #expect(metadata["task_retries"] == "0")
        #expect(failed["level"] == "info")
        #expect(failed["label"] == "simul.worker")
        let ready = try #require(objects.first { $0["message"]?.stringValue?.contains("ready") == true })
        #expect(ready["metadata"] == .object([:]))
    }

    static let badInput: [([String], String)] = [
        (["--metrics-port", "abc"], "--metrics-port must be a port number from 0 to 65535, got 'abc'"),
        (["--metrics-port", "70000"], "--metrics-port must be a port number from 0 to 65535, got '70000'"),
        (["--metrics-port", "-1"], "--metrics-port must be a port number from 0 to 65535, got '-1'"),
        (["--log-format", "xml"], "--log-format must be text or json, got 'xml'"),
        (["--loglevel", "verbose"], "--loglevel must be debug, info, warning or error, got 'verbose'"),
    ]

    @Test(arguments: badInput)
    func badInputGetsOneLineAndExit2(arguments: [String], message: String) async throws {
        let run = try await QueueCommandTests.simul(["worker"] + arguments + ["--broker", try Self.sqliteURL()])
        #expect(run.status == 2, "\(run.error)")
        #expect(run.error == "Error: \(message)\n")
    }

    @Test func aMetricsPortInUseGetsOneLineAndExit2() async throws {
        let url = try Self.sqliteURL()
        let first = try await MetricsWorker.start(["--broker", url])
        defer { if first.process.isRunning { first.process.terminate() } }
        let run = try await QueueCommandTests.simul([
            "worker", "--broker", url, "--metrics-port", "\(first.port)",
        ])
        #expect(run.status == 2, "\(run.error)")
        #expect(run.error == "Error: --metrics-port \(first.port): 127.0.0.1:\(first.port) is in use\n")
        await first.stop()
    }
}
