/// One unit of work in a model's run (a cake, a piece of a prime search, a download, one of Polgár's moves): where
/// it ran and when, in seconds from the start of the run. `simul demo --json` prints them per model, and `--html`
/// draws them.
public struct WorkSpan: Codable, Sendable, Equatable {
    /// Who ran it: `main` (sequential), `thread N` (the Nth OS thread seen in the run), `pid N` (a worker
    /// process), `task N` (an async task or a queued one) or `board N` (Polgár's boards).
    public var lane: String
    /// What it was, such as `chocolate` or `17_596_380_345_407 #3`.
    public var label: String
    /// When it started, in seconds from the start of the run.
    public var start_s: Double
    /// When it ended, in seconds from the start of the run.
    public var end_s: Double
    /// The CPU time its thread spent on it, where the demo measured it (wikipics' blocking downloads); the rest of
    /// the span was waiting.
    public var cpu_s: Double?

    /// Creates a span.
    public init(lane: String, label: String, start_s: Double, end_s: Double, cpu_s: Double? = nil) {
        self.lane = lane
        self.label = label
        self.start_s = start_s
        self.end_s = end_s
        self.cpu_s = cpu_s
    }
}
