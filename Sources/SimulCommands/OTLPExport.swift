import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// `simul worker` with `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set: swift-otel's
/// tracer, exporting spans over OTLP/HTTP as the `OTEL_*` variables configure it (protobuf, or JSON with
/// `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`; `OTEL_SERVICE_NAME`, default `simul-worker`), with W3C trace context in
/// the messages. Only spans: the worker's logs and metrics keep their own backends.
enum OTLPExport {
    /// Bootstraps swift-otel's tracer when the environment names an OTLP endpoint.
    /// - Returns: the service that exports the spans, to run while the worker runs; `nil` when there is no endpoint.
    /// - Throws: ``CLIError`` when `SIMUL_TRACE_FILE` is set too, or swift-otel refuses its configuration (such as
    ///   `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`, which this build leaves out).
    static func bootstrapIfAsked(environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> (any Service)?
    {
        let endpoint = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].compactMap {
            environment[$0]
        }.first { !$0.isEmpty }
        guard endpoint != nil else { return nil }
        guard environment["SIMUL_TRACE_FILE", default: ""].isEmpty else {
            throw CLIError("set SIMUL_TRACE_FILE or OTEL_EXPORTER_OTLP_ENDPOINT, not both")
        }
        var configuration = OTel.Configuration.default
        configuration.serviceName = "simul-worker"
        // swift-otel says at info each variable it reads; OTEL_LOG_LEVEL=info brings that back.
        configuration.diagnosticLogLevel = .warning
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        do {
            let backend = try OTel.makeTracingBackend(configuration: configuration)
            InstrumentationSystem.bootstrap(backend.factory)
            return backend.service
        } catch {
            throw CLIError("cannot export spans over OTLP: \(error)")
        }
    }

    /// Runs `exporter` beside `body`, then shuts it down gracefully, so that the spans of the last tasks are sent.
    static func exporting<T>(_ exporter: (any Service)?, _ body: () async throws -> T) async throws -> T {
        guard let exporter else { return try await body() }
        let group = ServiceGroup(services: [exporter], logger: Logger(label: "simul.otel"))
        let running = Task { try await group.run() }
        do {
            let value = try await body()
            await group.triggerGracefulShutdown()
            try await running.value
            return value
        } catch {
            await group.triggerGracefulShutdown()
            try? await running.value
            throw error
        }
    }
}
