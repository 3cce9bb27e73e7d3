import ArgumentParser
import Foundation
import Logging
import SimulDashboard
import SimulBrokers
import SimulQueue

struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve a web dashboard: workers, queues, tasks, dead letters, live updates, JSON API, /metrics.",
        discussion: """
            It listens on 127.0.0.1 unless told otherwise. Any other address needs a token (--token or \
            $SIMUL_DASHBOARD_TOKEN), which every page then asks for; actions (revoke, terminate, purge, replay) need \
            the token on any address. docs/dashboard.md has the API and the security model.
            Examples:
              simul dashboard
              simul dashboard --broker redis://127.0.0.1:6379/0 --port 5555
              SIMUL_DASHBOARD_TOKEN=s3cret simul dashboard --host 0.0.0.0
            """
    )

    @OptionGroup var queue: QueueOptions

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(parsing: .unconditional, help: "The port (0 picks a free one).", transform: { try parseInt($0, "--port") })
    var port = 5555

    @Option(help: "The token that actions, and pages off loopback, need. Default: $SIMUL_DASHBOARD_TOKEN.")
    var token: String?

    func run() async throws {
        let token = token ?? ProcessInfo.processInfo.environment["SIMUL_DASHBOARD_TOKEN"]
        let configuration = DashboardConfiguration(host: host, port: port, token: token)
        // Checked before the broker opens, so a refused address costs nothing and says one line.
        do {
            try configuration.validate()
        } catch let error as DashboardError {
            throw CLIError(error.message)
        }
        let connection = try queue.open(connections: 4)
        let (broker, backend) = (connection.broker, connection.backend)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .notice
            return handler
        }
        let dashboard = try Dashboard(
            broker: broker, backend: backend, configuration: configuration, logger: Logger(label: "simul.dashboard"))
        let shownHost = host.contains(":") ? "[\(host)]" : host
        try await dashboard.runService { port in
            // Written at once, unbuffered, so a script that waits for this line sees it.
            FileHandle.standardOutput.write(Data("dashboard on http://\(shownHost):\(port)\n".utf8))
        }
        await connection.close()
    }
}
