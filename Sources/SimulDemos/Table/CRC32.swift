/// CRC-32 (IEEE 802.3, as zlib and PNG use it), eight bytes at a time: the checksum every scenario compares across
/// models.
package struct CRC32: Sendable, Hashable {
    /// The checksum of the bytes so far.
    package private(set) var value: UInt32 = 0

    /// Starts an empty checksum.
    package init() {}

    /// The checksum of `bytes`.
    package init(_ bytes: some Sequence<UInt8>) {
        update(bytes)
    }

    /// Adds `bytes`.
    package mutating func update(_ bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(buffer: UnsafeRawBufferPointer($0)) }
        if done == nil { update(buffer: Array(bytes)) }
    }

    /// Adds a value's bytes, little-endian, so checksums of numbers mean the same on every host.
    package mutating func update<I: FixedWidthInteger>(integer: I) {
        withUnsafeBytes(of: integer.littleEndian) { update(buffer: $0) }
    }

    private mutating func update(buffer: [UInt8]) {
        buffer.withUnsafeBytes { update(buffer: $0) }
    }

    /// Adds raw bytes, slicing by eight: eight table look-ups per eight bytes, without a loop-carried dependency
    /// between them.
    package mutating func update(buffer: UnsafeRawBufferPointer) {
        let tables = Self.tables
        var crc = ~value
        var index = 0
        let count = buffer.count
        tables.withUnsafeBufferPointer { table in
            while index + 8 <= count {
                let low = buffer.loadUnaligned(fromByteOffset: index, as: UInt32.self).littleEndian ^ crc
                let high = buffer.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self).littleEndian
                crc =
                    table[7 * 256 + Int(low & 0xFF)] ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xFF)] ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(high & 0xFF)] ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ table[1 * 256 + Int((high >> 16) & 0xFF)] ^ table[Int(high >> 24)]
                index += 8
            }
            while index < count {
                crc = table[Int((crc ^ UInt32(buffer[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        value = ~crc
    }

    /// Eight 256-entry tables; table k advances a byte through k further zero bytes.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            tables[byte] = crc
        }
        for byte in 0..<256 {
            for table in 1..<8 {
                let previous = tables[(table - 1) * 256 + byte]
                tables[table * 256 + byte] = tables[Int(previous & 0xFF)] ^ (previous >> 8)
            }
        }
        return tables
    }()
}

extension CRC32: CustomStringConvertible {
    /// Eight hex digits.
    package var description: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}
