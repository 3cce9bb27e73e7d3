import ArgumentParser
import Foundation
import Logging
import Simul
import SimulQueue
import SimulRedisBroker
import SimulSQLite

/// `--broker` and `--backend`, shared by the queue commands.
struct QueueOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The broker: sqlite://PATH, redis://[:password@]host:port/db or memory://.",
            discussion: "Default: $SIMUL_BROKER_URL, else sqlite://\(BrokerURL.defaultSQLitePath) (no server needed)."))
    var broker: String?

    @Option(help: "The result backend URL. Default: $SIMUL_RESULT_BACKEND, else the broker.")
    var backend: String?

    /// The broker URL after the environment and the default.
    var brokerURL: String {
        broker ?? ProcessInfo.processInfo.environment["SIMUL_BROKER_URL"] ?? "sqlite://\(BrokerURL.defaultSQLitePath)"
    }

    /// Opens the broker and the result backend.
    /// - Parameter resultExpiry: seconds the backend keeps a result it stores; its default when `nil`.
    /// - Parameter logLevel: what the broker's client logs; by default only errors, so that a command that fails
    ///   prints its one `Error:` line, not the reconnection warnings before it. Services (the worker, beat) pass
    ///   `.info`.
    func open(resultExpiry: Double? = nil, logLevel: Logger.Level = .error) throws
        -> (broker: any Broker, backend: any ResultBackend)
    {
        let brokerURL = brokerURL
        let backendURL = backend ?? ProcessInfo.processInfo.environment["SIMUL_RESULT_BACKEND"] ?? brokerURL
        let brokerStore = try Self.connect(brokerURL, resultExpiry: resultExpiry, logLevel: logLevel)
        guard let broker = brokerStore as? any Broker else { throw CLIError("'\(brokerURL)' is not a broker") }
        if backendURL == brokerURL, let backend = brokerStore as? any ResultBackend { return (broker, backend) }
        guard let backend = try Self.connect(backendURL, resultExpiry: resultExpiry, logLevel: logLevel)
            as? any ResultBackend
        else {
            throw CLIError("'\(backendURL)' is not a result backend")
        }
        return (broker, backend)
    }

    private static func connect(_ url: String, resultExpiry: Double?, logLevel: Logger.Level) throws -> AnyObject {
        switch try BrokerURL(url) {
        case .sqlite(let path):
            return try resultExpiry.map { try SQLiteBroker(path: path, resultExpiry: $0) } ?? SQLiteBroker(path: path)
        case .memory: return MemoryBroker()
        case .redis(let url):
            var logger = Logger(label: "simul.redis")
            logger.logLevel = logLevel
            return try RedisBroker(url: url, resultExpiry: resultExpiry.map { Int($0.rounded()) } ?? 86_400, logger: logger)
        }
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

/// Parses `--args` and `--kwargs` with Simul's own JSON parser, as a worker reads a message, so what is sent is
/// what was typed: an integer past 64 bits stays an exact ``JSONValue/bigInteger(_:)`` (`JSONDecoder` would round it
/// to a `Double`).
enum JSONArgument {
    static func parse<T: Decodable>(_ text: String, as type: T.Type, option: String) throws -> T {
        let shape =
            T.self == [JSONValue].self ? "a JSON array, such as '[2, 3]'" : "a JSON object, such as '{\"x\": 2}'"
        let value: JSONValue
        do {
            value = try JSONValue(parsing: Data(text.utf8))
        } catch {
            throw CLIError("\(option) must be \(shape), got '\(text)' (\(error))")
        }
        // JSON has no spelling for infinity: a message would carry `null` instead.
        guard isFinite(value) else {
            throw CLIError("\(option) has a number outside the range of a float (such as 1e400), got '\(text)'")
        }
        do {
            return try value.decode(as: T.self)
        } catch {
            throw CLIError("\(option) must be \(shape), got '\(text)'")
        }
    }

    private static func isFinite(_ value: JSONValue) -> Bool {
        switch value {
        case .number(let number): number.isFinite
        case .array(let elements): elements.allSatisfy(isFinite)
        case .object(let members): members.values.allSatisfy(isFinite)
        default: true
        }
    }
}

/// Seconds given on the command line, checked.
func checkedSeconds(_ value: Double?, option: String) throws -> Double? {
    guard let value else { return nil }
    guard value.isFinite, value >= 0 else { throw CLIError("\(option) must be a number of seconds >= 0, got \(value)") }
    return value
}
