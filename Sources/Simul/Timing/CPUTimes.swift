import Foundation

/// CPU and wall time of a piece of code, as IPython's `%%time` reports it, but counting worker processes too.
///
/// `user` and `system` cover this process's threads, its reaped children, and the live workers of every
/// ``ProcessPool`` in the process. IPython counts only the first, so a process pool's work shows as almost no CPU.
///
/// ```swift
/// let (primes, times) = try await timed { try await findPrimes() }
/// print(times)
/// // CPU times: user 732 ms, sys: 262 ms, total: 994 ms
/// // Wall time: 16.4 s
/// ```
public struct CPUTimes: Sendable, Hashable, CustomStringConvertible {
    /// CPU time in user mode, children and workers included.
    public var user: Duration
    /// CPU time in the kernel, children and workers included.
    public var system: Duration
    /// The part of `user` spent in child processes and pool workers.
    public var childUser: Duration
    /// The part of `system` spent in child processes and pool workers.
    public var childSystem: Duration
    /// Elapsed time.
    public var wall: Duration

    /// Creates a measurement.
    public init(
        user: Duration, system: Duration, childUser: Duration = .zero, childSystem: Duration = .zero,
        wall: Duration
    ) {
        self.user = user
        self.system = system
        self.childUser = childUser
        self.childSystem = childSystem
        self.wall = wall
    }

    /// User plus system time.
    public var total: Duration { user + system }

    /// The two lines `%%time` prints.
    public var description: String {
        "CPU times: user \(user.timeDescription), sys: \(system.timeDescription), total: \(total.timeDescription)\n"
            + "Wall time: \(wall.timeDescription)"
    }
}

/// Runs `body` and measures its CPU and wall time, counting child processes and live pool workers.
/// - Returns: the body's value and its ``CPUTimes``.
public func timed<Value>(_ body: () async throws -> Value) async rethrows -> (value: Value, times: CPUTimes) {
    let start = CPUSnapshot.now()
    let value = try await body()
    return (value, CPUSnapshot.now().since(start))
}

/// Runs `body` synchronously and measures its CPU and wall time, counting child processes and live pool workers.
/// - Returns: the body's value and its ``CPUTimes``.
@_disfavoredOverload
public func timed<Value>(_ body: () throws -> Value) rethrows -> (value: Value, times: CPUTimes) {
    let start = CPUSnapshot.now()
    let value = try body()
    return (value, CPUSnapshot.now().since(start))
}

/// CPU counters at one instant, in nanoseconds.
struct CPUSnapshot {
    var user: Int64
    var system: Int64
    var childUser: Int64
    var childSystem: Int64
    var instant: ContinuousClock.Instant

    static func now() -> CPUSnapshot {
        var own = rusage()
        var children = rusage()
        getrusage(RUSAGE_SELF.rawValue, &own)
        getrusage(RUSAGE_CHILDREN.rawValue, &children)
        var workerUser: Int64 = 0
        var workerSystem: Int64 = 0
        for pid in LiveWorkers.shared.all {
            guard let (user, system) = processTimes(pid) else { continue }
            workerUser += user
            workerSystem += system
        }
        return CPUSnapshot(
            user: nanoseconds(own.ru_utime),
            system: nanoseconds(own.ru_stime),
            childUser: nanoseconds(children.ru_utime) + workerUser,
            childSystem: nanoseconds(children.ru_stime) + workerSystem,
            instant: .now
        )
    }

    func since(_ start: CPUSnapshot) -> CPUTimes {
        let childUser = Duration.nanoseconds(max(0, self.childUser - start.childUser))
        let childSystem = Duration.nanoseconds(max(0, self.childSystem - start.childSystem))
        return CPUTimes(
            user: .nanoseconds(user - start.user) + childUser,
            system: .nanoseconds(system - start.system) + childSystem,
            childUser: childUser,
            childSystem: childSystem,
            wall: instant - start.instant
        )
    }

    private static func nanoseconds(_ time: timeval) -> Int64 {
        Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_usec) * 1_000
    }

    private static let ticksPerSecond = Int64(sysconf(Int32(_SC_CLK_TCK)))

    /// User and system time of a live process, from `/proc/PID/stat`.
    static func processTimes(_ pid: pid_t) -> (user: Int64, system: Int64)? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Int64(fields[11]), let system = Int64(fields[12]), ticksPerSecond > 0
        else { return nil }
        let scale = 1_000_000_000 / ticksPerSecond
        return (user * scale, system * scale)
    }
}
