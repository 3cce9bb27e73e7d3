package import Simul
package import SimulJSON

/// A concurrency model of seed 002's decision table.
package enum Model: String, CaseIterable, Sendable, Codable {
    /// One thing at a time, on one thread.
    case sequential
    /// A ``ThreadPool``: Python's `threading` / `ThreadPoolExecutor`.
    case threads
    /// A ``ProcessPool``: Python's `multiprocessing` / `ProcessPoolExecutor`.
    case processes
    /// Structured concurrency on the cooperative pool, AsyncHTTPClient and SwiftNIO: Python's `asyncio`.
    case async
}

/// A phrase in both narration languages.
package struct Phrase: Sendable, Equatable {
    package var en: String
    package var pt: String

    package init(_ en: String, _ pt: String) {
        self.en = en
        self.pt = pt
    }

    /// The phrase in `language`.
    package func text(_ language: Language) -> String { language == .pt ? pt : en }
}

/// How the models of a scenario are ranked.
package enum Ranking: Sendable, Equatable {
    /// By wall time: the work done sooner wins.
    case wallTime
    /// By the 99th percentile of how late a 60 Hz tick loop's ticks were: the smoother interface wins.
    case tickLateness

    /// Whether `figure` is as good as the `best` one: within 10%, or for lateness, both under one 60 Hz frame: a
    /// frame that late is still drawn before the next one is due, so no frame is dropped.
    package func isTie(_ figure: Double, with best: Double) -> Bool {
        if figure <= best * 1.1 { return true }
        return self == .tickLateness && figure < Self.frame && best < Self.frame
    }

    /// One 60 Hz frame.
    package static let frame = 1.0 / 60
}

/// What a scenario's models share: sizes and pools.
package struct TableSettings: Sendable {
    /// Smaller workloads.
    package var quick: Bool
    /// The worker processes of the `processes` model; one per core by default, as `ProcessPoolExecutor()`.
    package var processes: ProcessPoolConfiguration
    /// Threads for CPU work: one per core.
    package var cpuThreads: Int
    /// Threads for blocking I/O, as a Python program would size a `ThreadPoolExecutor` for it.
    package var ioThreads: Int

    package init(
        quick: Bool = false,
        processes: ProcessPoolConfiguration = ProcessPoolConfiguration(),
        cpuThreads: Int = SystemInfo.availableCPUs,
        ioThreads: Int = 32
    ) {
        self.quick = quick
        self.processes = processes
        self.cpuThreads = cpuThreads
        self.ioThreads = ioThreads
    }
}

/// One model's run of a scenario.
package struct Outcome: Sendable, Equatable {
    /// What every model must reproduce exactly: checksums, counts, sums.
    package var check: String
    /// Figures for the JSON report beyond the check.
    package var details: [String: JSONValue]
    /// For ``Ranking/tickLateness``: the tick loop's lateness percentiles, in seconds.
    package var lateness: Lateness?

    package init(check: String, details: [String: JSONValue] = [:], lateness: Lateness? = nil) {
        self.check = check
        self.details = details
        self.lateness = lateness
    }
}

/// One row of the decision table: a workload that can run under several models.
package protocol Scenario: Sendable {
    /// The name in run names (`maths/threads`) and in the summary.
    var key: String { get }
    /// The seed's name for the workload.
    var title: Phrase { get }
    /// What exactly runs, with its size.
    var workload: Phrase { get }
    /// What the seed's table recommends.
    var advice: SeedAdvice { get }
    /// The models that apply, sequential first.
    var models: [Model] { get }
    /// How the models are ranked.
    var ranking: Ranking { get }

    /// Builds what the runs need (servers, files, data); not timed.
    func prepare(_ settings: TableSettings) async throws -> any ScenarioFixture

    /// Why Swift's measured answer agrees with or differs from Python's, given the verdict and every figure.
    func note(_ verdict: Verdict, figures: [Model: Double]) -> Phrase
}

extension Scenario {
    package var models: [Model] { Model.allCases }
    package var ranking: Ranking { .wallTime }
}

/// A prepared scenario: runs the models and cleans up.
package protocol ScenarioFixture: Sendable {
    /// Runs the workload under `model`; this is what is timed.
    func run(_ model: Model) async throws -> Outcome
    /// Stops servers and removes files.
    func tearDown() async throws
}

/// The tick loop's lateness: how long after its deadline each tick ran.
package struct Lateness: Sendable, Equatable {
    package var p50: Double
    package var p99: Double
    package var max: Double
    package var ticks: Int

    /// The percentiles of `samples` (seconds), nearest-rank.
    package init(samples: [Double]) {
        precondition(!samples.isEmpty, "lateness needs at least one tick")
        let sorted = samples.sorted()
        func rank(_ p: Double) -> Double {
            sorted[Swift.max(0, Swift.min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
        }
        p50 = rank(0.50)
        p99 = rank(0.99)
        max = sorted[sorted.count - 1]
        ticks = sorted.count
    }
}
