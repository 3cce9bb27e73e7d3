public import Foundation

extension JSONValue {
    /// Why bytes are not one JSON value.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// What is wrong, in one line.
        public let reason: String
        /// The byte offset where it went wrong.
        public let offset: Int

        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// The deepest nesting of arrays and objects that parses; deeper input is an error rather than a stack overflow.
    public static let maximumDepth = 512

    /// Parses one JSON value (RFC 8259) from UTF-8 bytes: the fast path for messages and results, several times
    /// faster than `JSONDecoder` into ``JSONValue``. Integers that fit `Int64` (or `UInt64`) stay integers, and
    /// longer ones are kept exactly as ``JSONValue/bigInteger(_:)``; numbers with a fraction or an exponent are
    /// `Double`s.
    /// - Throws: ``ParseError`` for anything that is not exactly one JSON value: bad syntax, invalid UTF-8, a lone
    ///   surrogate, nesting deeper than ``maximumDepth``, a number past `Double`'s range (such as `1e400`, which
    ///   JSON could not carry back), or bytes after the value.
    public init(parsing bytes: some Collection<UInt8>) throws(ParseError) {
        let contiguous = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(ParseError) in try Self.parseDocument(buffer) }
        }
        if let contiguous {
            self = try contiguous.get()
        } else {
            try self.init(parsing: Array(bytes))
        }
    }

    /// Parses one JSON value from UTF-8 bytes; see ``init(parsing:)-(some Collection<UInt8>)``.
    public init(parsing bytes: [UInt8]) throws(ParseError) {
        self = try bytes.withUnsafeBufferPointer { buffer throws(ParseError) in try Self.parseDocument(buffer) }
    }

    /// Parses one JSON value from UTF-8 bytes; see ``init(parsing:)-(some Collection<UInt8>)``.
    public init(parsing data: Data) throws(ParseError) {
        let parsed = data.withUnsafeBytes { raw in
            Result { () throws(ParseError) in try Self.parseDocument(raw.bindMemory(to: UInt8.self)) }
        }
        self = try parsed.get()
    }

    private static func parseDocument(_ buffer: UnsafeBufferPointer<UInt8>) throws(ParseError) -> JSONValue {
        var parser = JSONParser(bytes: buffer)
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == buffer.count else { throw parser.error("unexpected bytes after the JSON value") }
        return value
    }
}

