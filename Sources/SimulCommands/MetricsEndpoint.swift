package import CoreMetrics
import Foundation
import Hummingbird
package import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// `simul worker --metrics-port`: the worker's swift-metrics, bootstrapped into a swift-prometheus registry and served
/// in Prometheus' text format at `http://127.0.0.1:PORT/metrics`.
package struct MetricsEndpoint {
    /// The runtime and queue-wait buckets, in seconds: Flower's (the Prometheus client's defaults), then minutes.
    static let durationBuckets: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 300,
    ]

    /// The port it listens on.
    package let port: Int
    private let group: ServiceGroup
    private let server: Task<Void, Never>

    /// Bootstraps swift-metrics into a new registry, then serves that registry on 127.0.0.1.
    /// - Parameters:
    ///   - port: the port; 0 picks a free one.
    ///   - logger: where the server reports.
    ///   - other: a second backend that gets every metric too, such as swift-otel's OTLP exporter.
    /// - Throws: ``CLIError`` when the port is in use, or cannot be bound for another reason.
    package static func start(port: Int, logger: Logger, alongside other: (any MetricsFactory)? = nil) async throws
        -> MetricsEndpoint
    {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let buckets = durationBuckets.map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }
        factory.defaultDurationHistogramBuckets = buckets
        MetricsSystem.bootstrap(other.map { MultiplexMetricsHandler(factories: [factory, $0]) } ?? factory)
        let router = Router()
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        let (started, continuation) = AsyncStream.makeStream(of: Result<Int, any Error>.self)
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname("127.0.0.1", port: port), serverName: "simul-worker"),
            onServerRunning: { channel in continuation.yield(.success(channel.localAddress?.port ?? port)) },
            logger: logger)
        // In a group of its own, without signals (the worker has its own), so that stopping is a graceful shutdown.
        let group = ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: logger)
        let server = Task {
            do {
                try await group.run()
            } catch {
                continuation.yield(.failure(error))
            }
            continuation.finish()
        }
        for await result in started {
            switch result {
            case .success(let bound): return MetricsEndpoint(port: bound, group: group, server: server)
            case .failure(let error as IOError) where error.errnoCode == EADDRINUSE:
                throw CLIError("--metrics-port \(port): 127.0.0.1:\(port) is in use")
            case .failure(let error):
                throw CLIError("--metrics-port \(port): cannot listen on 127.0.0.1:\(port) (\(error))")
            }
        }
        throw CLIError("--metrics-port \(port): the metrics server stopped before it listened")
    }

    /// Stops serving, gracefully.
    package func stop() async {
        await group.triggerGracefulShutdown()
        await server.value
    }
}
