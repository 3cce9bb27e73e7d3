import ArgumentParser
import Foundation
import Logging
import SimulBench
import SimulCommands

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Simul, and with --compare-python the Python peer, in the same run.",
        discussion: """
            Suites: \(BenchCommand.suites.joined(separator: ", ")). Each case runs \
            three times and the best run counts (Python's primes run once: they take a minute).
            Examples:
              simul bench executors
              simul bench cpu --compare-python --report bench.html
              simul bench cpu io --json --compare-python
              simul bench queue --compare-python --redis redis://127.0.0.1:6379
              simul bench revokes
            The queue suite's Redis cases need redis-server (Debian: apt-get install redis-server) and compare \
            with Celery 5.7, which --compare-python installs from PyPI into a virtual environment. The revokes \
            suite drains 2,000 no-ops with 0 and with 30,000 revocations stored, on SQLite and on Redis. \
            With SIMUL_TRACE_FILE set, every message is traced and its spans written to that file, and with \
            --metrics the workers' metrics are on: what each costs.
            """
    )

    static let suites = ["executors", "cpu", "io", "queue", "revokes"]

    @Argument(help: "The suites to run (default: all).")
    var names: [String] = []

    @Flag(help: "Print one JSON object: {machine, results}.")
    var json = false

    @Flag(help: "Also run the Python peer (python3 on PATH, or SIMUL_PYTHON) and add its rows.")
    var comparePython = false

    @Flag(help: "Smaller counts: a quick look, not a measurement.")
    var quick = false

    @Option(help: "Also write a self-contained HTML page with charts to this file.")
    var report: String?

    @Option(help: "The Redis for the queue suite's Redis cases (default: a redis-server of its own on a free port).")
    var redis: String?

    @Flag(
        help: """
            Run with the workers' metrics on, as `simul worker --metrics-port 0` has them (swift-prometheus, served on \
            127.0.0.1), to measure what they cost.
            """)
    var metrics = false

    func run() async throws {
        try checkNames(names, kind: "suite", available: Self.suites)
        let selected = names.isEmpty ? Self.suites : Self.suites.filter(names.contains)
        let settings = BenchSettings(quick: quick, redisURL: redis)
        // With SIMUL_TRACE_FILE, every send, run and result store is traced and written there: tracing's cost.
        try TraceFile.bootstrapIfAsked()
        let endpoint = metrics ? try await MetricsEndpoint.start(port: 0, logger: Logger(label: "simul.bench")) : nil
        var results = BenchReport()
        for suite in selected {
            switch suite {
            case "executors":
                let benchmark = ExecutorsBenchmark(settings)
                results.results += try await benchmark.run { Self.progress("simul: \($0)") }
                if comparePython {
                    Self.progress("python: executors")
                    results.results += try peer { try benchmark.runPython() }
                }
            case "cpu":
                let benchmark = CPUBenchmark(settings)
                results.results += try await benchmark.run { Self.progress("simul: \($0)") }
                if comparePython {
                    Self.progress("python: primes (sequential, threads, processes; about a minute)")
                    results.results += try peer { try benchmark.runPython() }
                }
            case "io":
                let benchmark = IOBenchmark(settings)
                results.results += try await benchmark.run { Self.progress("simul: \($0)") }
                if comparePython {
                    Self.progress("python: wikipics (urllib, ThreadPoolExecutor, aiohttp in a virtual environment)")
                    do {
                        results.results += try peer { try benchmark.runPython() }
                    } catch {
                        await benchmark.shutdown()
                        throw error
                    }
                }
                await benchmark.shutdown()
            case "queue":
                results.results += try await QueueBenchmark(settings).run { Self.progress("simul: \($0)") }
                if comparePython {
                    Self.progress("python: the SQLite queue has no Python peer (Celery has no SQLite broker)")
                }
                results.results += try await peer {
                    try await RedisQueueBenchmark(settings).run(comparePython: comparePython) {
                        Self.progress("simul: \($0)")
                    }
                }
            case "revokes":
                if comparePython { Self.progress("python: the revokes suite has no Python peer") }
                results.results += try await peer {
                    try await RevokeBenchmark(settings).run { Self.progress("simul: \($0)") }
                }
            default:
                preconditionFailure("unhandled suite \(suite)")
            }
        }
        if let report {
            do {
                try BenchHTMLReport.render(results).write(toFile: report, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError("cannot write the report to '\(report)': \(error.localizedDescription)")
            }
        }
        print(json ? try results.json() : Self.table(results))
        await endpoint?.stop()
    }

    private func peer(_ body: () throws -> [BenchResult]) throws -> [BenchResult] {
        do {
            return try body()
        } catch {
            throw CLIError("\(error)")
        }
    }

    private func peer(_ body: () async throws -> [BenchResult]) async throws -> [BenchResult] {
        do {
            return try await body()
        } catch {
            throw CLIError("\(error)")
        }
    }

    static func progress(_ line: String) {
        FileHandle.standardError.write(Data("… \(line)\n".utf8))
    }

    /// Ours beside the peer's, with how many times better ours is (higher throughput, or lower wall time).
    static func table(_ report: BenchReport) -> String {
        let header = ["case", "impl", "value", "unit", "ours vs this"]
        var rows = [header]
        for result in report.results {
            let ours = report.results.first { $0.case == result.case && $0.impl == "simul" }
            var ratio = ""
            if result.impl != "simul", result.metric != "speedup", let ours, result.value > 0, ours.value > 0 {
                let factor =
                    ["wall", "latency"].contains(result.metric) ? result.value / ours.value : ours.value / result.value
                ratio = String(format: "%.1fx", factor)
            }
            let value = String(
                format: result.unit == "s" ? "%.3f" : result.unit == "x" ? "%.2f" : "%.0f", result.value
            )
            rows.append([result.case, result.impl, value, result.unit, ratio])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        let lines = rows.map { row in
            row.indices.map { column in
                let cell = row[column]
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 2 || column == 4 ? padding + cell : cell + padding
            }.joined(separator: "  ")
        }
        let machine = "machine: \(report.machine.cpus) CPUs, \(report.machine.os), Swift \(report.machine.swift)"
        return ([machine] + lines).joined(separator: "\n")
    }
}