private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ reason: String) -> JSONValue.ParseError { JSONValue.ParseError(reason: reason, offset: position) }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end of the JSON text") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character '\(Unicode.Scalar(bytes[position]))'")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONValue.ParseError) {
        let matches = word.withUTF8Buffer { expected in
            position + expected.count <= bytes.count
                && expected.indices.allSatisfy { bytes[position + $0] == expected[$0] }
        }
        guard matches else { throw error("invalid literal, expected '\(word)'") }
        position += word.utf8CodeUnitCount
    }

    private mutating func object(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        guard depth <= JSONValue.maximumDepth else { throw error("nesting deeper than \(JSONValue.maximumDepth)") }
        position += 1
        var members: [String: JSONValue] = [:]
        members.reserveCapacity(8)
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw error("expected a string key")
            }
            let key = try string()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            members[key] = try value(depth: depth)
            if try closes(UInt8(ascii: "}")) { return .object(members) }
        }
    }

    private mutating func array(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        guard depth <= JSONValue.maximumDepth else { throw error("nesting deeper than \(JSONValue.maximumDepth)") }
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            elements.append(try value(depth: depth))
            if try closes(UInt8(ascii: "]")) { return .array(elements) }
        }
    }

    /// After a member or an element: skips a `,` and returns false, or skips `bracket` (`}` or `]`), which closes
    /// the object or the array, and returns true.
    private mutating func closes(_ bracket: UInt8) throws(JSONValue.ParseError) -> Bool {
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end of the JSON text") }
        switch bytes[position] {
        case UInt8(ascii: ","):
            position += 1
            return false
        case bracket:
            position += 1
            return true
        default: throw error("expected ',' or '\(Character(Unicode.Scalar(bracket)))'")
        }
    }

    private mutating func string() throws(JSONValue.ParseError) -> String {
        position += 1
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = try validated(UnsafeBufferPointer(rebasing: bytes[start..<position]), at: start)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { return try escapedString(from: start) }
            guard byte >= 0x20 else { throw error("unescaped control character in a string") }
            position += 1
        }
        throw error("unterminated string")
    }

    private mutating func escapedString(from start: Int) throws(JSONValue.ParseError) -> String {
        var output = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return try output.withUnsafeBufferPointer { buffer throws(JSONValue.ParseError) in
                    try validated(buffer, at: start)
                }
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw error("unterminated string") }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escape)
                case UInt8(ascii: "b"): output.append(0x08)
                case UInt8(ascii: "f"): output.append(0x0C)
                case UInt8(ascii: "n"): output.append(0x0A)
                case UInt8(ascii: "r"): output.append(0x0D)
                case UInt8(ascii: "t"): output.append(0x09)
                case UInt8(ascii: "u"): output.append(contentsOf: String(Character(try unicodeEscape())).utf8)
                default: throw error("invalid escape '\\\(Unicode.Scalar(escape))'")
                }
            default:
                guard byte >= 0x20 else { throw error("unescaped control character in a string") }
                output.append(byte)
            }
        }
        throw error("unterminated string")
    }

    /// The scalar of a `\uXXXX` escape, joining a surrogate pair.
    private mutating func unicodeEscape() throws(JSONValue.ParseError) -> Unicode.Scalar {
        let high = try hexQuad()
        if (0xD800..<0xDC00).contains(high) {
            guard position + 2 <= bytes.count, bytes[position] == UInt8(ascii: "\\"),
                bytes[position + 1] == UInt8(ascii: "u")
            else { throw error("a lone surrogate \\u\(String(high, radix: 16)) is not a character") }
            position += 2
            let low = try hexQuad()
            guard (0xDC00..<0xE000).contains(low) else { throw error("invalid surrogate pair") }
            return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
        }
        guard let scalar = Unicode.Scalar(high) else {
            throw error("a lone surrogate \\u\(String(high, radix: 16)) is not a character")
        }
        return scalar
    }

    private mutating func hexQuad() throws(JSONValue.ParseError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private func validated(_ utf8: UnsafeBufferPointer<UInt8>, at start: Int) throws(JSONValue.ParseError) -> String {
        guard let text = String(validating: utf8, as: UTF8.self) else {
            throw JSONValue.ParseError(reason: "invalid UTF-8 in a string", offset: start)
        }
        return text
    }

    private mutating func number() throws(JSONValue.ParseError) -> JSONValue {
        let start = position
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw error("invalid number") }
        if bytes[position] == UInt8(ascii: "0"), position + 1 < bytes.count, isDigit(bytes[position + 1]) {
            throw error("invalid number: leading zero")
        }
        var magnitude: UInt64 = 0
        var overflow = false
        while position < bytes.count, isDigit(bytes[position]) {
            let (times, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(UInt64(bytes[position] - UInt8(ascii: "0")))
            overflow = overflow || o1 || o2
            magnitude = plus
            position += 1
        }
        var integral = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            integral = false
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw error("invalid number") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            integral = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < bytes.count, isDigit(bytes[position]) else { throw error("invalid number") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if integral && !overflow {
            if !negative, let value = Int64(exactly: magnitude) { return .integer(value) }
            if !negative { return .unsigned(magnitude) }
            if magnitude <= UInt64(Int64.max) + 1 { return .integer(Int64(truncatingIfNeeded: 0 &- magnitude)) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        // An integer past 64 bits stays exact: as a `Double` it would silently change value (and type, for Python).
        if integral { return .bigInteger(text) }
        guard let value = Double(text) else { throw error("invalid number") }
        guard value.isFinite else { throw JSONValue.ParseError(reason: "number out of range", offset: start) }
        return .number(value)
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
