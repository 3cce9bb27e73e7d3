import Foundation
import SimulJSON
import SimulQueue
import Synchronization
import Tracing

/// `SIMUL_TRACE_FILE`, a debugging aid: `simul worker` and `simul send` write each span they finish to
/// that file, one JSON object a line (``TraceContextTracer/FinishedSpan/json``), appending, so that processes can
/// share the file. Context goes in and out of the messages as W3C `traceparent` and `tracestate` headers.
package enum TraceFile {
    /// Bootstraps the tracer when `SIMUL_TRACE_FILE` names a file; else leaves tracing off.
    /// - Throws: ``CLIError`` when the file cannot be opened for appending.
    package static func bootstrapIfAsked(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let path = environment["SIMUL_TRACE_FILE"], !path.isEmpty else { return }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CLIError("SIMUL_TRACE_FILE: cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        let file = LineFile(descriptor: descriptor)
        InstrumentationSystem.bootstrap(TraceContextTracer { span in file.append(span.json.jsonBytes) })
    }

    /// The context OpenTelemetry passes to a process in `TRACEPARENT` and `TRACESTATE`, for the span a command starts.
    static func environmentContext(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        -> ServiceContext
    {
        var context = ServiceContext.topLevel
        InstrumentationSystem.tracer.extract(environment, into: &context, using: EnvironmentExtractor())
        return context
    }

    /// Reads `traceparent` from `TRACEPARENT`, and so on: the names OpenTelemetry's environment carrier uses.
    private struct EnvironmentExtractor: Extractor {
        func extract(key: String, from environment: [String: String]) -> String? {
            environment[key.uppercased()]
        }
    }

    /// A file that lines are appended to whole, one `write` each, from any thread.
    private final class LineFile: Sendable {
        private let descriptor: Mutex<Int32>

        init(descriptor: Int32) { self.descriptor = Mutex(descriptor) }

        func append(_ line: [UInt8]) {
            let bytes = line + [UInt8(ascii: "\n")]
            descriptor.withLock { descriptor in
                _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            }
        }
    }
}
