/// Why AMQP 0-9-1 bytes could not be read or written: they are not a valid frame, method, content header or field
/// table, or a value does not fit its wire type.
///
/// ```swift
/// do { _ = try parser.next(from: &buffer) }
/// catch { print(error) }  // malformed AMQP: frame of 9000 bytes, more than the 4096 agreed
/// ```
public struct AMQPWireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, in words.
    public let description: String

    private init(_ description: String) { self.description = description }

    /// Bytes read that are not AMQP 0-9-1.
    static func malformed(_ message: String) -> AMQPWireError { AMQPWireError("malformed AMQP: \(message)") }

    /// A value to write that AMQP cannot carry, refused before any byte is written.
    static func unwritable(_ message: String) -> AMQPWireError { AMQPWireError("cannot write AMQP: \(message)") }

    /// The peer answered the protocol header with its own: it speaks another version of AMQP.
    static func otherProtocol(_ header: [UInt8]) -> AMQPWireError {
        let version = header.dropFirst(4).map(String.init).joined(separator: "-")
        return AMQPWireError("the server speaks AMQP \(version), not 0-9-1: it answered with its protocol header")
    }

    static func unknownFrameType(_ type: UInt8) -> AMQPWireError {
        .malformed("unknown frame type \(type)")
    }

    static func frameTooLarge(_ size: Int, limit: Int) -> AMQPWireError {
        .malformed("frame of \(size) bytes, more than the \(limit) agreed")
    }

    static func missingFrameEnd(_ byte: UInt8) -> AMQPWireError {
        .malformed("a frame ends with \(byte), not 206 (0xCE)")
    }

    static func truncated(_ what: String) -> AMQPWireError {
        .malformed("\(what) ends before its announced length")
    }

    static func unknownFieldType(_ type: UInt8) -> AMQPWireError {
        let printable = (0x20..<0x7f).contains(type) ? " ('\(Character(Unicode.Scalar(type)))')" : ""
        return .malformed("unknown field-table value type \(type)\(printable)")
    }

    static func tooDeep(_ limit: Int) -> AMQPWireError {
        .malformed("field tables and arrays nest more than \(limit) deep")
    }

    static func unknownMethod(classId: UInt16, methodId: UInt16) -> AMQPWireError {
        .malformed("unknown method \(classId).\(methodId)")
    }

    static func tooLong(_ what: String, bytes: Int) -> AMQPWireError {
        .unwritable("\(what) is \(bytes) bytes; a short string holds at most 255")
    }

    static func wrongArguments(_ method: String, expected: String) -> AMQPWireError {
        .unwritable("\(method) takes \(expected)")
    }
}
