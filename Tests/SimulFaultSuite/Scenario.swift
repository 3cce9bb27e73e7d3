#if canImport(Glibc)
    import Glibc
#endif

/// A broker column of the table.
enum Broker: String {
    case sqlite
    case redis
}

/// The scenarios, in the order they run in each column (docs/faults.md, "The scenarios").
enum Scenario: String, CaseIterable {
    case kill9Threads = "kill9-threads"
    case kill9Processes = "kill9-processes"
    case kill9Async = "kill9-async"
    case repeatedKills = "repeated-kills"
    case redisRestart = "redis-restart"
    case poison
    case crash
    case graceful
    case soak
    case diskFull = "disk-full"

    /// The scenario's own database on the suite's Redis: its position in the list, from 1.
    var redisDatabase: Int {
        // swift-format-ignore: NeverForceUnwrap
        Self.allCases.firstIndex(of: self)! + 1
    }

    /// Why the scenario does not run in `broker`'s column, if it does not.
    func whyNot(on broker: Broker, full: Bool) -> String? {
        switch self {
        case .redisRestart where broker != .redis: "n/a: Redis only"
        case .diskFull where broker != .sqlite: "n/a: SQLite only"
        case .diskFull where geteuid() != 0: "skipped: needs root to mount a tmpfs"
        case .soak where !full: "skipped: --full only"
        default: nil
        }
    }

    /// Runs the scenario in `context`; it ends by adding its row with ``ScenarioContext/tally(_:)``.
    func run(in context: ScenarioContext) throws {
        switch self {
        case .kill9Threads: try context.kill9(pool: "threads")
        case .kill9Processes: try context.kill9(pool: "processes")
        case .kill9Async: try context.kill9(pool: "async")
        case .repeatedKills: try context.repeatedKills()
        case .redisRestart: try context.redisRestart()
        case .poison: try context.poison()
        case .crash: try context.crash()
        case .graceful: try context.graceful()
        case .soak: try context.soak()
        case .diskFull: try context.diskFull()
        }
    }
}
