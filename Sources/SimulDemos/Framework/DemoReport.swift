public import Simul
public import SimulJSON

/// One model's run in a demo: what `simul demo --json` prints per model.
public struct ModelRun: Codable, Sendable, Equatable {
    /// The concurrency model: `sequential`, `threads`, `processes`, `async`, …
    public var model: String
    /// Wall time in seconds.
    public var wall_s: Double
    /// User CPU in seconds, child and worker processes included.
    public var user_s: Double
    /// System CPU in seconds, child and worker processes included.
    public var sys_s: Double
    /// What the run produced, demo by demo (for primes: `n`, `lpf` and `prime` per number).
    public var results: JSONValue
    /// The units of work, where the demo records them (every demo but table); absent otherwise.
    public var spans: [WorkSpan]?

    /// Creates a run from a measurement.
    public init(model: String, times: CPUTimes, results: JSONValue = .null, spans: [WorkSpan]? = nil) {
        self.model = model
        wall_s = times.wall.seconds
        user_s = times.user.seconds
        sys_s = times.system.seconds
        self.results = results
        self.spans = spans
    }
}

/// One demo's runs.
public struct DemoReport: Codable, Sendable, Equatable {
    /// The demo's name.
    public var demo: String
    /// Every model's run, in the order they ran.
    public var runs: [ModelRun]
    /// Figures the demo derives from its runs, such as speedups or simulated times.
    public var summary: [String: JSONValue]

    /// Creates a report.
    public init(demo: String, runs: [ModelRun] = [], summary: [String: JSONValue] = [:]) {
        self.demo = demo
        self.runs = runs
        self.summary = summary
    }

    /// The run of `model`, if there was one.
    public func run(_ model: String) -> ModelRun? { runs.first { $0.model == model } }
}
