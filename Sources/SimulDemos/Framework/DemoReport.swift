public import Simul

/// A JSON value, for the demo-specific results in `simul demo --json`.
public enum JSONValue: Codable, Sendable, Equatable {
    case string(String)
    case number(Double)
    case integer(Int64)
    case unsigned(UInt64)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .unsigned(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .unsigned(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}

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

    /// Creates a run from a measurement.
    public init(model: String, times: CPUTimes, results: JSONValue = .null) {
        self.model = model
        wall_s = times.wall.seconds
        user_s = times.user.seconds
        sys_s = times.system.seconds
        self.results = results
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
