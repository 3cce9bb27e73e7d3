import Foundation
import Simul
import SimulJSON
import SimulProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

/// One scenario's run in one column: its broker (a fresh SQLite file in its directory, or its own database on the
/// suite's Redis, flushed first), its directory of logs, ids and records, and the steps every scenario is made of:
/// sending, starting and stopping workers, waiting until every task is done, and counting.
///
/// The scenarios themselves are in `ScenarioContext+Kills.swift` and its siblings.
final class ScenarioContext {
    let scenario: Scenario
    let broker: Broker
    /// The `simul` binary.
    let binary: String
    /// The scenario's directory: `ids`, `records`, the workers' logs, the results and dead letters counted.
    let directory: String
    /// The broker's URL.
    var url: String
    /// The suite's Redis, in the Redis column.
    let redis: RedisServer?
    /// Since the scenario started: its row's seconds.
    let stopwatch = Stopwatch()
    private let table: (Row) -> Void

    init(
        scenario: Scenario, broker: Broker, simul: String, directory: String, redis: RedisServer?,
        table: @escaping (Row) -> Void
    ) {
        self.scenario = scenario
        self.broker = broker
        binary = simul
        self.directory = directory
        self.redis = redis
        self.table = table
        url =
            if let redis, broker == .redis {
                "redis://127.0.0.1:\(redis.port)/\(scenario.redisDatabase)"
            } else {
                "sqlite://\(directory)/queue.sqlite"
            }
    }

    /// A file in the scenario's directory.
    func path(_ name: String) -> String { "\(directory)/\(name)" }
    /// The ids `simul send` printed, one per line.
    var ids: String { path("ids") }
    /// The file `simul.record` appends each execution's task id to.
    var records: String { path("records") }

    /// The workers' lease in the kill scenarios. Redis restores a dead worker's messages when their lease is older
    /// than this; 5 s leaves a loaded 2-core machine room to renew (every third of it) before that.
    var killLease: String { broker == .redis ? "5" : "3" }

    /// The suite's Redis, which the Redis-only steps need.
    var server: RedisServer {
        // swift-format-ignore: NeverForceUnwrap
        redis!
    }

    /// Prints a step of the scenario on standard error.
    func say(_ text: String) { printError("   \(text)") }

    /// `simul ARGUMENTS --broker URL`, to its end, its output into `file`.
    /// - Throws: ``DriverError`` if it exits non-zero.
    func simul(_ arguments: [String], to file: String, append: Bool = false) throws {
        let code = try ChildProcess.run(
            [binary] + arguments + ["--broker", url], output: .file(file, append: append))
        guard code == 0 else {
            throw DriverError("simul \(arguments.prefix(2).joined(separator: " ")): exit \(code)")
        }
    }

    /// Sends `simul.record` with `args` (`count` times), appending the ids to ``ids``.
    func sendRecords(_ args: String, count: Int) throws {
        try simul(["send", "simul.record", "--args", args, "--count", "\(count)"], to: ids, append: true)
    }

    /// Starts `simul worker` with `options` in its own process group, appending its output to `log`; on `broker`,
    /// the scenario's own by default.
    func startWorker(log: String, _ options: [String], broker: String? = nil) throws -> ChildProcess {
        try ChildProcess.start(
            [binary, "worker", "--broker", broker ?? url] + options, output: .file(path(log), append: true),
            error: .standardOutput)
    }

    /// `kill -9`, and reaps it.
    func killNow(_ worker: ChildProcess) throws {
        try worker.send(SIGKILL)
        _ = try worker.wait(limit: 30)
    }

    /// SIGTERM, then waits for it.
    /// - Throws: ``DriverError`` if it does not exit 0 within `limit` seconds.
    func stopWorker(_ worker: ChildProcess, limit: Double = 30) throws {
        try worker.send(SIGTERM)
        guard let code = try worker.wait(limit: limit) else {
            throw DriverError("worker \(worker.pid) did not stop within \(Waiting.format(limit)) s of SIGTERM")
        }
        guard code == 0 else { throw DriverError("worker \(worker.pid) exited with code \(code) on SIGTERM") }
    }

