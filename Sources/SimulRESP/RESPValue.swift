public import NIOCore

/// One reply from Redis: a RESP2 value, or a RESP3 one when the connection was switched with `HELLO 3`.
///
/// Bulk payloads are `ByteBuffer` slices of the bytes read from the socket, not copies. The three null forms
/// (RESP2's `$-1` and `*-1`, RESP3's `_`) all parse to ``null``; RESP3 attributes (`|`) are metadata and are skipped.
///
/// ```swift
/// switch try await connection.send("GET", "greeting") {
/// case .bulkString(let bytes): print(String(buffer: bytes))
/// case .null: print("no greeting")
/// default: break
/// }
/// ```
public enum RESPValue: Sendable, Hashable {
    /// A status line such as `OK` or `PONG` (`+`).
    case simpleString(ByteBuffer)
    /// An error reply such as `ERR unknown command` (`-`, or RESP3's blob error `!`).
    case error(String)
    /// A signed 64-bit integer (`:`).
    case integer(Int)
    /// A binary-safe string (`$`).
    case bulkString(ByteBuffer)
    /// An ordered list of values (`*`).
    case array([RESPValue])
    /// No value: a missing key, a timed-out blocking pop (`$-1`, `*-1` or `_`).
    case null
    /// RESP3 true or false (`#`).
    case boolean(Bool)
    /// A RESP3 floating-point number (`,`), infinities and NaN included.
    case double(Double)
    /// A RESP3 integer too big for 64 bits (`(`), as its decimal digits with an optional leading minus.
    case bigNumber(String)
    /// A RESP3 map (`%`), as on the wire: keys and values alternate, so the array's count is even.
    case map([RESPValue])
    /// A RESP3 unordered collection (`~`), in the order the server sent it.
    case set([RESPValue])
    /// A RESP3 out-of-band message (`>`), such as a pub/sub message.
    case push([RESPValue])
    /// A RESP3 string with a three-character format such as `txt` or `mkd` (`=`).
    indirect case verbatimString(format: String, text: ByteBuffer)
}

extension RESPValue {
    /// The payload of a simple, bulk or verbatim string as UTF-8 text, or `nil` for any other value.
    public var string: String? {
        switch self {
        case .simpleString(let bytes), .bulkString(let bytes), .verbatimString(_, let bytes): String(buffer: bytes)
        default: nil
        }
    }

    /// The value of an integer reply, or of a string reply that holds a decimal integer (as `GET` returns);
    /// `nil` otherwise.
    public var int: Int? {
        switch self {
        case .integer(let value): value
        case .simpleString, .bulkString: string.flatMap { Int($0) }
        default: nil
        }
    }
}
