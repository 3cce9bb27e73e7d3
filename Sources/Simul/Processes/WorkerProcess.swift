import CSimulShims
import Foundation

/// The parent's handle on one worker process: its pid and the parent's ends of its pipes.
struct WorkerProcess {
    /// The environment variable that tells a re-executed binary to become a worker.
    static let markerVariable = "SIMUL_PROCESS_WORKER"

    let pid: pid_t
    /// Requests to the worker (its standard input); non-blocking.
    var requests: Int32
    /// Responses from the worker (its descriptor 3); non-blocking.
    let responses: Int32
    /// Held open while the worker should live; the worker exits when it closes.
    var lifeline: Int32
    /// Readable once the process has exited, or -1 on kernels without pidfd.
    let pidDescriptor: Int32

    enum SpawnError: Error, CustomStringConvertible {
        case system(String, Int32)

        var description: String {
            switch self {
            case .system(let what, let code): "\(what): \(String(cString: strerror(code)))"
            }
        }
    }

    /// Starts `executable` as a worker.
    static func spawn(executable: String, environment: [String: String]) throws(SpawnError) -> WorkerProcess {
        var requestPipe: [Int32] = [-1, -1]
        var responsePipe: [Int32] = [-1, -1]
        var lifelinePipe: [Int32] = [-1, -1]
        guard simul_pipe_cloexec(&requestPipe) == 0 else { throw .system("pipe", errno) }
        guard simul_pipe_cloexec(&responsePipe) == 0 else {
            closeAll(requestPipe)
            throw .system("pipe", errno)
        }
        guard simul_pipe_cloexec(&lifelinePipe) == 0 else {
            closeAll(requestPipe + responsePipe)
            throw .system("pipe", errno)
        }
        var variables = ProcessInfo.processInfo.environment
        variables[markerVariable] = "1"
        if variables["SWIFT_BACKTRACE"] == nil { variables["SWIFT_BACKTRACE"] = "enable=no" }
        variables.merge(environment) { $1 }
        let arguments = [executable, "--simul-process-worker"]
        var pid: pid_t = 0
        let sources: [Int32] = [requestPipe[0], responsePipe[1], lifelinePipe[0]]
        let result = withCStrings(arguments) { argv in
            withCStrings(variables.map { "\($0.key)=\($0.value)" }) { envp in
                simul_spawn(executable, argv, envp, sources, Int32(sources.count), &pid)
            }
        }
        closeAll(sources)
        guard result == 0 else {
            closeAll([requestPipe[1], responsePipe[0], lifelinePipe[1]])
            throw .system("cannot start worker '\(executable)'", result)
        }
        for descriptor in [requestPipe[1], responsePipe[0]] {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        }
        let worker = WorkerProcess(
            pid: pid,
            requests: requestPipe[1],
            responses: responsePipe[0],
            lifeline: lifelinePipe[1],
            pidDescriptor: simul_pidfd_open(pid)
        )
        LiveWorkers.shared.add(pid)
        return worker
    }

    /// Closes the request pipe: the worker finishes what it has and exits.
    mutating func closeRequests() {
        if requests >= 0 { close(requests) }
        requests = -1
    }

    func signal(_ number: Int32) { kill(pid, number) }

    /// Waits for the process to exit (at most `grace`, then SIGKILL), reaps it and closes every descriptor.
    /// - Returns: the wait status.
    mutating func reap(grace: Duration = .seconds(2)) -> Int32 {
        if pidDescriptor >= 0 {
            var descriptor = pollfd(fd: pidDescriptor, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(grace.seconds * 1000)
            var ready: Int32
            repeat { ready = poll(&descriptor, 1, milliseconds) } while ready < 0 && errno == EINTR
            if ready == 0 { kill(pid, SIGKILL) }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        LiveWorkers.shared.remove(pid)
        closeRequests()
        Self.closeAll([responses, lifeline, pidDescriptor].filter { $0 >= 0 })
        lifeline = -1
        return status
    }

    private static func closeAll(_ descriptors: [Int32]) {
        for descriptor in descriptors { close(descriptor) }
    }
}

/// Calls `body` with a NULL-terminated C array of the strings.
private func withCStrings<Result>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> Result) -> Result {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers)
}

/// The pids of this process's live pool workers, so that ``timed(clock:_:)`` can count their CPU time.
final class LiveWorkers: Sendable {
    static let shared = LiveWorkers()

    private let pids = LockedValue(Set<pid_t>())

    func add(_ pid: pid_t) { pids.withLock { _ = $0.insert(pid) } }

    func remove(_ pid: pid_t) { pids.withLock { _ = $0.remove(pid) } }

    var all: Set<pid_t> { pids.withLock { $0 } }
}
