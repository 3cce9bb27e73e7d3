import Foundation
import SimulJSON
import SimulQueue
import SimulTasks
import Testing

/// The built-in tasks, called in process: arithmetic as Python's, and the fault suite's `simul.record` and
/// `simul.crash`.
@Suite(.timeLimit(.minutes(2))) struct BuiltinTasksTests {
    let catalog = BuiltinTasks.catalog

    static func scratchFile() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("simul-record-\(UUID())").path
    }

    /// The arguments as a worker reads them from a message: `text` parsed by Simul's JSON parser.
    static func args(_ text: String) throws -> [JSONValue] {
        try #require(try JSONValue(parsing: Array(text.utf8)).arrayValue)
    }

    static let outsideInt64 = "is outside the 64-bit integers (-9223372036854775808 to 9223372036854775807)"

    /// Integer arithmetic is exact over the whole of `Int64`, where a `Double` would round (2^53 + 1 and up).
    @Test(arguments: [
        ("simul.add", "[9007199254740993, 0]", JSONValue.integer(9_007_199_254_740_993)),
        ("simul.add", "[9000000000000000, 1]", .integer(9_000_000_000_000_001)),
        ("simul.add", "[1733500000000000000, 1]", .integer(1_733_500_000_000_000_001)),
        ("simul.add", "[9223372036854775806, 1]", .integer(.max)),
        ("simul.add", "[-9223372036854775807, -1]", .integer(.min)),
        ("simul.add", "[-9223372036854775808, 9223372036854775807]", .integer(-1)),
        ("simul.mul", "[3037000499, 3037000499]", .integer(9_223_372_030_926_249_001)),
        ("simul.mul", "[-4611686018427387904, 2]", .integer(.min)),
        ("simul.mul", "[9223372036854775807, -1]", .integer(-.max)),
        ("simul.xsum", "[[9223372036854775807, 1, -1]]", .integer(.max)),
        ("simul.xsum", "[[-9223372036854775807, -1]]", .integer(.min)),
        ("simul.xsum", "[[]]", .integer(0)),
    ])
    func integerArithmeticIsExactAcrossInt64(task: String, args: String, expected: JSONValue) async throws {
        let result = try await catalog.call(task, args: Self.args(args))
        #expect(result == expected)
        #expect(result.jsonText == expected.jsonText)
    }

    /// Past `Int64` (in an argument or the result) an `OverflowError` says so: never a rounded float.
    @Test(arguments: [
        ("simul.add", "[9223372036854775807, 1]", "simul.add(): 9223372036854775807 + 1 \(outsideInt64)"),
        ("simul.add", "[-9223372036854775808, -1]", "simul.add(): -9223372036854775808 + -1 \(outsideInt64)"),
        ("simul.mul", "[3037000500, 3037000500]", "simul.mul(): 3037000500 * 3037000500 \(outsideInt64)"),
        ("simul.mul", "[-9223372036854775808, -1]", "simul.mul(): -9223372036854775808 * -1 \(outsideInt64)"),
        ("simul.xsum", "[[9223372036854775807, 1]]", "simul.xsum(): the sum 9223372036854775808 \(outsideInt64)"),
        ("simul.xsum", "[[-9223372036854775808, -1]]", "simul.xsum(): the sum -9223372036854775809 \(outsideInt64)"),
        ("simul.add", "[9223372036854775808, -1]", "simul.add(): 9223372036854775808 \(outsideInt64)"),
        ("simul.add", "[1180591620717411303424, 1]", "simul.add(): 1180591620717411303424 \(outsideInt64)"),
        ("simul.mul", "[2, -1180591620717411303424]", "simul.mul(): -1180591620717411303424 \(outsideInt64)"),
        ("simul.xsum", "[[1, 1180591620717411303424]]", "simul.xsum(): 1180591620717411303424 \(outsideInt64)"),
    ])
    func integerArithmeticPastInt64IsAnOverflowError(task: String, args: String, message: String) async throws {
        await #expect(throws: TaskError(type: "OverflowError", message: message, module: "builtins")) {
            try await catalog.call(task, args: Self.args(args))
        }
    }

    /// An integer and a float, or two floats, give a float, as Python's `+` does.
    @Test(arguments: [
        ("simul.add", "[1, 0.5]", JSONValue.number(1.5)),
        ("simul.add", "[0.1, 0.2]", .number(0.30000000000000004)),
        ("simul.mul", "[9223372036854775807, 2.0]", .number(18_446_744_073_709_551_614.0)),
        ("simul.add", "[1180591620717411303424, 0.5]", .number(0x1p70)),
        ("simul.xsum", "[[1, 2.5, 3]]", .number(6.5)),
        ("simul.add", "[1e308, -1e308]", .number(0)),
    ])
    func mixedArithmeticIsFloat(task: String, args: String, expected: JSONValue) async throws {
        #expect(try await catalog.call(task, args: Self.args(args)) == expected)
    }

    /// Python gives `inf` (or `nan`) for these; JSON has neither, so Simul says so instead of returning `null`.
    @Test(arguments: [
        ("simul.add", "[1e308, 1e308]", "simul.add(): 1e+308 + 1e+308"),
        ("simul.mul", "[1e200, -1e200]", "simul.mul(): 1e+200 * -1e+200"),
        ("simul.xsum", "[[1, 1e308, 1e308]]", "simul.xsum(): the sum"),
    ])
    func floatOverflowIsAnOverflowError(task: String, args: String, expression: String) async throws {
        let message = "\(expression) is outside the range of a float (Python gives inf or nan; JSON has neither)"
        await #expect(throws: TaskError(type: "OverflowError", message: message)) {
            try await catalog.call(task, args: Self.args(args))
        }
    }

    /// Python's `+` also joins strings and lists and counts `True` as 1; Simul's built-ins take numbers only.
    @Test(arguments: [
        ("simul.add", #"["a", "b"]"#, #"simul.add() needs numbers, got "a" and "b""#),
        ("simul.add", "[[1], [2]]", "simul.add() needs numbers, got [1] and [2]"),
        ("simul.add", "[true, 1]", "simul.add() needs numbers, got true and 1"),
        ("simul.mul", #"["ab", 3]"#, #"simul.mul() needs numbers, got "ab" and 3"#),
        ("simul.xsum", "[[1, null]]", "simul.xsum() needs numbers, got null"),
    ])
    func nonNumbersAreATypeError(task: String, args: String, message: String) async throws {
        await #expect(throws: TaskError.typeError(message)) {
            try await catalog.call(task, args: Self.args(args))
        }
    }

    func record(_ args: [JSONValue], as id: String) async throws -> JSONValue {
        let context = TaskContext(id: id, name: "simul.record", retries: 0, hostname: "test@host")
        return try await TaskContext.$current.withValue(context) { try await catalog.call("simul.record", args: args) }
    }

    @Test func recordAppendsOneLinePerExecution() async throws {
        let path = Self.scratchFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try await record([.string(path)], as: "first") == "first")
        #expect(try await record([.string(path), 0.01], as: "second") == "second")
        #expect(try await record([.string(path)], as: "first") == "first")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "first\nsecond\nfirst\n")
    }

    @Test func recordRefusesBadInput() async throws {
        let missing = TaskError(type: "OSError", message: "[Errno 2] No such file or directory: '/no/such/dir/x'")
        await #expect(throws: missing) {
            try await record(["/no/such/dir/x"], as: "id")
        }
        await #expect(
            throws: TaskError.valueError(
                "seconds must be a number of seconds from 0 up to 3155760000 (100 years), got -1.0")
        ) {
            try await record([.string(Self.scratchFile()), -1], as: "id")
        }
        await #expect(throws: TaskError.typeError("simul.record() argument 'path' must be String, got 123")) {
            try await record([123], as: "id")
        }
        await #expect(
            throws: TaskError(
                type: "RuntimeError", message: "simul.record records its task id, so it runs only as a queued task")
        ) {
            try await catalog.call("simul.record", args: [.string(Self.scratchFile())])
        }
    }

    @Test func crashRefusesAnUnknownKindWithoutCrashing() async throws {
        let unknown = TaskError.valueError("unknown crash kind 'gently' (use trap, segfault, exit, alloc, loop)")
        await #expect(throws: unknown) {
            try await catalog.call("simul.crash", args: ["gently"])
        }
    }

    /// `simul.divmod` is Python's `divmod` on integers: the quotient rounds down, the remainder has the divisor's sign.
    @Test(arguments: [
        ("[17, 5]", Divmod.Output(quotient: 3, remainder: 2)),
        ("[-7, 2]", Divmod.Output(quotient: -4, remainder: 1)),
        ("[7, -2]", Divmod.Output(quotient: -4, remainder: -1)),
        ("[-7, -2]", Divmod.Output(quotient: 3, remainder: -1)),
    ])
    func divmodRoundsAsPythonDoes(args: String, expected: Divmod.Output) async throws {
        let value = try await catalog.call("simul.divmod", args: Self.args(args))
        #expect(try value.decode(as: Divmod.Output.self) == expected)
    }

    @Test(arguments: [
        (17, 0, TaskError(type: "ZeroDivisionError", message: "integer division or modulo by zero")),
        (Int.min, -1, TaskError.overflowError("simul.divmod(): \(Int.min) // -1 is outside the 64-bit integers")),
    ])
    func divmodRefusesAZeroDivisorAndAnOverflow(dividend: Int, divisor: Int, expected: TaskError) {
        #expect(throws: expected) { try Divmod().run(.init(dividend: dividend, divisor: divisor)) }
    }
}
