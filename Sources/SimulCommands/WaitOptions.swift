import ArgumentParser
import Foundation
import SimulJSON
import SimulQueue

/// `--wait` and `--timeout`, for the commands that send: print the id at once, and with `--wait` the result.
struct WaitOptions: ParsableArguments {
    @Flag(help: "Wait for the result (a chain's: its last step's) and print it.")
    var wait = false

    @Option(
        parsing: .unconditional, help: "With --wait, give up after this many seconds.",
        transform: { try parseDouble($0, "--timeout") })
    var timeout: Double?

    /// `--timeout` in seconds, checked: call it before sending, so a bad value sends nothing.
    func checkedTimeout() throws -> Double? {
        try checkedSeconds(timeout, option: "--timeout")
    }

    /// Prints the id of `result`, then, with `--wait`, waits up to `timeout` seconds for the result and prints it.
    func report(_ result: AsyncResult, timeout: Double?) async throws {
        print(result.id)
        fflush(nil)  // the id now, not when the wait ends: a pipe would hold it back until exit
        guard wait else { return }
        print(try await result.get(timeout: timeout.map { .seconds($0) }).jsonText)
    }
}
