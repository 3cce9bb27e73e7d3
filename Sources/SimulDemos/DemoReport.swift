public import Simul

/// One model's run in a demo: what `simul demo --json` prints per model.
public struct ModelRun: Codable, Sendable {
    /// The concurrency model: `sequential`, `threads`, `processes`, `async`.
    public var model: String
    /// What the run did.
    public var step: String
    /// Wall time in seconds.
    public var wall_s: Double
    /// User CPU in seconds, worker processes included.
    public var user_s: Double
    /// System CPU in seconds, worker processes included.
    public var sys_s: Double

    /// Creates a run from a measurement.
    public init(model: String, step: String, times: CPUTimes) {
        self.model = model
        self.step = step
        wall_s = times.wall.seconds
        user_s = times.user.seconds
        sys_s = times.system.seconds
    }
}

/// One demo's runs.
public struct DemoReport: Codable, Sendable {
    /// The demo's name.
    public var demo: String
    /// Every model's run.
    public var runs: [ModelRun]
}
