import NIOCore

/// A value in an AMQP field table or field array (message headers, queue and exchange arguments, a connection's
/// properties).
///
/// Decoding reads every type RabbitMQ sends, and both spellings where RabbitMQ's errata differ from the 0-9-1 spec
/// (`s` and `U` for a signed 16-bit integer, `l` and `L` for a signed 64-bit one). Encoding writes RabbitMQ's
/// spellings: RabbitMQ reads the spec's short-string type `s` as an integer, so strings are always long strings
/// (`S`), as py-amqp writes them.
public enum AMQPFieldValue: Sendable, Hashable {
    case bool(Bool)
    case int8(Int8)
    case uint8(UInt8)
    case int16(Int16)
    case uint16(UInt16)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case float(Float)
    case double(Double)
    /// A decimal: `value` × 10^-`scale`.
    case decimal(scale: UInt8, value: Int32)
    /// A long string: bytes, usually UTF-8 text (see ``string(_:)``).
    case longString([UInt8])
    case array([AMQPFieldValue])
    /// Seconds since the Unix epoch.
    case timestamp(UInt64)
    case table(AMQPTable)
    case void
    /// A byte array (RabbitMQ's `x`).
    case bytes([UInt8])

    /// A long string holding `text` in UTF-8.
    public static func string(_ text: String) -> AMQPFieldValue { .longString(Array(text.utf8)) }

    /// The text of a long string, or `nil` for any other value.
    public var stringValue: String? {
        if case .longString(let bytes) = self { String(decoding: bytes, as: UTF8.self) } else { nil }
    }

    /// An integer of any width, or `nil` for any other value.
    public var intValue: Int64? {
        switch self {
        case .int8(let value): Int64(value)
        case .uint8(let value): Int64(value)
        case .int16(let value): Int64(value)
        case .uint16(let value): Int64(value)
        case .int32(let value): Int64(value)
        case .uint32(let value): Int64(value)
        case .int64(let value): value
        default: nil
        }
    }
}

/// An AMQP field table: named values, in the order they were written (a table's keys are short strings).
public struct AMQPTable: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    /// One named value.
    public struct Entry: Sendable, Hashable {
        public var key: String
        public var value: AMQPFieldValue

        public init(key: String, value: AMQPFieldValue) {
            self.key = key
            self.value = value
        }
    }

    /// The entries, in order. A key that appears twice keeps both entries; ``subscript(_:)`` reads the last.
    public var entries: [Entry]

    public init(_ entries: [Entry] = []) { self.entries = entries }

    public init(dictionaryLiteral elements: (String, AMQPFieldValue)...) {
        entries = elements.map { Entry(key: $0.0, value: $0.1) }
    }

    /// The value of the last entry named `key`; setting replaces it, or appends an entry.
    public subscript(key: String) -> AMQPFieldValue? {
        get { entries.last { $0.key == key }?.value }
        set {
            let index = entries.lastIndex { $0.key == key }
            switch (index, newValue) {
            case (let index?, let value?): entries[index].value = value
            case (let index?, nil): entries.remove(at: index)
            case (nil, let value?): entries.append(Entry(key: key, value: value))
            case (nil, nil): break
            }
        }
    }
}

/// How deeply tables and arrays may nest when decoded: hostile input cannot exhaust the stack.
let maxFieldDepth = 64

extension ByteBuffer {
    /// Reads a field table: a 32-bit byte length, then (short-string key, type octet, value) entries.
    mutating func readAMQPTable(depth: Int = 0) throws(AMQPWireError) -> AMQPTable {
        guard depth < maxFieldDepth else { throw .tooDeep(maxFieldDepth) }
        guard let length = readInteger(as: UInt32.self), var body = readSlice(length: Int(length)) else {
            throw .truncated("a field table")
        }
        var entries: [AMQPTable.Entry] = []
        while body.readableBytes > 0 {
            let key = try body.readAMQPShortString()
            entries.append(AMQPTable.Entry(key: key, value: try body.readAMQPFieldValue(depth: depth + 1)))
        }
        return AMQPTable(entries)
    }

    /// Reads a type octet and the value it announces.
    mutating func readAMQPFieldValue(depth: Int) throws(AMQPWireError) -> AMQPFieldValue {
        guard let type = readInteger(as: UInt8.self) else { throw .truncated("a field value") }
        func integer<T: FixedWidthInteger>(_: T.Type) throws(AMQPWireError) -> T {
            guard let value = readInteger(as: T.self) else { throw .truncated("a field value") }
            return value
        }
        switch type {
        case UInt8(ascii: "t"): return .bool(try integer(UInt8.self) != 0)
        case UInt8(ascii: "b"): return .int8(try integer(Int8.self))
        case UInt8(ascii: "B"): return .uint8(try integer(UInt8.self))
        case UInt8(ascii: "s"), UInt8(ascii: "U"): return .int16(try integer(Int16.self))
        case UInt8(ascii: "u"): return .uint16(try integer(UInt16.self))
        case UInt8(ascii: "I"): return .int32(try integer(Int32.self))
        case UInt8(ascii: "i"): return .uint32(try integer(UInt32.self))
        case UInt8(ascii: "l"), UInt8(ascii: "L"): return .int64(try integer(Int64.self))
        case UInt8(ascii: "f"): return .float(Float(bitPattern: try integer(UInt32.self)))
        case UInt8(ascii: "d"): return .double(Double(bitPattern: try integer(UInt64.self)))
        case UInt8(ascii: "D"):
            let scale = try integer(UInt8.self)
            return .decimal(scale: scale, value: try integer(Int32.self))
        case UInt8(ascii: "S"): return .longString(try readAMQPLongString())
        case UInt8(ascii: "x"): return .bytes(try readAMQPLongString())
        case UInt8(ascii: "T"): return .timestamp(try integer(UInt64.self))
        case UInt8(ascii: "F"): return .table(try readAMQPTable(depth: depth))
        case UInt8(ascii: "V"): return .void
        case UInt8(ascii: "A"):
            guard depth < maxFieldDepth else { throw .tooDeep(maxFieldDepth) }
            guard let length = readInteger(as: UInt32.self), var body = readSlice(length: Int(length)) else {
                throw .truncated("a field array")
            }
            var values: [AMQPFieldValue] = []
            while body.readableBytes > 0 { values.append(try body.readAMQPFieldValue(depth: depth + 1)) }
            return .array(values)
        default:
            throw .unknownFieldType(type)
        }
    }

