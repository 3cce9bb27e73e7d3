import Foundation
import Synchronization

#if canImport(Glibc)
    package import Glibc
#endif

/// A process a driver (the fault suite, the browser test) started with `posix_spawnp`, in a process group of its
/// own, so that the driver can kill it and everything it started (a process pool's children, Chromium's helpers) and
/// nothing else. Its standard input is `/dev/null` or a file; its output goes to a file, to `/dev/null`, or to the
/// driver's own standard error.
///
/// The driver reaps its children itself (`waitpid`), so a process that has exited is never mistaken for a running
/// one: ``isRunning`` is what `kill -0` was in the shell, without the zombie.
package final class ChildProcess {
    /// Where a child's standard output or standard error goes.
    package enum Output {
        /// The driver's own standard error: what a foreground command in the shell printed.
        case terminal
        /// `/dev/null`.
        case discard
        /// A file, created if missing, replaced (`>`) or appended to (`>>`).
        case file(String, append: Bool = false)
        /// Wherever standard output goes: for standard error `2>&1`, for standard output the driver's own.
        case standardOutput
    }

    /// The process id, which is also its process group's id.
    package let pid: pid_t
    /// What the shell's `$?` would say once it exited: the exit code, or 128 plus the signal that killed it.
    package private(set) var exitCode: Int32?

    private init(pid: pid_t) { self.pid = pid }

    /// Starts `arguments` (the first found on `PATH`) in a new process group, registered in ``ProcessGroups``, with
    /// the driver's environment changed by `environment`: a value sets a variable, `nil` removes it (`env -u`).
    /// - Throws: ``DriverError`` if `posix_spawnp` fails.
    package static func start(
        _ arguments: [String], input: String? = nil, output: Output = .terminal, error: Output = .terminal,
        environment: [String: String?] = [:]
    ) throws -> ChildProcess {
        precondition(!arguments.isEmpty, "a command needs a program")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, input ?? "/dev/null", O_RDONLY, 0)
        redirect(1, to: output, in: &actions)
        redirect(2, to: error, in: &actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        var all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var variables = ProcessInfo.processInfo.environment
        for (name, value) in environment { variables[name] = value }
        var argv = arguments.map { strdup($0) } + [nil]
        var envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], &actions, &attributes, &argv, &envp)
        guard result == 0 else {
            throw DriverError("cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        ProcessGroups.add(pid)
        return ChildProcess(pid: pid)
    }

    /// Runs `arguments` to its end and returns its exit code (``exitCode``). Its group is forgotten once it has
    /// been reaped, so that a later ``ProcessGroups/killAll()`` cannot hit a process that reused the number.
    ///
    /// With a `limit`, a process still running after `limit` seconds is killed with its whole group, and the code is
    /// 124, as `timeout` says.
    package static func run(
        _ arguments: [String], input: String? = nil, output: Output = .terminal, error: Output = .terminal,
        environment: [String: String?] = [:], limit: Double? = nil
    ) throws -> Int32 {
        let process = try start(arguments, input: input, output: output, error: error, environment: environment)
        defer { ProcessGroups.remove(process.pid) }
        guard let limit else { return try process.wait() ?? 0 }
        if let code = try process.wait(limit: limit) { return code }
        kill(-process.pid, SIGKILL)
        _ = try process.wait()
        return 124
    }

    private static func redirect(_ descriptor: Int32, to output: Output, in actions: inout posix_spawn_file_actions_t) {
        switch output {
        case .terminal: posix_spawn_file_actions_adddup2(&actions, 2, descriptor)
        case .discard: posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_WRONLY, 0)
        case .file(let path, let append):
            let flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
            posix_spawn_file_actions_addopen(&actions, descriptor, path, flags, 0o644)
        case .standardOutput: posix_spawn_file_actions_adddup2(&actions, 1, descriptor)
        }
    }

    /// Reaps the process if it has exited, without waiting; returns ``exitCode``.
    @discardableResult
    package func poll() -> Int32? {
        if exitCode != nil { return exitCode }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid {
            let signal = status & 0x7f
            exitCode = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        } else if reaped < 0 && errno == ECHILD {
            // Reaped by ProcessGroups.killAll() after a SIGKILL.
            exitCode = 128 + SIGKILL
        }
        return exitCode
    }

    /// Whether it still runs (the shell's `kill -0`).
    package var isRunning: Bool { poll() == nil }

    /// Sends `signal` to the process (not its group).
    /// - Throws: ``DriverError`` if it has already exited.
    package func send(_ signal: Int32) throws {
        guard isRunning, kill(pid, signal) == 0 else {
            throw DriverError("process \(pid) is gone (exit \(exitCode.map(String.init) ?? "?")), cannot signal it")
        }
    }

    /// Waits until it exits, for at most `limit` seconds if given; returns ``exitCode``, `nil` if it still runs.
    /// - Throws: ``Interrupted``.
    package func wait(limit: Double? = nil) throws -> Int32? {
        let stopwatch = Stopwatch()
        var pause = 0.001
        while poll() == nil {
            if let limit, stopwatch.seconds > limit { return nil }
            try Waiting.sleep(pause)
            pause = min(pause * 2, 0.05)
        }
        return exitCode
    }
}

/// The process groups the driver started and has not yet killed: the shell scripts' `$work/groups`.
package enum ProcessGroups {
    private static let groups = Mutex<[pid_t]>([])

    /// Registers a group, by its leader's pid.
    package static func add(_ group: pid_t) {
        groups.withLock { $0.append(group) }
    }

    /// Forgets a group whose leader has been reaped and that started nothing that could outlive it.
    package static func remove(_ group: pid_t) {
        groups.withLock { $0.removeAll { $0 == group } }
    }

    /// SIGKILLs every registered group, process-pool children included, and reaps the leaders.
    package static func killAll() {
        let started = groups.withLock { groups in
            defer { groups = [] }
            return groups
        }
        for group in started {
            kill(-group, SIGKILL)
        }
        for group in started {
            var status: Int32 = 0
            _ = waitpid(group, &status, WNOHANG)
        }
    }
}
