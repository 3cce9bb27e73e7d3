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
    case crashLoop = "crash-loop"
    case graceful
    case soak
    case diskFull = "disk-full"
    case netPartition = "net-partition"
    case netLatency = "net-latency"
    case netResetTLS = "net-reset-tls"
    case netHalfOpen = "net-half-open"
    case netClientPartition = "net-client-partition"
    case sentinelFailover = "sentinel-failover"
    case sentinelNoWait = "sentinel-no-wait"

    /// Whether the scenario starts a Redis of its own (TLS, Sentinel) instead of using the suite's.
    var hasOwnRedis: Bool {
        [.netResetTLS, .sentinelFailover, .sentinelNoWait].contains(self)
    }

    /// The scenario's own database: on the suite's Redis its position among the scenarios that use that server, from
    /// 1 (the server has 16); on a Redis of the scenario's own, 0.
    var redisDatabase: Int {
        guard !hasOwnRedis else { return 0 }
        // swift-format-ignore: NeverForceUnwrap
        return Self.allCases.filter { !$0.hasOwnRedis }.firstIndex(of: self)! + 1
    }

    /// Why the scenario does not run in `broker`'s column, if it does not.
    func whyNot(on broker: Broker, full: Bool) -> String? {
        switch self {
        case .redisRestart where broker != .redis: "n/a: Redis only"
        case .netPartition, .netLatency, .netResetTLS, .netHalfOpen, .netClientPartition, .sentinelFailover,
            .sentinelNoWait:
            broker == .redis ? nil : "n/a: Redis only"
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
        case .crashLoop: try context.crashLoop()
        case .graceful: try context.graceful()
        case .soak: try context.soak()
        case .diskFull: try context.diskFull()
        case .netPartition: try context.networkPartition()
        case .netLatency: try context.networkLatency()
        case .netResetTLS: try context.networkResetsOverTLS()
        case .netHalfOpen: try context.networkHalfOpen()
        case .netClientPartition: try context.networkClientPartition()
        case .sentinelFailover: try context.sentinelFailover(waitReplicas: true)
        case .sentinelNoWait: try context.sentinelFailover(waitReplicas: false)
        }
    }
}
