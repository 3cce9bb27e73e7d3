import Foundation

/// A Python virtual environment the benchmarks create for themselves, for peers that need packages from PyPI
/// (`aiohttp` for the `io` suite).
///
/// It lives in `SIMUL_PYTHON_VENV` if set, otherwise `$XDG_CACHE_HOME/simul/venv` (`~/.cache/simul/venv`), so one
/// copy serves every checkout, and it is reused while it still imports what is needed.
///
/// ```swift
/// let python = try PythonEnvironment().interpreter(with: ["aiohttp"])
/// let rows = try PythonPeer(implementation: "python-aiohttp", python: python).run(script, suite: "io")
/// ```
public struct PythonEnvironment: Sendable {
    /// The environment's directory.
    public var directory: String
    /// The interpreter that creates it: `SIMUL_PYTHON`, or `python3` from `PATH`.
    public var basePython: String

    /// Creates a handle on the environment; nothing happens on disk until ``interpreter(with:)``.
    /// - Parameters:
    ///   - directory: where the environment is; defaults as described above.
    ///   - basePython: the interpreter that creates it.
    public init(
        directory: String = PythonEnvironment.defaultDirectory, basePython: String = PythonPeer.defaultInterpreter
    ) {
        self.directory = directory
        self.basePython = basePython
    }

    /// `SIMUL_PYTHON_VENV`, or `simul/venv` under the user's cache directory.
    public static var defaultDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let directory = environment["SIMUL_PYTHON_VENV"], !directory.isEmpty { return directory }
        let cache =
            environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache")
        return (cache as NSString).appendingPathComponent("simul/venv")
    }

    /// Why the environment could not be made ready; its description is one line.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The environment's interpreter, after creating the environment and installing `packages` if needed.
    /// - Parameters:
    ///   - packages: PyPI requirements the peer needs, such as `aiohttp` or `celery[redis]==5.7.0`.
    ///   - imports: the modules that show they are installed; the package names by default.
    /// - Returns: the path of the environment's `python`.
    /// - Throws: ``Failure`` with the step that failed and the tool's last line of output.
    public func interpreter(with packages: [String], imports: [String]? = nil) throws -> String {
        let python = (directory as NSString).appendingPathComponent("bin/python")
        let check = ["-c", (imports ?? packages).map { "import \($0)" }.joined(separator: "; ")]
        if FileManager.default.isExecutableFile(atPath: python), (try? Self.execute(python, check)) != nil {
            return python
        }
        if !FileManager.default.isExecutableFile(atPath: python) {
            let parent = (directory as NSString).deletingLastPathComponent
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw Failure(
                    description: "cannot create \(parent) for the Python virtual environment: "
                        + error.localizedDescription
                )
            }
            do {
                try Self.execute(basePython, ["-m", "venv", directory])
            } catch let failure as StepFailure {
                // Debian and Ubuntu ship venv without ensurepip unless python3-venv is installed.
                let hint =
                    failure.output.contains("ensurepip") ? " (on Debian or Ubuntu: apt-get install python3-venv)" : ""
                throw Failure(
                    description: "cannot create a Python virtual environment in \(directory): \(failure)\(hint)")
            }
        }
        do {
            try Self.execute(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + packages)
            try Self.execute(python, check)
        } catch {
            throw Failure(
                description: "cannot install \(packages.joined(separator: ", ")) from PyPI into \(directory): \(error)"
            )
        }
        return python
    }

    /// A step that failed: the tool's exit status and the last line it printed.
    private struct StepFailure: Error, CustomStringConvertible {
        var description: String
        /// Everything the tool printed.
        var output = ""
    }

    /// Runs a tool to completion, throwing with its last line of output unless it exits 0.
    @discardableResult
    private static func execute(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw StepFailure(description: "\(executable) would not start: \(error.localizedDescription)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            let last = text.split(separator: "\n").last.map(String.init) ?? "no output"
            let command = ([executable] + arguments.prefix(2)).joined(separator: " ")
            throw StepFailure(
                description: "\(command) failed (exit \(process.terminationStatus)): \(last)", output: text
            )
        }
        return text
    }
}