    /// How many of the ids in `file` have SUCCESS stored (the lines of `simul result --json` that say so).
    func successCount(_ file: String) throws -> Int {
        let output = path("success-count.jsonl")
        _ = try ChildProcess.run(
            [binary, "result", "--json", "--ids-from", file, "--broker", url], output: .file(output))
        return Self.lines(of: output).count(where: { $0.contains(#""status":"SUCCESS""#) })
    }

    /// Whether every id in `file` has SUCCESS stored.
    func allSucceeded(_ file: String) throws -> Bool {
        try successCount(file) == Self.lines(file)
    }

    /// The messages waiting in the broker's queues.
    func waiting() throws -> Int {
        let output = path("queues.json")
        try simul(["inspect", "queues", "--json"], to: output)
        guard let queues = try JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: output))).objectValue else {
            throw DriverError("simul inspect queues --json printed no object")
        }
        return queues.values.reduce(0) { $0 + ($1.intValue ?? 0) }
    }

    /// Until every id in ``ids`` has recorded an execution and has a SUCCESS stored.
    func waitDone(_ limit: Double) throws {
        let sent = Self.lines(ids)
        try Waiting.until(limit, "every task recorded") { Self.distinct(records) >= sent }
        try Waiting.until(60, "every result stored") { try allSucceeded(ids) }
    }

    /// The results of every id sent, good and bad, and the dead letters, for counting.
    func collect() throws {
        let all = [ids, path("bad-ids")].compactMap { FileManager.default.contents(atPath: $0) }.reduce(Data(), +)
        try all.write(to: URL(fileURLWithPath: path("all-ids")))
        try simul(["result", "--json", "--ids-from", path("all-ids")], to: path("results.jsonl"))
        try simul(["dead-letters", "list", "--json", "--limit", "100000"], to: path("dead-letters.json"))
    }

    /// Whether every good task succeeded and every message in `bad` reached its end.
    func settled(_ bad: [BadMessage]) throws -> Bool {
        try collect()
        var tally = try counted()
        tally.bad = bad
        return tally.row(scenario: "check", broker: "-", seconds: "0").passed == true
    }

    /// Counts the scenario from its files and `tally`'s checks, adds its row to the table and prints it.
    func tally(_ tally: Tally) throws {
        var counted = try counted()
        counted.bad = tally.bad
        counted.maxDuplicates = tally.maxDuplicates
        counted.checks = tally.checks
        counted.notes = tally.notes
        counted.showFailures = tally.showFailures
        counted.sent = tally.sent
        counted.completed = tally.completed
        counted.lossIsMeasured = tally.lossIsMeasured
        let row = counted.row(scenario: scenario.rawValue, broker: broker.rawValue, seconds: stopwatch.text)
        table(row)
        printOutput(row.progressLine)
    }

    /// The good ids, the records, and the results and dead letters ``collect()`` wrote, if it did.
    private func counted() throws -> Tally {
        var tally = Tally(good: Self.lines(of: ids), records: Self.lines(of: records))
        for line in Self.lines(of: path("results.jsonl")) {
            let result = try JSONValue(parsing: Array(line.utf8))
            if let id = result.objectValue?["task_id"]?.stringValue { tally.results[id] = result }
        }
        if let data = FileManager.default.contents(atPath: path("dead-letters.json")) {
            tally.deadLetters = try JSONValue(parsing: data).arrayValue ?? []
        }
        return tally
    }

    /// Puts each file's bytes as one message on the queue `celery`, as they are. On Redis it is what any kombu
    /// producer does, an `LPUSH` of the envelope onto the queue's list (`redis-cli`, not simul); on SQLite,
    /// `simul send --raw`.
    func sendRaw(_ files: [String]) throws {
        if broker == .redis {
            for file in files {
                try server.cli(["-x", "lpush", "celery"], database: scenario.redisDatabase, input: file)
            }
        } else {
            try simul(["send"] + files.flatMap { ["--raw", $0] }, to: "/dev/null")
        }
    }

    /// The lines of `file` (what `wc -l` counts: its newlines), 0 if it does not exist.
    static func lines(_ file: String) -> Int {
        guard let data = FileManager.default.contents(atPath: file) else { return 0 }
        return data.withUnsafeBytes { bytes in
            guard var next = bytes.baseAddress else { return 0 }
            let end = next + bytes.count
            var count = 0
            while next < end, let newline = memchr(next, Int32(UInt8(ascii: "\n")), end - next) {
                count += 1
                next = UnsafeRawPointer(newline) + 1
            }
            return count
        }
    }

    /// The distinct lines of `file` (what `sort -u | wc -l` counts).
    static func distinct(_ file: String) -> Int {
        Set(lines(of: file)).count
    }

    /// The lines of `file` that are not blank, trimmed; none if it does not exist.
    static func lines(of file: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: file) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : trimmed
        }
    }
}
