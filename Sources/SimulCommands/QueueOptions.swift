import ArgumentParser
import Foundation
import Logging
import Simul
import SimulBrokers
import SimulJSON
import SimulQueue

/// `--broker` and `--backend`, shared by the queue commands.
struct QueueOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The broker: sqlite://PATH, redis://[user:password@]host:port/db, rediss://… for TLS, or sentinel://….",
            discussion: """
                Default: $SIMUL_BROKER_URL, else sqlite://\(BrokerURL.defaultSQLitePath) (no server needed). \
                TLS takes kombu's options: rediss://host:6380/0?ssl_ca_certs=CA.pem[&ssl_certfile=C&ssl_keyfile=K]\
                [&ssl_cert_reqs=required|none]. Sentinel: \
                sentinel://h1:26379;sentinel://h2:26379/0?master_name=NAME[&sentinel_password=P][&wait_replicas=1]. \
                See docs/redis.md.
                """))
    var broker: String?

    @Option(help: "The result backend URL. Default: $SIMUL_RESULT_BACKEND, else the broker.")
    var backend: String?

    @Option(
        name: .customLong("broker-ssl-ca-certs"),
        help: "TLS to a Redis broker: a PEM file of the authorities to trust (kombu's ssl_ca_certs).")
    var sslCACertificates: String?

    @Option(name: .customLong("broker-ssl-certfile"), help: "TLS: this client's certificate (ssl_certfile).")
    var sslCertificateFile: String?

    @Option(name: .customLong("broker-ssl-keyfile"), help: "TLS: its private key (ssl_keyfile).")
    var sslKeyFile: String?

    @Option(
        name: .customLong("broker-ssl-cert-reqs"),
        help: ArgumentHelp(
            "TLS: required (the default), optional or none (ssl_cert_reqs).",
            discussion: "Any --broker-ssl-* option turns a redis:// broker into rediss://, as Celery's broker_use_ssl "
                + "does; it applies to the backend too when the backend is the broker."))
    var sslCertificateRequirement: String?

    /// The broker URL after the environment and the default, with the `--broker-ssl-*` options.
    var brokerURL: String {
        get throws {
            try withTLSOptions(
                broker ?? ProcessInfo.processInfo.environment["SIMUL_BROKER_URL"]
                    ?? "sqlite://\(BrokerURL.defaultSQLitePath)")
        }
    }

    /// `url` with the `--broker-ssl-*` options as its query's `ssl_*` options, `redis://` made `rediss://`.
    /// - Throws: ``CLIError`` when the options are given for a broker that is not Redis.
    private func withTLSOptions(_ url: String) throws -> String {
        let options = [
            ("ssl_ca_certs", sslCACertificates), ("ssl_certfile", sslCertificateFile), ("ssl_keyfile", sslKeyFile),
            ("ssl_cert_reqs", sslCertificateRequirement),
        ].compactMap { name, value in value.map { (name, $0) } }
        guard !options.isEmpty else { return url }
        let scheme = url.firstRange(of: "://").map { url[..<$0.lowerBound].lowercased() } ?? ""
        guard scheme == "redis" || scheme == "rediss" else {
            throw CLIError(
                "--broker-ssl-* options are for a redis:// or rediss:// broker, not '\(scheme)://' "
                    + "(TLS through sentinels is not supported yet)")
        }
        let allowed = CharacterSet.urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+;#"))
        let query = options.map { name, value in
            "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }
        let secure = "rediss" + url.dropFirst(scheme.count)
        return secure + (secure.contains("?") ? "&" : "?") + query.joined(separator: "&")
    }

    /// Opens the broker and the result backend through the library's one factory (``QueueConnection``), after the
    /// checks that only make sense for a command: `memory://` would vanish with the process, and an SQLite path in a
    /// folder that does not exist is more likely a typo than a new broker.
    /// - Parameter resultExpiry: seconds the backend keeps a result it stores; its default when `nil`.
    /// - Parameter logLevel: what the broker's client logs; by default only errors, so that a command that fails
    ///   prints its one `Error:` line, not the reconnection warnings before it. Services (the worker, beat) pass
    ///   `.info`.
    /// - Parameter connections: Redis connections for commands: 1 for a short-lived client (a waiting one adds its
    ///   pub/sub connection), more for a worker, a beat or the dashboard.
    func open(resultExpiry: Double? = nil, logLevel: Logger.Level = .error, connections: Int = 1) throws
        -> QueueConnection
    {
        let brokerURL = try brokerURL
        let backendURL = backend ?? ProcessInfo.processInfo.environment["SIMUL_RESULT_BACKEND"] ?? brokerURL
        for url in Set([brokerURL, backendURL]) {
            switch try BrokerURL(url) {
            case .memory:
                throw CLIError(
                    "memory:// lives inside one process, so what this command sent or read there would "
                        + "be lost when it exits; use sqlite://PATH or redis://")
            case .sqlite(let path):
                let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
                guard path == BrokerURL.defaultSQLitePath || FileManager.default.fileExists(atPath: directory) else {
                    throw CLIError(
                        "the directory '\(directory)' of the SQLite broker '\(url)' does not exist; "
                            + "create it first (only the default \(BrokerURL.defaultSQLitePath)'s folder is made for you)"
                    )
                }
            case .redis: break
            }
        }
        var logger = Logger(label: "simul.broker")
        logger.logLevel = logLevel
        return try QueueConnection(
            broker: brokerURL, backend: backendURL,
            options: .init(resultExpiry: resultExpiry, connections: connections, logger: logger))
    }
}

