import Foundation
import Simul

/// One measured figure, in the JSON shape scripts rely on (DESIGN.md, "Machine-readable output").
public struct BenchResult: Codable, Sendable, Equatable {
    /// The suite, such as `executors`.
    public var suite: String
    /// The stable case name, such as `threadpool-submit`.
    public var `case`: String
    /// Who produced it: `simul` or a Python peer such as `python-concurrent.futures`.
    public var impl: String
    /// What was measured: `throughput`, `wall` or `latency`.
    public var metric: String
    /// The figure.
    public var value: Double
    /// Its unit: `ops/s` or `s`.
    public var unit: String

    /// Creates a result.
    public init(suite: String, case: String, impl: String, metric: String, value: Double, unit: String) {
        self.suite = suite
        self.case = `case`
        self.impl = impl
        self.metric = metric
        self.value = value
        self.unit = unit
    }
}

/// The machine a report was measured on.
public struct BenchMachine: Codable, Sendable, Equatable {
    /// CPUs this process may use.
    public var cpus: Int
    /// The operating system.
    public var os: String
    /// The Swift compiler that built this binary.
    public var swift: String

    /// This machine.
    public static var current: BenchMachine {
        #if compiler(>=6.3)
            let swift = "6.3"
        #else
            let swift = "6.1"
        #endif
        return BenchMachine(cpus: SystemInfo.availableCPUs, os: SystemInfo.operatingSystem, swift: swift)
    }
}

/// Everything one `simul bench` run measured.
public struct BenchReport: Codable, Sendable, Equatable {
    /// Where it ran.
    public var machine: BenchMachine
    /// The figures, ours and the peers'.
    public var results: [BenchResult]

    /// Creates a report.
    public init(machine: BenchMachine = .current, results: [BenchResult] = []) {
        self.machine = machine
        self.results = results
    }

    /// The report as one JSON object.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
