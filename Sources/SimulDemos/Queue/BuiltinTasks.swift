import Foundation
public import SimulQueue
import Simul

/// The tasks every `simul` binary can run, so `simul worker` and `simul send` work out of the box.
public enum BuiltinTasks {
    /// A catalog with the built-in tasks.
    public static var catalog: TaskCatalog {
        var catalog = TaskCatalog()
        register(in: &catalog)
        return catalog
    }

    /// Registers `simul.add`, `simul.mul`, `simul.xsum`, `simul.sleep`, `simul.noop`, `simul.lpf`, `simul.fetch`,
    /// `simul.fail`, `simul.flaky`, and the fault suite's `simul.record` and `simul.crash`.
    public static func register(in catalog: inout TaskCatalog) {
        catalog.register("simul.add", parameters: ["x", "y"]) { (x: JSONValue, y: JSONValue) throws in
            try arithmetic("simul.add", x, y, +, +)
        }
        catalog.register("simul.mul", parameters: ["x", "y"]) { (x: JSONValue, y: JSONValue) throws in
            try arithmetic("simul.mul", x, y, *, *)
        }
        catalog.register("simul.xsum", parameters: ["numbers"]) { (numbers: [JSONValue]) throws in
            try numbers.reduce(JSONValue.integer(0)) { try arithmetic("simul.xsum", $0, $1, +, +) }
        }
        catalog.register("simul.sleep", parameters: ["seconds"]) { (seconds: Double) async throws -> Double in
            do {
                try await Task.sleep(for: Seconds.duration(seconds, "seconds"))
            } catch let error as SecondsError {
                throw TaskError.valueError("\(error)")
            }
            return seconds
        }
        catalog.register("simul.noop") { () -> JSONValue in .null }
        catalog.register("simul.lpf", parameters: ["n"]) { (n: UInt64) throws -> UInt64 in
            guard n >= 2 else { throw TaskError.valueError("n must be at least 2, got \(n)") }
            return Primes.leastPrimeFactor(n)
        }
        catalog.register("simul.fetch", parameters: ["url"]) { (url: String) throws -> JSONValue in
            do {
                let body = try BlockingHTTP.get(url, timeout: .seconds(30))
                return ["url": .string(url), "bytes": .integer(Int64(body.count))]
            } catch {
                throw TaskError(type: "ConnectionError", message: "\(error)")
            }
        }
        catalog.register("simul.fail", parameters: ["message"]) { (message: String) throws -> JSONValue in
            throw TaskError.valueError(message)
        }
        catalog.register("simul.flaky", parameters: ["n"], options: TaskOptions(maxRetries: 1_000)) {
            (n: Int) throws -> Int in
            guard let context = TaskContext.current, context.retries < n else { return n }
            throw context.retry(countdown: 1)
        }
        registerFaultTasks(in: &catalog)
    }

    /// Integer arithmetic when both are integers (and it does not overflow), else floating point.
    private static func arithmetic(
        _ task: String, _ x: JSONValue, _ y: JSONValue, _ integer: (Int64, Int64) -> Int64,
        _ real: (Double, Double) -> Double
    ) throws -> JSONValue {
        if case .integer(let a) = x, case .integer(let b) = y {
            let exact = real(Double(a), Double(b))
            if abs(exact) < 9e15 { return .integer(integer(a, b)) }
        }
        guard let a = x.doubleValue, let b = y.doubleValue else {
            throw TaskError.typeError("\(task)() needs numbers, got \(x.jsonText) and \(y.jsonText)")
        }
        return .number(real(a, b))
    }
}
