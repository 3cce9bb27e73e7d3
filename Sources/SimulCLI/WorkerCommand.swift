import ArgumentParser
import Dispatch
import Foundation
import Logging
import Simul
import SimulBrokers
import SimulQueue

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run queued tasks until stopped (SIGTERM or Ctrl-C: warm shutdown; twice: cold).",
        discussion: """
            A warm shutdown stops fetching, puts prefetched messages back, and lets running tasks finish within \
            --shutdown-timeout; a second signal stops them and puts them back too. Nothing received is lost: \
            a message is acknowledged only after its result is stored.
            Examples:
              simul worker
              simul worker -Q celery,slow -c 8 --pool threads -n alpha@%h
              simul worker --pool processes -c 2 --broker sqlite:///var/lib/simul/queue.sqlite
            """
    )

    @OptionGroup var queue: QueueOptions

    @Option(name: [.customShort("Q"), .customLong("queues")], help: "Queues to take tasks from, comma-separated.")
    var queues = "celery"

    @Option(
        name: [.customShort("c"), .customLong("concurrency")], parsing: .unconditional,
        help: "Tasks at once (default: the CPU count).",
        transform: { try parseInt($0, "--concurrency") })
    var concurrency: Int?

    @Option(
        parsing: .unconditional,
        help: "The most tasks at once that pool_grow may reach (default: 4 × --concurrency; processes: --concurrency).",
        transform: { try parseInt($0, "--max-concurrency") })
    var maxConcurrency: Int?

    @Option(help: "solo, threads, processes or async.")
    var pool = "threads"

    @Option(name: [.customShort("n"), .customLong("hostname")], help: "The node name (%h is the host name).")
    var name = "simul@%h"

    @Option(
        parsing: .unconditional, help: "Messages held per unit of concurrency.",
        transform: { try parseInt($0, "--prefetch-multiplier") })
    var prefetchMultiplier = 4

    @Option(
        parsing: .unconditional, help: "Seconds a received message stays leased before another worker may take it.",
        transform: { try parseDouble($0, "--lease") })
    var lease = 30.0

    @Option(
        parsing: .unconditional, help: "Seconds running tasks get to finish on SIGTERM.",
        transform: { try parseDouble($0, "--shutdown-timeout") })
    var shutdownTimeout = 30.0

    @Flag(help: "Also store RECEIVED and STARTED states.")
    var trackStarted = false

    @Flag(
        help: """
            Send no task events (received, started, succeeded…) until a monitor asks with enable_events, as Flower \
            does; heartbeats go on. Simul sends them by default, where a Celery worker needs -E.
            """)
    var withoutTaskEvents = false

    @Flag(help: "Do not ask the running workers for their revocations at start (Celery's mingle), a second saved.")
    var withoutMingle = false

    @OptionGroup var route: RouteOptions

    @Option(
        parsing: .unconditional,
        help: "Largest message to take, in bytes; a larger one becomes a dead letter (default: 1 MiB).",
        transform: { try parseInt($0, "--max-message-size") })
    var maxMessageSize: Int?

    @Option(
        parsing: .unconditional,
        help: """
            Dead-letter a message whose lease ran out this many times, each time with its worker gone before it \
            finished (a task that kills its worker); 0 for no limit (default: 5).
            """,
        transform: { try parseInt($0, "--max-lapsed-leases") })
    var maxLapsedLeases = 5

    @Option(
        parsing: .unconditional, help: "Seconds a stored result is kept (default: one day).",
        transform: { try parseDouble($0, "--result-expires") })
    var resultExpires: Double?

    func run() async throws {
        var configuration = WorkerConfiguration()
        guard let poolKind = WorkerConfiguration.Pool(rawValue: pool) else {
            throw CLIError("unknown pool '\(pool)' (use solo, threads, processes or async)")
        }
        configuration.pool = poolKind
        if let concurrency {
            guard concurrency >= 1 else { throw CLIError("--concurrency must be at least 1, got \(concurrency)") }
            configuration.concurrency = concurrency
        }
        if let maxConcurrency {
            guard maxConcurrency >= configuration.concurrency else {
                throw CLIError(
                    "--max-concurrency must be at least the concurrency (\(configuration.concurrency)), got \(maxConcurrency)"
                )
            }
            configuration.maxConcurrency = maxConcurrency
        }
        guard prefetchMultiplier >= 1 else {
            throw CLIError("--prefetch-multiplier must be at least 1, got \(prefetchMultiplier)")
        }
        guard try checkedSeconds(lease, option: "--lease")! >= 1 else {
            throw CLIError("--lease must be at least 1 second, got \(lease)")
        }
        configuration.prefetchMultiplier = prefetchMultiplier
        configuration.lease = .seconds(lease)
        configuration.shutdownTimeout = .seconds(try checkedSeconds(shutdownTimeout, option: "--shutdown-timeout")!)
        configuration.queues = queues.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard !configuration.queues.isEmpty else { throw CLIError("-Q needs at least one queue name") }
        configuration.name = name.replacingOccurrences(of: "%h", with: ProcessInfo.processInfo.hostName)
        configuration.trackStarted = trackStarted
        configuration.taskEvents = !withoutTaskEvents
        configuration.mingle = !withoutMingle
        configuration.routes = try route.routes()
        if let maxMessageSize {
            guard maxMessageSize >= 1 else {
                throw CLIError("--max-message-size must be at least 1, got \(maxMessageSize)")
            }
            configuration.maxMessageSize = maxMessageSize
        }
        guard maxLapsedLeases >= 0 else {
            throw CLIError("--max-lapsed-leases must be 0 (no limit) or more, got \(maxLapsedLeases)")
        }
        configuration.maxLapsedLeases = maxLapsedLeases == 0 ? nil : maxLapsedLeases
        if let resultExpires = try checkedSeconds(resultExpires, option: "--result-expires") {
            guard resultExpires >= 1 else {
                throw CLIError("--result-expires must be at least 1 second, got \(resultExpires)")
            }
        }
        let connection = try queue.open(resultExpiry: resultExpires, logLevel: .info, connections: 4)
        let (broker, backend) = (connection.broker, connection.backend)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let worker = Worker(
            catalog: SimulMain.catalog, broker: broker, backend: backend, configuration: configuration,
            logger: Logger(label: "simul.worker"))
        let signals = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { worker.shutdown() }
            source.resume()
            return source
        }
        do {
            try await worker.run()
        } catch let error as QueueError where error.isBrokerGone {
            throw CLIError("\(error.message); stopping")
        }
        for source in signals { source.cancel() }
        await connection.close()
    }
}
