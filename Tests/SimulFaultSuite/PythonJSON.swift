/// JSON with its keys in the order given, written as Python's `json.dumps` writes it by default (`", "` and
/// `": "` between items, non-ASCII as `\uXXXX`), so the poison scenario's envelopes are the bytes a Python client
/// would put on the queue.
indirect enum PythonJSON {
    case string(String)
    /// A string known to need no escaping (base64, a run of `x`), written as it is without looking at each byte.
    case safeString(String)
    case integer(Int)
    case bool(Bool)
    case null
    case array([PythonJSON])
    case object([(String, PythonJSON)])

    /// The member `key` of an object; setting `nil` removes it, as Python's `del` does.
    subscript(key: String) -> PythonJSON? {
        get {
            guard case .object(let members) = self else { return nil }
            return members.first { $0.0 == key }?.1
        }
        set {
            guard case .object(var members) = self else { preconditionFailure("\(key) of a value that is no object") }
            if let index = members.firstIndex(where: { $0.0 == key }) {
                if let newValue { members[index].1 = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key, newValue))
            }
            self = .object(members)
        }
    }

    /// The value as `json.dumps(value)` writes it.
    var text: String {
        switch self {
        case .string(let value): Self.quoted(value)
        case .safeString(let value): "\"" + value + "\""
        case .integer(let value): String(value)
        case .bool(let value): value ? "true" : "false"
        case .null: "null"
        case .array(let items): "[" + items.map(\.text).joined(separator: ", ") + "]"
        case .object(let members):
            "{" + members.map { Self.quoted($0.0) + ": " + $0.1.text }.joined(separator: ", ") + "}"
        }
    }

    /// The value as Python's `repr()` shows it, for a message's `argsrepr`: `[123, 'slow']`.
    var repr: String {
        switch self {
        case .string(let value), .safeString(let value): "'" + value + "'"
        case .integer(let value): String(value)
        case .bool(let value): value ? "True" : "False"
        case .null: "None"
        case .array(let items): "[" + items.map(\.repr).joined(separator: ", ") + "]"
        case .object(let members): "{" + members.map { "'\($0.0)': \($0.1.repr)" }.joined(separator: ", ") + "}"
        }
    }

    private static func quoted(_ value: String) -> String {
        var output = "\""
        for unit in value.utf16 {
            switch unit {
            case 0x22: output += "\\\""
            case 0x5C: output += "\\\\"
            case 0x0A: output += "\\n"
            case 0x0D: output += "\\r"
            case 0x09: output += "\\t"
            case 0x20..<0x7F: output.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            default:
                let hex = String(unit, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return output + "\""
    }
}
