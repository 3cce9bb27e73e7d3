import Foundation
import Simul
import SimulJSON
import SimulProcessSupport

/// The dashboard over HTTP, with `curl` as the shell script used it: its JSON API read in Swift, and status codes.
extension BrokerRun {
    /// `curl -fsS OPTIONS URL`, the body into `file`; whether it succeeded (a 2xx answer). Its errors go to the
    /// test's standard error, or nowhere when `quiet`, as in a wait.
    @discardableResult
    func fetch(_ path: String, to file: String, options: [String] = [], quiet: Bool = false) throws -> Bool {
        let command = ["curl", "-fsS"] + options + [dashboard + path]
        return try ChildProcess.run(command, output: .file(file), error: quiet ? .discard : .terminal) == 0
    }

    /// `fetch` that must succeed.
    /// - Throws: ``DriverError`` naming the URL if it does not.
    func get(_ path: String, to file: String, options: [String] = []) throws {
        guard try fetch(path, to: file, options: options) else {
            throw DriverError("curl -fsS \(dashboard + path) failed")
        }
    }

    /// The JSON at `path`.
    /// - Throws: ``DriverError`` if it cannot be fetched or read.
    func api(_ path: String) throws -> JSONValue {
        let file = self.path("api.json")
        guard try fetch(path, to: file, quiet: true) else { throw DriverError("\(path) did not answer") }
        return try JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: file)))
    }

    /// Waits at most `limit` seconds until the JSON at `path` satisfies `condition`: the shell script's `api_has`.
    /// - Throws: ``DriverError`` "timed out after `limit` s waiting for: `what`", or ``Interrupted``.
    func waitFor(_ limit: Double, _ what: String, _ path: String, _ condition: (JSONValue) -> Bool) throws {
        try Waiting.until(limit, what) { try condition(api(path)) }
    }

    /// `curl -s -o BODY -w '%{http_code}' ARGUMENTS`: the status of the answer, its body into `body`.
    /// - Throws: ``DriverError`` if curl fails (no connection).
    func status(_ arguments: [String], body: String = "/dev/null") throws -> Int {
        let output = path("status.out")
        let command = ["curl", "-s", "-o", body, "-w", "%{http_code}"] + arguments
        let code = try ChildProcess.run(command, output: .file(output))
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard code == 0, let status = Int(text) else {
            throw DriverError("curl \(arguments.last ?? ""): exit \(code), status '\(text)'")
        }
        return status
    }
}
