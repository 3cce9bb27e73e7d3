import Foundation

/// A JSON value: task arguments and results in the queue, demo results in `simul demo --json`.
///
/// Numbers keep what their JSON text said: an integer literal is ``integer(_:)``, ``unsigned(_:)`` or, past 64 bits,
/// ``bigInteger(_:)``; a literal with a fraction or an exponent is ``number(_:)``. Python clients send integers of
/// any size, and an integer read as a `Double` would silently change value above 2^53.
public enum JSONValue: Codable, Sendable, Equatable {
    case string(String)
    case number(Double)
    case integer(Int64)
    case unsigned(UInt64)
    /// An integer outside `Int64` and `UInt64` (such as Python's `2**70`), kept exactly as its decimal digits, with
    /// a leading `-` when negative and no leading zeros: `.bigInteger("1180591620717411303424")`.
    ///
    /// ``init(parsing:)-(some Collection<UInt8>)`` makes these, and ``jsonText`` writes the digits back unchanged.
    /// ``doubleValue`` is the nearest `Double`, as Python's `float(n)` is; ``intValue`` is `nil`. `Codable`
    /// (`JSONEncoder`, `JSONDecoder`) has no integers past 64 bits: encoding writes the digits as a `Decimal` (exact up
    /// to 38 digits, else the nearest `Double`), and decoding never makes this case, so prefer ``jsonBytes`` and
    /// ``init(parsing:)-(some Collection<UInt8>)`` where exactness matters. Text that is not such an integer is a
    /// programmer error, and writing it traps.
    case bigInteger(String)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .unsigned(let value): try container.encode(value)
        case .bigInteger(let digits):
            // `JSONEncoder` writes a `Decimal`'s digits, exact up to 38 of them; past that, the nearest `Double`.
            if let decimal = Decimal(string: digits), decimal.description == digits {
                try container.encode(decimal)
            } else {
                try container.encode(Self.nearestDouble(digits))
            }
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .unsigned(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}

extension JSONValue {
    /// The value as compact JSON text, with sorted keys. Non-finite numbers, which JSON cannot spell, are `null`.
    public var jsonText: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// The value as compact JSON, UTF-8 encoded; a direct writer, several times faster than `JSONEncoder`.
    public var jsonBytes: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(64)
        write(to: &output)
        return output
    }

    private func write(to output: inout [UInt8]) {
        switch self {
        case .string(let value): Self.writeString(value, to: &output)
        case .number(let value):
            if value.isFinite {
                output.append(contentsOf: value.description.utf8)
            } else {
                output.append(contentsOf: "null".utf8)
            }
        case .integer(let value): output.append(contentsOf: String(value).utf8)
        case .unsigned(let value): output.append(contentsOf: String(value).utf8)
        case .bigInteger(let digits):
            precondition(Self.isBigInteger(digits), "JSONValue.bigInteger(\"\(digits)\") is not an integer literal")
            output.append(contentsOf: digits.utf8)
        case .bool(let value): output.append(contentsOf: (value ? "true" : "false").utf8)
        case .null: output.append(contentsOf: "null".utf8)
        case .array(let values):
            output.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                value.write(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Self.writeString(key, to: &output)
                output.append(UInt8(ascii: ":"))
                members[key]!.write(to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ value: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            var start = 0
            for (index, byte) in bytes.enumerated()
            where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                start = index + 1
                output.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\n"): output.append(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): output.append(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): output.append(UInt8(ascii: "t"))
                case 0..<0x20:
                    output.append(contentsOf: "u00".utf8)
                    output.append(hexDigits[Int(byte >> 4)])
                    output.append(hexDigits[Int(byte & 0xF)])
                default: output.append(byte)
                }
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
        output.append(UInt8(ascii: "\""))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Encodes any `Encodable` value as a JSON value.
    /// - Throws: `EncodingError` when the value cannot be encoded.
    public init(encoding value: some Encodable) throws {
        if let value = value as? JSONValue {
            self = value
            return
        }
        self = try JSONDecoder().decode(JSONValue.self, from: JSONValue.compactEncoder.encode(value))
    }

    /// Decodes this value as `type`.
    /// - Throws: `DecodingError` when the value does not have the shape of `type`.
    public func decode<T: Decodable>(as type: T.Type) throws -> T {
        if let value = self as? T { return value }
        // Containers of JSON values skip the `Codable` round trip, which would turn big integers into doubles.
        if case .array(let elements) = self, let value = elements as? T { return value }
        if case .object(let members) = self, let value = members as? T { return value }
        return try JSONDecoder().decode(T.self, from: JSONValue.compactEncoder.encode(self))
    }

    /// The string, if this is one.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number as an `Int`, if this is an integral number that fits.
    public var intValue: Int? {
        switch self {
        case .integer(let value): return Int(exactly: value)
        case .unsigned(let value): return Int(exactly: value)
        case .number(let value): return Int(exactly: value)
        default: return nil
        }
    }

    /// The number as a `Double`, if this is a number.
    public var doubleValue: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .unsigned(let value): return Double(value)
        case .bigInteger(let digits): return Self.nearestDouble(digits)
        case .number(let value): return value
        default: return nil
        }
    }

    /// The `Double` nearest an integer's digits: `±infinity` past `Double`'s range.
    private static func nearestDouble(_ digits: String) -> Double {
        Double(digits) ?? (digits.hasPrefix("-") ? -.infinity : .infinity)
    }

    /// Whether `digits` spells an integer as JSON does: an optional `-`, then `0` or digits without a leading zero.
    private static func isBigInteger(_ digits: String) -> Bool {
        let magnitude = digits.utf8.first == UInt8(ascii: "-") ? digits.utf8.dropFirst() : digits.utf8[...]
        guard let first = magnitude.first else { return false }
        return (first != UInt8(ascii: "0") || magnitude.count == 1)
            && magnitude.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members, if this is an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The member named `key`, if this is an object that has it.
    public subscript(key: String) -> JSONValue? { objectValue?[key] }

    private static let compactEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    /// Creates the value a JSON literal spells.
    public init(stringLiteral value: String) { self = .string(value) }
    /// Creates the value a JSON literal spells.
    public init(integerLiteral value: Int64) { self = .integer(value) }
    /// Creates the value a JSON literal spells.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// Creates the value a JSON literal spells.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// Creates the value a JSON literal spells.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// Creates the value a JSON literal spells.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    /// Creates the value a JSON literal spells.
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: CustomStringConvertible {
    /// The compact JSON text: `5`, `"text"`, `[1,2]`.
    public var description: String { jsonText }
}
