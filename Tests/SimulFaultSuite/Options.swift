/// The fault suite's command line, the same as the shell script's before it (`scripts/faults.sh` passes its
/// arguments on unchanged).
struct Options {
    /// `--quick` (the default) or `--full`, which adds the soak.
    var full = false
    /// The broker columns, in order.
    var brokers: [Broker] = [.sqlite, .redis]
    /// `--only`: the scenarios to run; all of them when `nil`.
    var only: Set<Scenario>?
    /// `--keep`: keep the working directory and say where it is.
    var keep = false

    /// What `--help` prints.
    static let help = """
        The fault suite (docs/faults.md): breaks workers and messages on purpose and counts, from the result backend \
        and
        from the tasks' own execution records, that nothing is lost.

          scripts/faults.sh [--quick | --full] [--brokers sqlite,redis] [--only NAME[,NAME...]] [--keep]

          --quick    every scenario but the soak (the default; about ten minutes; scripts/test.sh runs it)
          --full     adds the soak: 1,000,000 tasks (FAULTS_SOAK_TASKS), memory and throughput checked
          --brokers  the broker columns, sqlite,redis by default; for redis the suite starts its own redis-server
                     (append-only, fsync always) on a free 127.0.0.1 port, and stops it at exit
          --only     run only these scenarios: kill9-threads, kill9-processes, kill9-async, repeated-kills,
                     redis-restart, poison, crash, graceful, soak, disk-full, and on Redis only the network's:
                     net-partition, net-latency, net-reset-tls, net-half-open, net-client-partition,
                     sentinel-failover, sentinel-no-wait
          --keep     keep the working directory (logs, ids, execution records) and print where it is

        Prints one table: scenario, broker, sent, completed, lost, duplicates, seconds, notes. Exits non-zero if any
        scenario lost a message or failed a check. SIMUL_BIN picks the simul binary (scripts/faults.sh builds this
        package's debug build when it is unset).
        """

    /// What the command line asks for, or `nil` for `--help`.
    /// - Throws: ``UsageError`` for an unknown option, broker or scenario, or an option without its value.
    static func parse(_ arguments: [String]) throws(UsageError) -> Options? {
        var options = Options()
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            let (name, inline) = split(argument)
            func value() throws(UsageError) -> String {
                if let inline { return inline }
                guard let next = rest.popFirst() else { throw UsageError("\(name) needs a value (see --help)") }
                return next
            }
            switch name {
            case "--quick" where inline == nil: options.full = false
            case "--full" where inline == nil: options.full = true
            case "--keep" where inline == nil: options.keep = true
            case "-h" where inline == nil, "--help" where inline == nil: return nil
            case "--brokers":
                options.brokers = try names(value()).map { (broker) throws(UsageError) in
                    guard let known = Broker(rawValue: broker) else {
                        throw UsageError("unknown broker '\(broker)' (use sqlite or redis)")
                    }
                    return known
                }
            case "--only":
                options.only = Set(
                    try names(value()).map { (scenario) throws(UsageError) in
                        guard let known = Scenario(rawValue: scenario) else {
                            throw UsageError("unknown scenario '\(scenario)' (see --help)")
                        }
                        return known
                    })
            default: throw UsageError("unknown option '\(argument)' (see --help)")
            }
        }
        return options
    }

    /// `--only=a,b` as `("--only", "a,b")`; `--keep` as `("--keep", nil)`.
    private static func split(_ argument: String) -> (String, String?) {
        guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }

    /// The comma-separated names in `list`, empty ones dropped.
    private static func names(_ list: String) -> [String] {
        list.split(separator: ",").map(String.init)
    }
}

/// A command line the suite does not understand: printed on one line, exit 2.
struct UsageError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
