/// Why ``RESPParser`` rejected its input: the bytes are not RESP, or they exceed a ``RESPParser/Limits`` bound.
///
/// The offset counts bytes from the first byte the parser was given, so it points into the connection's stream.
///
/// ```swift
/// do { _ = try parser.next(from: &buffer) }
/// catch { print(error) }  // malformed RESP at byte 0: unknown type byte 0x41 ('A')
/// ```
public struct RESPError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Sendable, Hashable {
        case unknownType
        case badLine
        case badNumber
        case badValue
        case missingTerminator
        case tooLong
        case tooLarge
        case tooDeep
    }

    private let code: Code
    /// Where in the stream the offending token starts, counted in bytes from the parser's first byte.
    public let offset: Int
    /// What is wrong, in words.
    public let message: String

    private init(_ code: Code, offset: Int, _ message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    /// The byte that starts a value is none of RESP's type markers.
    public static func unknownType(_ byte: UInt8, offset: Int) -> RESPError {
        let printable = (0x20..<0x7f).contains(byte) ? " ('\(Character(Unicode.Scalar(byte)))')" : ""
        return RESPError(.unknownType, offset: offset, "unknown type byte \(hex(byte))\(printable)")
    }

    /// A line holds a carriage return or a line feed that is not its `\r\n` terminator.
    public static func bareLineBreak(offset: Int) -> RESPError {
        RESPError(.badLine, offset: offset, "a line holds a CR or LF that is not its CRLF terminator")
    }

    /// A length, count or integer is not a decimal number that fits in 64 bits.
    public static func invalidNumber(_ text: String, offset: Int) -> RESPError {
        RESPError(.badNumber, offset: offset, "'\(text)' is not a valid integer")
    }

    /// A length or count is negative (only `-1`, a null, is allowed where nulls are).
    public static func negativeLength(_ length: Int, offset: Int) -> RESPError {
        RESPError(.badNumber, offset: offset, "length \(length) is negative")
    }

    /// A boolean, double, big number, null or verbatim string does not have its required form.
    public static func invalidValue(_ kind: String, _ text: String, offset: Int) -> RESPError {
        RESPError(.badValue, offset: offset, "'\(text)' is not a valid \(kind)")
    }

    /// A bulk, verbatim or blob error payload is not followed by `\r\n`.
    public static func missingTerminator(length: Int, offset: Int) -> RESPError {
        RESPError(.missingTerminator, offset: offset, "a \(length)-byte string is not followed by CRLF")
    }

    /// A line is longer than ``RESPParser/Limits/maxLineLength``.
    public static func lineTooLong(limit: Int, offset: Int) -> RESPError {
        RESPError(.tooLong, offset: offset, "a line is longer than the limit of \(limit) bytes")
    }

    /// A bulk string is longer than ``RESPParser/Limits/maxBulkLength``.
    public static func bulkTooLong(_ length: Int, limit: Int, offset: Int) -> RESPError {
        RESPError(.tooLong, offset: offset, "a bulk string of \(length) bytes exceeds the limit of \(limit)")
    }

    /// An aggregate has more elements than ``RESPParser/Limits/maxAggregateCount``.
    public static func aggregateTooLarge(_ count: Int, limit: Int, offset: Int) -> RESPError {
        RESPError(.tooLarge, offset: offset, "an aggregate of \(count) elements exceeds the limit of \(limit)")
    }

    /// Aggregates nest deeper than ``RESPParser/Limits/maxDepth``.
    public static func tooDeep(limit: Int, offset: Int) -> RESPError {
        RESPError(.tooDeep, offset: offset, "aggregates nest deeper than the limit of \(limit)")
    }

    /// Whether two errors are the same kind of failure, ignoring the offset and the details.
    public func hasSameKind(as other: RESPError) -> Bool { code == other.code }

    /// The offset and the message, such as `malformed RESP at byte 0: unknown type byte 0x41 ('A')`.
    public var description: String { "malformed RESP at byte \(offset): \(message)" }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return "0x" + (digits.count == 1 ? "0" + digits : digits)
    }
}
