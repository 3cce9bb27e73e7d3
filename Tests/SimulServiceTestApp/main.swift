// A Swift service as a team would write one: a Hummingbird app with the dashboard mounted at /ops, a Simul worker
// and a beat in one ServiceGroup, stopped gracefully by SIGTERM. `ServiceGroupTests` runs it: simul-service-test-app BROKER_URL.
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SimulBrokers
import SimulDashboard
import SimulQueue
import SimulTasks
import UnixSignals

let url = CommandLine.arguments.dropFirst().first ?? "sqlite://.simul/queue.sqlite"
var logger = Logger(label: "service-test-app")
logger.logLevel = .warning
let queue = try QueueConnection(broker: url)

var configuration = WorkerConfiguration()
configuration.concurrency = 2
configuration.prefetchMultiplier = 2
configuration.trackStarted = true
configuration.shutdownTimeout = .seconds(30)
let worker = Worker(
    catalog: BuiltinTasks.catalog, broker: queue.broker, backend: queue.backend, configuration: configuration,
    logger: logger)
let beat = Beat(
    entries: [BeatEntry(name: "tick", task: "simul.noop", schedule: .every(seconds: 1), options: .init(queue: "beat"))],
    client: QueueClient(broker: queue.broker, backend: queue.backend), claims: try queue.broker.require(.slotClaims),
    logger: logger)

let dashboard = try Dashboard(broker: queue.broker, backend: queue.backend, logger: logger)
let router = Router()
router.get("/healthz") { _, _ in "ok" }
try dashboard.addRoutes(to: router, atPath: "/ops")
let app = Application(
    router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
    onServerRunning: { channel in
        print("listening on \(channel.localAddress?.port ?? 0)")
        fflush(nil)
    }, logger: logger)

let group = ServiceGroup(
    configuration: .init(
        services: [app, dashboard.monitor, worker, beat], gracefulShutdownSignals: [.sigterm], logger: logger))
try await group.run()
await queue.close()
print("stopped")
