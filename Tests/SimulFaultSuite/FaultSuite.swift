import Foundation
import SimulProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The fault suite's driver (docs/faults.md): breaks workers and messages on purpose, counts from the result backend
/// and from the tasks' own execution records that nothing is lost, prints one table, and exits non-zero if any
/// scenario lost a message or failed a check.
///
/// `scripts/faults.sh` builds it and runs it with its own arguments; `SIMUL_BIN` names the `simul` binary it tests.
@main
struct FaultSuite {
    static func main() {
        let options: Options
        do {
            guard let parsed = try Options.parse(Array(CommandLine.arguments.dropFirst())) else {
                printOutput(Options.help)
                exit(0)
            }
            options = parsed
        } catch {
            printError("simul-faults: \(error)")
            exit(2)
        }
        guard let simul = ProcessInfo.processInfo.environment["SIMUL_BIN"], !simul.isEmpty else {
            printError("simul-faults: SIMUL_BIN must name the simul binary (scripts/faults.sh sets it)")
            exit(2)
        }
        Waiting.installSignalHandlers()
        do {
            let run = try FaultSuiteRun(options: options, simul: simul)
            exit(run.run())
        } catch {
            printError("simul-faults: \(error)")
            exit(1)
        }
    }
}

/// One run of the suite: its working directory, its Redis, and its table. Whatever happens, including SIGINT and
/// SIGTERM, it ends by killing every process group it started, unmounting what a scenario mounted, stopping its
/// Redis, and removing the working directory unless `--keep` asked to keep it.
final class FaultSuiteRun {
    private let options: Options
    private let simul: String
    /// `${TMPDIR:-/tmp}/simul-faults.XXXXXX`: a directory per scenario and column, and Redis's.
    private let work: String
    private var redis: RedisServer?
    private var table = Table()

    init(options: Options, simul: String) throws {
        self.options = options
        self.simul = simul
        work = try TemporaryDirectory.make("simul-faults")
    }

    /// Runs the scenarios, prints the table, cleans up; returns the exit code (130 after SIGINT or SIGTERM).
    func run() -> Int32 {
        var code: Int32
        do {
            code = try runScenarios()
        } catch is Interrupted {
            code = 130
        } catch {
            printError("simul-faults: \(error)")
            code = 1
        }
        finish()
        return code
    }

    private func runScenarios() throws -> Int32 {
        let stopwatch = Stopwatch()
        for broker in options.brokers {
            if broker == .redis, redis == nil { try startRedis() }
            for scenario in Scenario.allCases where options.only?.contains(scenario) ?? true {
                if let reason = scenario.whyNot(on: broker, full: options.full) {
                    table.add(.skipped(scenario.rawValue, broker: broker.rawValue, because: reason))
                } else {
                    try run(scenario, on: broker)
                }
            }
        }
        printOutput("\n== fault suite (\(options.full ? "full" : "quick")), \(stopwatch.text) s")
        table.lines.forEach(printOutput)
        return table.failed.isEmpty ? 0 : 1
    }

    /// Runs one scenario in one column. One that stops before its tally gets a FAILED row; either way, every
    /// process it started is killed after it.
    private func run(_ scenario: Scenario, on broker: Broker) throws {
        let directory = "\(work)/\(scenario.rawValue)-\(broker.rawValue)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        printError("\n== \(scenario.rawValue) [\(broker.rawValue)]")
        if broker == .redis, let redis, !scenario.hasOwnRedis {
            _ = try? redis.cli(["flushdb"], database: scenario.redisDatabase)
        }
        let context = ScenarioContext(
            scenario: scenario, broker: broker, simul: simul, directory: directory, redis: redis
        ) { [unowned self] row in self.table.add(row) }
        defer { ProcessGroups.killAll() }
        do {
            try scenario.run(in: context)
        } catch let error as Interrupted {
            throw error
        } catch {
            printError("\(error)")
            guard !table.contains(scenario.rawValue, broker: broker.rawValue) else { return }
            let failed = Check("the scenario did not finish (\(error); see the log above)", false)
            table.add(
                Tally(checks: [failed]).row(
                    scenario: scenario.rawValue, broker: broker.rawValue, seconds: context.stopwatch.text))
        }
    }

    /// Starts the Redis column's server, installing it first if it is missing.
    private func startRedis() throws {
        if try !Debian.has("redis-server") {
            printError("simul-faults: installing redis-server (Debian)")
            try Debian.install("redis-server")
        }
        let server = try RedisServer(directory: "\(work)/redis")
        redis = server
        try server.start()
        let version = try RedisServer.version(scratch: "\(work)/redis/version")
        printError(
            "\n== redis-server \(version) on 127.0.0.1:\(server.port) (append-only, fsync always), in \(server.directory)"
        )
    }

    private func finish() {
        // The cleanup waits for what it stops; a signal that ended the run must not end those waits too.
        Waiting.forgetSignal()
        ProcessGroups.killAll()
        unmountAll()
        redis?.stop()
        if options.keep {
            printError("simul-faults: kept \(work)")
        } else {
            try? FileManager.default.removeItem(atPath: work)
        }
    }

    /// Unmounts the file systems a scenario mounted under the working directory (disk-full's tmpfs), lazily if
    /// still busy.
    private func unmountAll() {
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 1 else { continue }
            let target = fields[1].replacingOccurrences(of: "\\040", with: " ")
            if target.hasPrefix(work + "/") { ScenarioContext.unmount(target) }
        }
    }
}
