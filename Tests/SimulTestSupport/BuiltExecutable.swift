public import Foundation

/// The path of the executable `name` that SwiftPM builds next to the test bundle.
public func builtExecutable(_ name: String) -> String {
    let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent(name).path
}

/// The `simul` executable, for the tests that start it or use it as a process-pool worker.
public let simulExecutable = builtExecutable("simul")

/// Starts `simul`, or another `executable`, with `arguments`, its output thrown away: a worker, or another command
/// that runs until stopped.
public func startSimul(_ arguments: [String], executable: String = simulExecutable) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}
