import Foundation
public import Simul
public import SimulJSON

/// The language of the narration; the seeds are Portuguese.
public enum Language: String, Sendable, CaseIterable {
    case en, pt
}

/// What a demo run was asked for.
public struct DemoOptions: Sendable {
    /// Smaller workloads.
    public var quick = false
    /// Narration language.
    public var language = Language.en
    /// Redraw tables in place (a terminal) rather than print a line per update.
    public var live = false
    /// Print narration at all; off for `--json`.
    public var narrate = true
    /// wikipics: how many images.
    public var images = 10
    /// wikipics: bytes per generated image.
    public var imageSize = 500_000
    /// wikipics: bytes per second per connection.
    public var rate = 1_200_000
    /// wikipics: a file of real URLs to download instead.
    public var urlsFile: String?
    /// wikipics: write an HTML gallery here.
    public var galleryFile: String?

    /// How the demos' process pools start their workers (tests point it at a binary that registers the demo
    /// tasks; the `simul` binary re-executes itself).
    public var processPool = ProcessPoolConfiguration()

    /// The defaults.
    public init() {}
}

/// What a demo uses to talk to the user and measure its models.
public final class DemoContext: Sendable {
    /// The options.
    public let options: DemoOptions
    private let output: @Sendable (String) -> Void

    /// Creates a context that writes through `output` (one call per line or screen update).
    public init(options: DemoOptions, output: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.output = output
    }

    /// Says something in the chosen language.
    public func say(_ english: String, _ portuguese: String) {
        guard options.narrate else { return }
        output(options.language == .pt ? portuguese : english)
    }

    /// Writes raw text (a table frame); nothing when narration is off.
    func write(_ text: String) {
        guard options.narrate else { return }
        output(text)
    }

    /// Times `body` as `model`, prints the `%%time` lines, and returns its value and the run.
    /// - Parameters:
    ///   - model: the model's name in the report.
    ///   - results: what to report of the value.
    ///   - body: the work.
    public func measure<Value>(
        _ model: String,
        results: (Value) -> JSONValue = { _ in .null },
        _ body: () async throws -> Value
    ) async rethrows -> (value: Value, run: ModelRun) {
        try await measure(model, results: results) { _ in try await body() }
    }

    /// Times `body` as `model` as ``measure(_:results:_:)`` does, and hands it a ``SpanRecorder`` started with the
    /// clock, for the body to record each unit of work it runs; the run carries the spans recorded, if any.
    /// - Parameters:
    ///   - model: the model's name in the report.
    ///   - results: what to report of the value.
    ///   - body: the work, recording its units.
    public func measure<Value>(
        _ model: String,
        results: (Value) -> JSONValue = { _ in .null },
        recording body: (SpanRecorder) async throws -> Value
    ) async rethrows -> (value: Value, run: ModelRun) {
        let ((value, spans), times) = try await timed {
            let recorder = SpanRecorder()
            return (try await body(recorder), recorder.spans)
        }
        write("  \(model):\n" + times.description.split(separator: "\n").map { "    \($0)" }.joined(separator: "\n"))
        let run = ModelRun(model: model, times: times, results: results(value), spans: spans.isEmpty ? nil : spans)
        return (value, run)
    }
}

/// A demo: one of the seeds' examples, run under several models and timed.
public protocol Demo: Sendable {
    /// Its name on the command line.
    static var name: String { get }
    /// Runs every model.
    func run(in context: DemoContext) async throws -> DemoReport
}

/// Blocks the calling thread, as the seeds' `time.sleep` does: a stand-in for a slow database or disk.
func blockingWait(_ seconds: Double) {
    Thread.sleep(forTimeInterval: seconds)
}
