import Foundation
import Simul
import SimulJSON
public import SimulQueue

/// The tasks every `simul` binary can run, so `simul worker` and `simul send` work out of the box.
public enum BuiltinTasks {
    /// A catalog with the built-in tasks.
    public static var catalog: TaskCatalog {
        var catalog = TaskCatalog()
        register(in: &catalog)
        return catalog
    }

    /// Registers `simul.add`, `simul.mul`, `simul.xsum`, `simul.sleep`, `simul.noop`, `simul.lpf`, `simul.fetch`,
    /// `simul.fail`, `simul.flaky`, `simul.progress` (`total` steps of `seconds`, each stored as the state
    /// PROGRESS with `{"current", "total"}`; with `gate`, a file path, the last step also waits until that file
    /// exists), the typed ``Divmod`` (`simul.divmod`), and the fault suite's
    /// `simul.record` and `simul.crash`.
    public static func register(in catalog: inout TaskCatalog) {
        catalog.register("simul.add", parameters: ["x", "y"]) { (x: JSONValue, y: JSONValue) throws in
            try arithmetic("simul.add", .add, x, y)
        }
        catalog.register("simul.mul", parameters: ["x", "y"]) { (x: JSONValue, y: JSONValue) throws in
            try arithmetic("simul.mul", .multiply, x, y)
        }
        catalog.register("simul.xsum", parameters: ["numbers"]) { (numbers: [JSONValue]) throws in try sum(numbers) }
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
        catalog.register("simul.progress", parameters: ["total", "seconds", "gate"]) {
            (total: Int, seconds: Double, gate: String?) async throws -> Int in
            guard let context = TaskContext.current, total >= 1 else {
                throw TaskError.valueError("total must be at least 1, got \(total)")
            }
            for step in 1...total {
                do {
                    try await Task.sleep(for: Seconds.duration(seconds, "seconds"))
                } catch let error as SecondsError {
                    throw TaskError.valueError("\(error)")
                }
                while step == total, let gate, !FileManager.default.fileExists(atPath: gate) {
                    try await Task.sleep(for: .milliseconds(10))
                }
                try context.updateState(
                    "PROGRESS", meta: ["current": .integer(Int64(step)), "total": .integer(Int64(total))])
            }
            return total
        }
        catalog.register(Divmod())
        registerFaultTasks(in: &catalog)
    }

    private enum Operation {
        case add, multiply

        var symbol: String { self == .add ? "+" : "*" }
    }

    /// Python's `x + y` or `x * y` on two numbers, within what JSON and 64 bits carry.
    ///
    /// Two integers give the exact integer, or an `OverflowError` when an argument or the result is outside `Int64`
    /// (Python's integers have no limit, so an honest error is the nearest answer). An integer and a float, or two
    /// floats, give a float, as in Python; a float result past `Double`'s range is an `OverflowError`, where Python
    /// gives `inf`, which JSON cannot carry. Anything else (strings, lists, booleans) is a `TypeError`.
    private static func arithmetic(_ task: String, _ operation: Operation, _ x: JSONValue, _ y: JSONValue)
        throws(TaskError) -> JSONValue
    {
        guard isNumber(x), isNumber(y) else {
            throw .typeError("\(task)() needs numbers, got \(x.jsonText) and \(y.jsonText)")
        }
        let expression = "\(text(x)) \(operation.symbol) \(text(y))"
        if isInteger(x), isInteger(y) {
            let a = try int64(x, task), b = try int64(y, task)
            let (result, overflow) =
                operation == .add ? a.addingReportingOverflow(b) : a.multipliedReportingOverflow(by: b)
            guard !overflow else { throw .overflowError("\(task)(): \(expression) \(outsideInt64)") }
            return .integer(result)
        }
        let (a, b) = (x.doubleValue!, y.doubleValue!)
        return try float(operation == .add ? a + b : a * b, task, expression)
    }

    /// Python's `sum(numbers)`: exact while the numbers are integers (the running total is an `Int128`, so only the
    /// sum itself must fit `Int64`), a float from the first float on.
    private static func sum(_ numbers: [JSONValue]) throws(TaskError) -> JSONValue {
        var total: Int128 = 0
        var floatTotal: Double?
        for number in numbers {
            guard isNumber(number) else { throw .typeError("simul.xsum() needs numbers, got \(number.jsonText)") }
            if floatTotal == nil, !isInteger(number) { floatTotal = Double(total) }
            if let sum = floatTotal {
                floatTotal = sum + number.doubleValue!
            } else {
                total += Int128(try int64(number, "simul.xsum"))
            }
        }
        if let floatTotal { return try float(floatTotal, "simul.xsum", "the sum") }
        guard let sum = Int64(exactly: total) else {
            throw .overflowError("simul.xsum(): the sum \(total) \(outsideInt64)")
        }
        return .integer(sum)
    }

    /// The number as Python prints it: JSON text, but `inf` where JSON would write `null`.
    private static func text(_ number: JSONValue) -> String {
        if case .number(let value) = number, !value.isFinite { return "\(value)" }
        return number.jsonText
    }

    private static let outsideInt64 =
        "is outside the 64-bit integers (-9223372036854775808 to 9223372036854775807)"

    /// The integer, if it is an `Int64`.
    private static func int64(_ value: JSONValue, _ task: String) throws(TaskError) -> Int64 {
        guard case .integer(let integer) = value else {
            throw .overflowError("\(task)(): \(value.jsonText) \(outsideInt64)")
        }
        return integer
    }

    /// The float, if JSON can carry it.
    private static func float(_ value: Double, _ task: String, _ expression: String) throws(TaskError) -> JSONValue {
        guard value.isFinite else {
            throw .overflowError(
                "\(task)(): \(expression) is outside the range of a float (Python gives inf or nan; JSON has neither)")
        }
        return .number(value)
    }

    private static func isNumber(_ value: JSONValue) -> Bool {
        if case .number = value { return true }
        return isInteger(value)
    }

    private static func isInteger(_ value: JSONValue) -> Bool {
        switch value {
        case .integer, .unsigned, .bigInteger: true
        default: false
        }
    }
}
