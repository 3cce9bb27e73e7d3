import ArgumentParser
import CoreMetrics
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
            Spans (docs/observability.md): with OTEL_EXPORTER_OTLP_ENDPOINT set, exported over OTLP/HTTP through \
            swift-otel; with SIMUL_TRACE_FILE, written to that file as JSON lines.
            Examples:
              simul worker
              simul worker -Q celery,slow -c 8 --pool threads -n alpha@%h
              simul worker --pool processes -c 2 --broker sqlite:///var/lib/simul/queue.sqlite
              simul worker --loglevel debug --log-format json --metrics-port 9808
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

    @Flag(
        help: """
            Let remote control's pool_restart replace the processes pool's worker processes (Celery's \
            worker_pool_restarts); without it the command answers Celery's error.
            """)
    var poolRestarts = false

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

    @Option(name: [.customShort("l"), .customLong("loglevel")], help: "debug, info, warning or error.")
    var loglevel = "info"

    @Option(help: "text, or json: one JSON object per line (timestamp, level, label, message, metadata).")
    var logFormat = "text"

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Serve Prometheus metrics at http://127.0.0.1:PORT/metrics (0 picks a free port).",
            discussion: "The port is printed on standard output. docs/observability.md lists the metrics."))
    var metricsPort: String?

    /// The log levels `--loglevel` takes.
    static let logLevels: [String: Logger.Level] = [
        "debug": .debug, "info": .info, "warning": .warning, "error": .error,
    ]

    /// `--metrics-port` as a port number, or the line that says why it is not one.
    static func port(_ text: String) -> Result<Int, CLIError> {
        guard let port = Int(text), (0...65_535).contains(port) else {
            return .failure(CLIError("--metrics-port must be a port number from 0 to 65535, got '\(text)'"))
        }
        return .success(port)
    }

    func validate() throws {
        var problem: String?
        if Self.logLevels[loglevel] == nil {
            problem = "--loglevel must be debug, info, warning or error, got '\(loglevel)'"
        } else if logFormat != "text" && logFormat != "json" {
            problem = "--log-format must be text or json, got '\(logFormat)'"
        } else if let metricsPort, case .failure(let error) = Self.port(metricsPort) {
            problem = error.description
        }
        guard let problem else { return }
        FileHandle.standardError.write(Data("Error: \(problem)\n".utf8))
        throw ExitCode(2)
    }

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
        configuration.poolRestarts = poolRestarts
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
        let level = Self.logLevels[loglevel] ?? .info
        let json = logFormat == "json"
        LoggingSystem.bootstrap(
            { label, provider in
                if json { return JSONLogHandler(label: label, logLevel: level, metadataProvider: provider) }
                var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
                handler.logLevel = level
                return handler
            }, metadataProvider: .simulTask)
        let export = try OTLPExport.bootstrapIfAsked()
        if export == nil { try TraceFile.bootstrapIfAsked() }
        var endpoint: MetricsEndpoint?
        if let metricsPort, case .success(let port) = Self.port(metricsPort) {
            var logger = Logger(label: "simul.metrics")
            logger.logLevel = max(level, .warning)
            let started: MetricsEndpoint
            do {
                started = try await MetricsEndpoint.start(port: port, logger: logger, alongside: export?.metrics)
            } catch let error as CLIError {
                FileHandle.standardError.write(Data("Error: \(error.description)\n".utf8))
                throw ExitCode(2)
            }
            endpoint = started
            // Written at once, unbuffered, so a script that waits for this line sees it.
            FileHandle.standardOutput.write(Data("metrics on http://127.0.0.1:\(started.port)/metrics\n".utf8))
        } else if let metrics = export?.metrics {
            MetricsSystem.bootstrap(metrics)
        }
        let connection = try queue.open(resultExpiry: resultExpires, logLevel: level, connections: 4)
        let (broker, backend) = (connection.broker, connection.backend)
        let worker = Worker(
            catalog: QueueCommands.tasks, broker: broker, backend: backend, configuration: configuration,
            logger: Logger(label: "simul.worker"))
        let signals = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { worker.shutdown() }
            source.resume()
            return source
        }
        do {
            try await OTLPExport.exporting(export) { try await worker.run() }
        } catch let error as QueueError where error.isBrokerGone {
            await endpoint?.stop()
            throw CLIError("\(error.message); stopping")
        }
        for source in signals { source.cancel() }
        await endpoint?.stop()
        await connection.close()
    }
}
