import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SimulBrokers
import SimulDashboard
import SimulJSON
import SimulQueue

/// `thumbnails serve`: the HTTP API, a CPU worker (processes pool) and an I/O worker (async pool), and the dashboard
/// under `/ops`, in one ServiceGroup that SIGTERM or Ctrl-C stops gracefully.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serves the HTTP API and runs the workers, in one process.",
        discussion: """
            POST /thumbnails {"url": URL, "width": N} downloads and shrinks one image; POST /galleries \
            {"urls": [URL, …], "width": N} many. Both answer 202 with the task id; GET /results/ID reads its state \
            and result. GET /sources/NAME.pgm?size=N serves a test card to try them on, and /ops is the dashboard.
            """)

    @Option(
        help: """
            The broker: sqlite://PATH or redis://host:port/db. Default: $SIMUL_BROKER_URL, else \
            sqlite://\(BrokerURL.defaultSQLitePath), as for the other commands.
            """)
    var broker: String?

    @Option(help: "The port to listen on, on 127.0.0.1 (0 picks a free one).")
    var port = 8080

    @Option(help: "Child processes in the CPU worker's pool.")
    var processes = 2

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535, got \(port)") }
        guard (1...256).contains(processes) else {
            throw ValidationError("--processes must be 1 to 256, got \(processes)")
        }
    }

    func run() async throws {
        let url =
            broker ?? ProcessInfo.processInfo.environment["SIMUL_BROKER_URL"]
            ?? "sqlite://\(BrokerURL.defaultSQLitePath)"
        let logger = Logger(label: "thumbnails")
        let queue = try QueueConnection(broker: url)
        let tasks = TaskCatalog.thumbnails(folder: Folder())
        let hostname = ProcessInfo.processInfo.hostName
        let workers = [
            worker(named: "cpu@\(hostname)", on: Resize.options.queue!, pool: .processes, concurrency: processes),
            worker(named: "io@\(hostname)", on: Download.options.queue!, pool: .async, concurrency: 50),
        ].map {
            Worker(catalog: tasks, broker: queue.broker, backend: queue.backend, configuration: $0, logger: logger)
        }

        let router = Router()
        API(client: QueueClient(broker: queue.broker, backend: queue.backend)).addRoutes(to: router)
        let dashboard = try Dashboard(broker: queue.broker, backend: queue.backend, logger: logger)
        try dashboard.addRoutes(to: router, atPath: "/ops")
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                print("listening on http://127.0.0.1:\(channel.localAddress?.port ?? port)")
                fflush(nil)
            }, logger: logger)

        let group = ServiceGroup(
            configuration: .init(
                services: [app, dashboard.monitor] + workers, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        await queue.close()
    }

    private func worker(named name: String, on queue: String, pool: WorkerConfiguration.Pool, concurrency: Int)
        -> WorkerConfiguration
    {
        var configuration = WorkerConfiguration()
        configuration.name = name
        configuration.queues = [queue]
        configuration.pool = pool
        configuration.concurrency = concurrency
        return configuration
    }
}

/// The HTTP API: it enqueues work and answers at once with the task's id.
struct API: Sendable {
    let client: QueueClient

    struct Enqueued: ResponseEncodable { var id: String }
    struct State: ResponseEncodable {
        var id: String
        var state: String
        var result: JSONValue
    }
    struct ThumbnailRequest: Decodable {
        var url: String
        var width: Int
    }

    func addRoutes(to router: Router<some RequestContext>) {
        router.post("/thumbnails") { request, context in
            let body = try await request.decode(as: ThumbnailRequest.self, context: context)
            let chain = try TypedSignature(Download.self, .init(url: body.url)).then(
                Resize.self, .init(width: body.width))
            return EditedResponse(status: .accepted, response: Enqueued(id: try await client.apply(chain).id))
        }
        router.post("/galleries") { request, context in
            let body = try await request.decode(as: Gallery.Arguments.self, context: context)
            return EditedResponse(
                status: .accepted, response: Enqueued(id: try await client.send(Gallery.self, body).id))
        }
        router.get("/results/{id}") { _, context in
            let id = try context.parameters.require("id")
            let stored = try await client.result(id).result()
            return State(id: id, state: (stored?.status ?? .pending).rawValue, result: stored?.result ?? .null)
        }
        router.get("/sources/{name}") { request, _ in
            let size = request.uri.queryParameters["size"].flatMap { Int(String($0)) } ?? 256
            guard (1...Graymap.maxSide).contains(size) else {
                throw HTTPError(.badRequest, message: "size must be 1 to \(Graymap.maxSide)")
            }
            return Response(
                status: .ok, headers: [.contentType: "image/x-portable-graymap"],
                body: .init(byteBuffer: ByteBuffer(bytes: Graymap.testCard(size: size).pgm)))
        }
    }
}