    /// Writes a field table, its length first.
    mutating func writeAMQPTable(_ table: AMQPTable) throws(AMQPWireError) {
        try writeLengthPrefixed { buffer throws(AMQPWireError) in
            for entry in table.entries {
                try buffer.writeAMQPShortString(entry.key, what: "the field-table key '\(entry.key.prefix(32))'")
                try buffer.writeAMQPFieldValue(entry.value)
            }
        }
    }

    /// Writes a type octet and the value.
    mutating func writeAMQPFieldValue(_ value: AMQPFieldValue) throws(AMQPWireError) {
        func tagged<T: FixedWidthInteger>(_ type: Character, _ integer: T) {
            writeInteger(UInt8(ascii: type.unicodeScalars.first!))
            writeInteger(integer)
        }
        switch value {
        case .bool(let value): tagged("t", UInt8(value ? 1 : 0))
        case .int8(let value): tagged("b", value)
        case .uint8(let value): tagged("B", value)
        case .int16(let value): tagged("s", value)
        case .uint16(let value): tagged("u", value)
        case .int32(let value): tagged("I", value)
        case .uint32(let value): tagged("i", value)
        case .int64(let value): tagged("l", value)
        case .float(let value): tagged("f", value.bitPattern)
        case .double(let value): tagged("d", value.bitPattern)
        case .decimal(let scale, let value):
            tagged("D", scale)
            writeInteger(value)
        case .longString(let bytes):
            writeInteger(UInt8(ascii: "S"))
            writeAMQPLongString(bytes)
        case .bytes(let bytes):
            writeInteger(UInt8(ascii: "x"))
            writeAMQPLongString(bytes)
        case .timestamp(let value): tagged("T", value)
        case .table(let table):
            writeInteger(UInt8(ascii: "F"))
            try writeAMQPTable(table)
        case .void: writeInteger(UInt8(ascii: "V"))
        case .array(let values):
            writeInteger(UInt8(ascii: "A"))
            try writeLengthPrefixed { buffer throws(AMQPWireError) in
                for value in values { try buffer.writeAMQPFieldValue(value) }
            }
        }
    }

    /// Reads a short string: an 8-bit length, then that many bytes, read as UTF-8 (invalid bytes are replaced).
    mutating func readAMQPShortString() throws(AMQPWireError) -> String {
        guard let length = readInteger(as: UInt8.self), let text = readString(length: Int(length)) else {
            throw .truncated("a short string")
        }
        return text
    }

    /// Writes a short string; `what` names it in the error when it is longer than 255 bytes.
    mutating func writeAMQPShortString(_ text: String, what: String) throws(AMQPWireError) {
        let length = text.utf8.count
        guard length <= 255 else { throw .tooLong(what, bytes: length) }
        writeInteger(UInt8(length))
        writeString(text)
    }

    /// Reads a long string: a 32-bit length, then that many bytes.
    mutating func readAMQPLongString() throws(AMQPWireError) -> [UInt8] {
        guard let length = readInteger(as: UInt32.self), let bytes = readBytes(length: Int(length)) else {
            throw .truncated("a long string")
        }
        return bytes
    }

    mutating func writeAMQPLongString(_ bytes: [UInt8]) {
        writeInteger(UInt32(bytes.count))
        writeBytes(bytes)
    }

    /// Runs `body`, which appends to the buffer; if it throws, takes back what it wrote, so a write that is refused
    /// leaves no partial bytes.
    mutating func writeAtomically(_ body: (inout ByteBuffer) throws(AMQPWireError) -> Void) throws(AMQPWireError) {
        let start = writerIndex
        do {
            try body(&self)
        } catch {
            moveWriterIndex(to: start)
            throw error
        }
    }

    /// Writes a 32-bit length, then what `body` writes.
    private mutating func writeLengthPrefixed(
        _ body: (inout ByteBuffer) throws(AMQPWireError) -> Void
    ) throws(AMQPWireError) {
        let lengthIndex = writerIndex
        writeInteger(UInt32(0))
        try body(&self)
        let length = writerIndex - lengthIndex - 4
        setInteger(UInt32(length), at: lengthIndex)
    }
}
