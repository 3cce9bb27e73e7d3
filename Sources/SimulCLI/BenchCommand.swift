import ArgumentParser
import Foundation
import SimulBench

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Simul, and with --compare-python the Python peer, in the same run.",
        discussion: """
            Suites: \(BenchCommand.suites.joined(separator: ", ")). Each case runs \
            three times and the best run counts.
            Examples:
              simul bench executors
              simul bench executors --json --compare-python
            """
    )

    static let suites = ["executors"]

    @Argument(help: "The suites to run (default: all).")
    var names: [String] = []

    @Flag(help: "Print one JSON object: {machine, results}.")
    var json = false

    @Flag(help: "Also run the Python peer (python3 on PATH, or SIMUL_PYTHON) and add its rows.")
    var comparePython = false

    @Flag(help: "Smaller counts: a quick look, not a measurement.")
    var quick = false

    func validate() throws {
        for name in names where !Self.suites.contains(name) {
            throw ValidationError("unknown suite '\(name)' (available: \(Self.suites.joined(separator: ", ")))")
        }
    }

    func run() async throws {
        var report = BenchReport()
        let suite = ExecutorsBenchmark(quick: quick)
        report.results += try await suite.run { name in Self.progress("simul: \(name)") }
        if comparePython {
            Self.progress("python: executors")
            do {
                report.results += try suite.runPython()
            } catch {
                throw ValidationError("\(error)")
            }
        }
        if json {
            print(try report.json())
        } else {
            print(Self.table(report))
        }
    }

    static func progress(_ line: String) {
        FileHandle.standardError.write(Data("… \(line)\n".utf8))
    }

    /// Ours beside the peer's, with the ratio (higher is better for throughput, lower for wall time).
    static func table(_ report: BenchReport) -> String {
        var lines = [
            "machine: \(report.machine.cpus) CPUs, \(report.machine.os), Swift \(report.machine.swift)",
            String(format: "%-22@ %-26@ %16@ %-6@ %8@", "case", "impl", "value", "unit", "vs peer"),
        ]
        for result in report.results {
            let ours = report.results.first { $0.case == result.case && $0.impl == "simul" }
            var ratio = ""
            if result.impl != "simul", let ours, result.value > 0, ours.value > 0 {
                let factor = result.metric == "wall" ? result.value / ours.value : ours.value / result.value
                ratio = String(format: "%.1fx", factor)
            }
            lines.append(
                String(
                    format: "%-22@ %-26@ %16.3f %-6@ %8@", result.case, result.impl, result.value, result.unit,
                    ratio
                )
            )
        }
        return lines.joined(separator: "\n")
    }
}