/// `--route`, for the commands that send tasks: which queue each task goes to.
struct RouteOptions: ParsableArguments {
    @Option(
        name: .customLong("route"),
        help: ArgumentHelp(
            "Send tasks matching PATTERN to QUEUE, as PATTERN=QUEUE (repeatable; * matches anything).",
            discussion: "Tasks that no route matches go to celery. Give the same routes as Python Celery's task_routes "
                + "when both share a Redis."))
    var rules: [String] = []

    /// The routes, checked.
    func routes() throws -> TaskRoutes {
        do {
            return try TaskRoutes(parsing: rules)
        } catch {
            throw CLIError("\(error)")
        }
    }
}

/// Parses `--args` and `--kwargs` with Simul's own JSON parser, the one workers read messages with, so what is sent
/// is what was typed (an integer past 64 bits stays an exact ``JSONValue/bigInteger(_:)``), and names the cause of a
/// refusal: the syntax error and its byte (a number out of range, such as `1e400`, included), or the wrong kind.
enum JSONArgument {
    /// A JSON array, such as `[2, 3]`.
    static func array(_ text: String, option: String) throws -> [JSONValue] {
        guard case .array(let values) = try parse(text, option: option) else {
            throw CLIError("\(option) must be a JSON array, such as '[2, 3]', got '\(excerpt(text))'")
        }
        return values
    }

    /// A JSON object, such as `{"x": 2}`.
    static func object(_ text: String, option: String) throws -> [String: JSONValue] {
        guard case .object(let fields) = try parse(text, option: option) else {
            throw CLIError("\(option) must be a JSON object, such as '{\"x\": 2}', got '\(excerpt(text))'")
        }
        return fields
    }

    private static func parse(_ text: String, option: String) throws -> JSONValue {
        do {
            return try JSONValue(parsing: Array(text.utf8))
        } catch {
            throw CLIError("\(option) is not valid JSON (\(error)): '\(excerpt(text))'")
        }
    }

    /// The text as it appears in an error: at most 60 characters.
    private static func excerpt(_ text: String) -> String { text.count > 60 ? text.prefix(57) + "..." : text }
}

/// Seconds given on the command line, checked by the library's one range check (``Seconds``).
func checkedSeconds(_ value: Double?, option: String, allowZero: Bool = true) throws -> Double? {
    guard let value else { return nil }
    do {
        return try Seconds.check(value, option, allowZero: allowZero)
    } catch {
        throw CLIError("\(error)")
    }
}
