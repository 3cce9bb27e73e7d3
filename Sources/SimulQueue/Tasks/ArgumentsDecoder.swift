import SimulJSON

/// Decodes a typed task's arguments from one call's Celery `args` and `kwargs`: the keyed container's keys are the
/// parameter names, and each key asked for takes the next positional argument while there is one (``ArgumentBinding``).
///
/// The arguments are a keyed type at the top level; each property's value is decoded from its `JSONValue`.
struct ArgumentsDecoder: Decoder {
    let binding: ArgumentBinding

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// Decodes `type` from `args` and `kwargs`, and checks that every argument was taken.
    /// - Throws: ``TaskError`` `TypeError` when the call does not fit; what the type's `init(from:)` throws.
    static func decode<T: Decodable>(
        _ type: T.Type, task: String, args: [JSONValue], kwargs: [String: JSONValue]
    ) throws -> T {
        let binding = ArgumentBinding(task: task, args: args, kwargs: kwargs)
        let value = try T(from: ArgumentsDecoder(binding: binding))
        try binding.finish()
        return value
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Container(binding: binding))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw notKeyed }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { throw notKeyed }

    private var notKeyed: TaskError {
        .typeError("\(binding.task)() has arguments that are not a keyed type: they cannot bind args and kwargs")
    }

    private struct Container<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let binding: ArgumentBinding

        var codingPath: [any CodingKey] { [] }
        /// The keyword arguments' names; a positional argument has one only once its key is asked for.
        var allKeys: [Key] { binding.keywords.compactMap(Key.init(stringValue:)) }

        /// Whether the call gives the argument; one given twice counts, so that decoding it throws the `TypeError`.
        func contains(_ key: Key) -> Bool {
            do {
                return try binding.value(for: key.stringValue) != nil
            } catch {
                return true
            }
        }

        func decodeNil(forKey key: Key) throws -> Bool { (try binding.value(for: key.stringValue) ?? .null) == .null }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try binding.decode(type, for: key.stringValue)
        }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
            try binding.decode(type, for: key.stringValue)
        }
        func decode(_ type: String.Type, forKey key: Key) throws -> String {
            try binding.decode(type, for: key.stringValue)
        }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
            try binding.decode(type, for: key.stringValue)
        }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
            try binding.decode(type, for: key.stringValue)
        }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try binding.decode(type, for: key.stringValue) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
            try binding.decode(type, for: key.stringValue)
        }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
            try binding.decode(type, for: key.stringValue)
        }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
            try binding.decode(type, for: key.stringValue)
        }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
            try binding.decode(type, for: key.stringValue)
        }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
            try binding.decode(type, for: key.stringValue)
        }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
            try binding.decode(type, for: key.stringValue)
        }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
            try binding.decode(type, for: key.stringValue)
        }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
            try binding.decode(type, for: key.stringValue)
        }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
            try binding.decode(type, for: key.stringValue)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            throw notDecodedByKey(key)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw notDecodedByKey(key)
        }

        func superDecoder() throws -> any Decoder { throw notDecodedByKey(nil) }

        func superDecoder(forKey key: Key) throws -> any Decoder { throw notDecodedByKey(key) }

        private func notDecodedByKey(_ key: Key?) -> TaskError {
            .typeError(
                "\(binding.task)() decodes \(key.map { "'\($0.stringValue)'" } ?? "its arguments") through a nested "
                    + "container: each argument must be decoded with decode(_:forKey:)")
        }
    }
}
