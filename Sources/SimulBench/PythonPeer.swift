import Foundation

/// Runs a Python script that prints one JSON object per line (`case`, `metric`, `value`, `unit`) and turns those
/// lines into results for the same report.
public struct PythonPeer: Sendable {
    /// The `impl` name the rows get, such as `python-concurrent.futures`.
    public var implementation: String
    /// The interpreter.
    public var python: String

    /// Creates a peer.
    public init(implementation: String, python: String = PythonPeer.defaultInterpreter) {
        self.implementation = implementation
        self.python = python
    }

    /// `SIMUL_PYTHON` if set, otherwise `python3` from `PATH`.
    public static var defaultInterpreter: String {
        ProcessInfo.processInfo.environment["SIMUL_PYTHON"] ?? "python3"
    }

    /// Unblocks every signal first: a process started from a Dispatch thread inherits that thread's blocked
    /// signals, and a peer's own children (a Celery worker) would then ignore SIGTERM.
    static let prelude = "import signal as _signal; _signal.pthread_sigmask(_signal.SIG_SETMASK, ()); del _signal\n"

    /// Why a peer could not run.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `script` with `arguments` and collects its rows.
    /// - Parameters:
    ///   - script: the Python source.
    ///   - suite: the suite the rows belong to.
    ///   - implementationFor: the `impl` for a case, when one script measures several peers.
    public func run(
        _ script: String,
        suite: String,
        arguments: [String] = [],
        implementationFor: (String) -> String? = { _ in nil }
    ) throws -> [BenchResult] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-c", Self.prelude + script] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot run \(python): \(error.localizedDescription)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let lastLine = errorText.split(separator: "\n").last.map(String.init) ?? "no output"
            throw Failure(description: "the Python peer failed (exit \(process.terminationStatus)): \(lastLine)")
        }
        struct Row: Decodable {
            var `case`: String
            var metric: String
            var value: Double
            var unit: String
        }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map { line in
            guard let row = try? JSONDecoder().decode(Row.self, from: Data(line.utf8)) else {
                throw Failure(description: "the Python peer printed a line that is not a result: \(line)")
            }
            return BenchResult(
                suite: suite, case: row.case, impl: implementationFor(row.case) ?? implementation,
                metric: row.metric, value: row.value, unit: row.unit
            )
        }
    }
}
