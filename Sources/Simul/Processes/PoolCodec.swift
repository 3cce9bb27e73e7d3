import Foundation

/// How task inputs and outputs cross a pool's pipes: integers, doubles and arrays of them as raw little-endian
/// bytes, everything else as JSON. Both ends are the same binary, so they agree on the types; the first byte says
/// which form follows.
///
/// The raw form matters for chunked maps over numbers: a chunk of a thousand `Int`s is one copy instead of a
/// thousand JSON numbers printed and parsed twice.
enum PoolCodec {
    private static let json: UInt8 = 0
    private static let scalar: UInt8 = 1
    private static let array: UInt8 = 2

    static func encode<T: Encodable>(_ value: T) throws -> Data {
        if let raw = encodeRaw(value) { return raw }
        var data = Data([json])
        data.append(try JSONEncoder().encode(value))
        return data
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        guard let form = data.first else { throw mismatch(T.self, "an empty message") }
        let body = data.dropFirst()
        if form == json { return try JSONDecoder().decode(T.self, from: Data(body)) }
        guard form == scalar || form == array, let kind = body.first else {
            throw mismatch(T.self, "a message of unknown form \(form)")
        }
        let bytes = body.dropFirst()
        if let value = decodeRaw(T.self, form: form, kind: kind, bytes) { return value }
        throw mismatch(T.self, "raw \(rawTypeName(kind) ?? "bytes")\(form == array ? " array" : "")")
    }

    // Each raw type, with its one-byte kind.
    private static func encodeRaw<T>(_ value: T) -> Data? {
        if T.self == Int.self { return raw(value as! Int, kind: 1) }
        if T.self == [Int].self { return raw(value as! [Int], kind: 1) }
        if T.self == UInt64.self { return raw(value as! UInt64, kind: 2) }
        if T.self == [UInt64].self { return raw(value as! [UInt64], kind: 2) }
        if T.self == Int64.self { return raw(value as! Int64, kind: 3) }
        if T.self == [Int64].self { return raw(value as! [Int64], kind: 3) }
        if T.self == Int32.self { return raw(value as! Int32, kind: 4) }
        if T.self == [Int32].self { return raw(value as! [Int32], kind: 4) }
        if T.self == UInt32.self { return raw(value as! UInt32, kind: 5) }
        if T.self == [UInt32].self { return raw(value as! [UInt32], kind: 5) }
        if T.self == Double.self { return raw((value as! Double).bitPattern, kind: 6) }
        if T.self == [Double].self { return raw((value as! [Double]).map(\.bitPattern), kind: 6) }
        return nil
    }

    private static func decodeRaw<T>(_ type: T.Type, form: UInt8, kind: UInt8, _ bytes: Data) -> T? {
        switch kind {
        case 1 where T.self == Int.self || T.self == [Int].self: return read(Int.self, form, bytes) as? T
        case 2 where T.self == UInt64.self || T.self == [UInt64].self: return read(UInt64.self, form, bytes) as? T
        case 3 where T.self == Int64.self || T.self == [Int64].self: return read(Int64.self, form, bytes) as? T
        case 4 where T.self == Int32.self || T.self == [Int32].self: return read(Int32.self, form, bytes) as? T
        case 5 where T.self == UInt32.self || T.self == [UInt32].self: return read(UInt32.self, form, bytes) as? T
        case 6 where T.self == Double.self:
            return (read(UInt64.self, form, bytes) as? UInt64).map(Double.init(bitPattern:)) as? T
        case 6 where T.self == [Double].self:
            return (read(UInt64.self, form, bytes) as? [UInt64])?.map(Double.init(bitPattern:)) as? T
        default: return nil
        }
    }

    private static func rawTypeName(_ kind: UInt8) -> String? {
        [1: "Int", 2: "UInt64", 3: "Int64", 4: "Int32", 5: "UInt32", 6: "Double"][kind]
    }

    private static func raw<I: FixedWidthInteger>(_ value: I, kind: UInt8) -> Data {
        var data = Data([scalar, kind])
        data.appendInteger(value)
        return data
    }

    private static func raw<I: FixedWidthInteger>(_ values: [I], kind: UInt8) -> Data {
        var data = Data(capacity: 2 + values.count * MemoryLayout<I>.size)
        data.append(contentsOf: [array, kind])
        values.withUnsafeBytes { data.append(contentsOf: $0) }  // little-endian hosts only; see the check below
        return data
    }

    /// A scalar or an array of `I`, or nil if the byte count does not fit.
    private static func read<I: FixedWidthInteger>(_: I.Type, _ form: UInt8, _ bytes: Data) -> Any? {
        let size = MemoryLayout<I>.size
        if form == scalar {
            guard bytes.count == size else { return nil }
            var reader = PayloadReader(bytes)
            return try? reader.integer(I.self)
        }
        guard bytes.count % size == 0 else { return nil }
        return [I](unsafeUninitializedCapacity: bytes.count / size) { buffer, count in
            bytes.copyBytes(to: UnsafeMutableRawBufferPointer(buffer))
            count = bytes.count / size
        }
    }

    private static func mismatch<T>(_ type: T.Type, _ found: String) -> DecodingError {
        DecodingError.typeMismatch(T.self, .init(codingPath: [], debugDescription: "found \(found)"))
    }
}

// The raw form copies integers in memory order, which is the wire's little-endian order only on such hosts.
#if !(arch(x86_64) || arch(arm64) || arch(i386) || arch(arm))
    #error("PoolCodec's raw arrays assume a little-endian host")
#endif
