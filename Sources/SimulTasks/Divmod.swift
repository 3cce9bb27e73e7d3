public import SimulQueue

/// `simul.divmod(dividend, divisor)`: Python's `divmod` on integers, as a typed task. Python clients call it with
/// positional or keyword arguments (`send_task('simul.divmod', args=[17, 5])` or `kwargs={'dividend': 17,
/// 'divisor': 5}`) and get `{"quotient": 3, "remainder": 2}`; a zero divisor raises `ZeroDivisionError`.
public struct Divmod: BlockingQueueTask {
    public static let name = "simul.divmod"

    /// The parameters: `dividend`, then `divisor`.
    public struct Arguments: Codable, Sendable, Equatable {
        public var dividend: Int
        public var divisor: Int

        /// Arguments for `dividend` divided by `divisor`.
        public init(dividend: Int, divisor: Int) {
            self.dividend = dividend
            self.divisor = divisor
        }
    }

    /// The quotient, rounded towards negative infinity as Python's `//` does, and the remainder, which has the
    /// divisor's sign.
    public struct Output: Codable, Sendable, Equatable {
        public var quotient: Int
        public var remainder: Int

        /// A quotient and a remainder.
        public init(quotient: Int, remainder: Int) {
            self.quotient = quotient
            self.remainder = remainder
        }
    }

    /// The task.
    public init() {}

    public func run(_ arguments: Arguments) throws -> Output {
        guard arguments.divisor != 0 else {
            throw TaskError(type: "ZeroDivisionError", message: "integer division or modulo by zero")
        }
        guard arguments.dividend != .min || arguments.divisor != -1 else {
            throw TaskError.overflowError("simul.divmod(): \(Int.min) // -1 is outside the 64-bit integers")
        }
        var quotient = arguments.dividend / arguments.divisor
        var remainder = arguments.dividend % arguments.divisor
        if remainder != 0, (remainder < 0) != (arguments.divisor < 0) {
            quotient -= 1
            remainder += arguments.divisor
        }
        return Output(quotient: quotient, remainder: remainder)
    }
}
