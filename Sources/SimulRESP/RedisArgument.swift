public import NIOCore

/// One word of a Redis command: text, bytes or a number, written as a RESP bulk string.
///
/// String and integer literals are arguments, so a command reads like the Redis manual:
///
/// ```swift
/// let command: [RedisArgument] = ["SET", "counter", 41]
/// let payload: [RedisArgument] = ["PUBLISH", "images", RedisArgument(imageBytes)]
/// ```
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    enum Storage: Sendable, Hashable {
        case string(String)
        case bytes(ByteBuffer)
        case integer(Int)
        case double(Double)
    }

    let storage: Storage

    /// An argument holding the UTF-8 bytes of `string`.
    public init(_ string: some StringProtocol) {
        storage = .string(String(string))
    }

    /// An argument holding the readable bytes of `bytes`, written without a copy into an intermediate buffer.
    public init(_ bytes: ByteBuffer) {
        storage = .bytes(bytes)
    }

    /// An argument holding a copy of `bytes`, such as a `Data` or a `[UInt8]`.
    public init(bytes: some Collection<UInt8>) {
        storage = .bytes(ByteBuffer(bytes: bytes))
    }

    /// An argument holding `integer` in decimal, as Redis expects for counts, scores and ranges.
    public init(_ integer: some BinaryInteger) {
        storage = .integer(Int(integer))
    }

    /// An argument holding `double` in the shortest decimal form that reads back as the same value
    /// (`inf`, `-inf` and `nan` for the special values).
    public init(_ double: Double) {
        storage = .double(double)
    }

    /// An argument holding the string literal's UTF-8 bytes.
    public init(stringLiteral value: String) {
        storage = .string(value)
    }

    /// An argument holding the integer literal in decimal.
    public init(integerLiteral value: Int) {
        storage = .integer(value)
    }
}
