import Foundation
import Simul
import SimulJSON
import SimulQueue
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The tasks `scripts/faults.sh` uses to check the queue's guarantees: one that records each execution, and one that
/// crashes the process running it in a chosen way.
extension BuiltinTasks {
    /// The ways `simul.crash` can kill the process that runs it.
    public static let crashKinds = ["trap", "segfault", "exit", "alloc", "loop"]

    /// Registers `simul.record(path, seconds)` and `simul.crash(kind)`.
    static func registerFaultTasks(in catalog: inout TaskCatalog) {
        catalog.register("simul.record", parameters: ["path", "seconds"]) { (path: String, seconds: Double?) throws in
            try record(path: path, seconds: seconds ?? 0)
        }
        catalog.register("simul.crash", parameters: ["kind"]) { (kind: String) throws -> JSONValue in
            try crash(kind)
        }
    }

    /// Waits `seconds` (blocking its thread, as real work does), then appends the running task's id and a newline
    /// to `path` with one `O_APPEND` write, so concurrent workers never interleave lines. Counting the lines gives
    /// the executions; counting the distinct ids gives the tasks that ran.
    static func record(path: String, seconds: Double) throws -> String {
        do {
            _ = try Seconds.check(seconds, "seconds")
        } catch {
            throw TaskError.valueError("\(error)")
        }
        guard let context = TaskContext.current else {
            throw TaskError(
                type: "RuntimeError", message: "simul.record records its task id, so it runs only as a queued task")
        }
        if seconds > 0 { Thread.sleep(forTimeInterval: seconds) }
        let line = Array((context.id + "\n").utf8)
        let file = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard file >= 0 else { throw osError(path) }
        defer { close(file) }
        let written = line.withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
        guard written == line.count else { throw osError(path) }
        return context.id
    }

    /// Python's wording: `[Errno 2] No such file or directory: '/no/such/file'`.
    private static func osError(_ path: String) -> TaskError {
        let number = errno
        return TaskError(type: "OSError", message: "[Errno \(number)] \(String(cString: strerror(number))): '\(path)'")
    }

    /// Kills the process that runs it; meant for the processes pool, where only the task's worker process dies.
    ///
    /// - `trap`: a Swift runtime trap (`fatalError`).
    /// - `segfault`: a store to an unmapped address.
    /// - `exit`: `exit(3)`.
    /// - `alloc`: caps this process's address space at its current size plus 512 MiB, so the runaway cannot take the
    ///   machine's memory, then allocates 64 MiB blocks until an allocation fails and the runtime aborts.
    /// - `loop`: spins for ever, for a hard time limit to end.
    /// - Throws: `ValueError` for another kind, before doing anything.
    static func crash(_ kind: String) throws -> JSONValue {
        switch kind {
        case "trap":
            fatalError("simul.crash('trap'): a deliberate trap")
        case "segfault":
            UnsafeMutablePointer<Int>(bitPattern: 16)!.pointee = 1
        case "exit":
            exit(3)
        case "alloc":
            try capAddressSpace(extraBytes: 512 << 20)
            var blocks: [[UInt8]] = []
            while blocks.count < Int.max { blocks.append([UInt8](repeating: 1, count: 64 << 20)) }
            return .integer(Int64(blocks.count))
        case "loop":
            let spins = Atomic<Int>(0)
            while true { spins.add(1, ordering: .relaxed) }
        default:
            throw TaskError.valueError(
                "unknown crash kind '\(kind)' (use \(crashKinds.joined(separator: ", ")))")
        }
        return .null
    }

    /// Lowers this process's address-space limit to its current size plus `extraBytes`.
    /// - Throws: `RuntimeError` where the limit cannot be set, rather than exhaust the machine's memory.
    private static func capAddressSpace(extraBytes: Int) throws {
        #if os(Linux)
            // The first field of /proc/self/statm is the address space's size in pages.
            let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
            if let pages = statm.split(separator: " ").first.flatMap({ Int($0) }) {
                let limit = rlim_t(pages * Int(sysconf(Int32(_SC_PAGESIZE))) + extraBytes)
                var cap = rlimit(rlim_cur: limit, rlim_max: limit)
                if setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &cap) == 0 { return }
            }
        #endif
        throw TaskError(type: "RuntimeError", message: "simul.crash('alloc') cannot cap this process's memory here")
    }
}
