import CoreMetrics
import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// `simul worker` with `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set: swift-otel's
/// tracer, exporting spans over OTLP/HTTP as the `OTEL_*` variables configure it (protobuf, or JSON with
/// `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`; `OTEL_SERVICE_NAME`, default `simul-worker`), with W3C trace context in
/// the messages, and the worker's metrics (every `OTEL_METRIC_EXPORT_INTERVAL`, 60 s by default, and once more at
/// shutdown) unless `OTEL_METRICS_EXPORTER=none`. Logs keep their own handler.
struct OTLPExport {
    /// The exporters, to run while the worker runs.
    var services: [any Service]
    /// swift-otel's metrics factory, for the caller to bootstrap (beside Prometheus' with `--metrics-port`).
    var metrics: (any MetricsFactory)?

    /// Bootstraps swift-otel's tracer when the environment names an OTLP endpoint, and makes its metrics backend.
    /// - Returns: the exporters and the metrics factory; `nil` when there is no endpoint.
    /// - Throws: ``CLIError`` when `SIMUL_TRACE_FILE` is set too, or swift-otel refuses its configuration (such as
    ///   `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`, which this build leaves out).
    static func bootstrapIfAsked(environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> OTLPExport?
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
        var export: OTLPExport
        do {
            let backend = try OTel.makeTracingBackend(configuration: configuration)
            InstrumentationSystem.bootstrap(backend.factory)
            export = OTLPExport(services: [backend.service])
        } catch {
            throw CLIError("cannot export spans over OTLP: \(error)")
        }
        guard environment["OTEL_METRICS_EXPORTER"] != "none" else { return export }
        configuration.traces.enabled = false
        configuration.metrics.enabled = true
        do {
            let backend = try OTel.makeMetricsBackend(configuration: configuration)
            export.services.append(backend.service)
            export.metrics = backend.factory
        } catch {
            throw CLIError("cannot export metrics over OTLP: \(error)")
        }
        return export
    }

    /// Runs the exporters of `export` beside `body`, then shuts them down gracefully, so that the spans of the last
    /// tasks and the final metrics are sent.
    static func exporting<T>(_ export: OTLPExport?, _ body: () async throws -> T) async throws -> T {
        guard let export else { return try await body() }
        let group = ServiceGroup(services: export.services, logger: Logger(label: "simul.otel"))
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
