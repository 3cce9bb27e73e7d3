import Foundation

/// One message between a pool and a worker: `[u32 LE length][u8 kind][u64 LE id][payload]`, where the length
/// counts the kind, the id and the payload.
struct Frame: Sendable, Equatable {
    enum Kind: UInt8, Sendable {
        /// Parent → worker, first: `[u64 max tasks (0: no limit)][u16 name length][initializer name][input]`.
        case setup = 1
        /// Parent → worker: `[u16 name length][name][u8 chunk][input]`.
        case call = 2
        /// Worker → parent, after setup: `[u32 pid]`.
        case hello = 10
        /// Worker → parent: `[u64 run nanoseconds][output]`.
        case result = 11
        /// Worker → parent: `[u8 failure kind][u16 type length][type][message]`.
        case failure = 12
        /// Worker → parent, instead of hello: the initializer failed, as a failure payload.
        case setupFailed = 13
    }

    /// Frames larger than this are treated as a broken worker.
    static let maxLength = 1 << 30

    var kind: Kind
    var id: UInt64
    var payload: Data
}

extension Data {
    mutating func appendFrame(_ kind: Frame.Kind, id: UInt64, _ parts: Data...) {
        let length = 9 + parts.reduce(0) { $0 + $1.count }
        appendInteger(UInt32(length))
        append(kind.rawValue)
        appendInteger(id)
        for part in parts { append(part) }
    }

    mutating func appendInteger<I: FixedWidthInteger>(_ value: I) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func appendString16(_ string: String) {
        let bytes = Data(string.utf8.prefix(Int(UInt16.max)))
        appendInteger(UInt16(bytes.count))
        append(bytes)
    }
}

/// Reads fields from a frame payload in order; every read checks the bounds.
struct PayloadReader {
    private let data: Data
    private var offset: Int

    init(_ data: Data) {
        self.data = data
        offset = data.startIndex
    }

    enum Failure: Error { case truncated, invalidUTF8 }

    mutating func integer<I: FixedWidthInteger>(_: I.Type) throws(Failure) -> I {
        let size = MemoryLayout<I>.size
        guard data.endIndex - offset >= size else { throw .truncated }
        var value = I.zero
        _ = Swift.withUnsafeMutableBytes(of: &value) { target in
            data.copyBytes(to: target, from: offset..<offset + size)
        }
        offset += size
        return I(littleEndian: value)
    }

    mutating func string16() throws(Failure) -> String {
        let count = Int(try integer(UInt16.self))
        guard data.endIndex - offset >= count else { throw .truncated }
        defer { offset += count }
        guard let string = String(data: data[offset..<offset + count], encoding: .utf8) else { throw .invalidUTF8 }
        return string
    }

    mutating func rest() -> Data {
        defer { offset = data.endIndex }
        return data[offset...]
    }
}

/// Bytes read from a pipe, cut into frames as they complete.
struct FrameAssembler {
    private var buffer = Data()

    enum Failure: Error { case oversized(Int), unknownKind(UInt8) }

    mutating func append(_ bytes: UnsafeRawBufferPointer) { buffer.append(contentsOf: bytes) }

    /// The next complete frame, or nil if more bytes are needed.
    mutating func next() throws(Failure) -> Frame? {
        guard buffer.count >= 4 else { return nil }
        var reader = PayloadReader(buffer)
        let length = Int((try? reader.integer(UInt32.self)) ?? 0)
        guard length >= 9, length <= Frame.maxLength else { throw .oversized(length) }
        guard buffer.count >= 4 + length else { return nil }
        let start = buffer.startIndex
        let kindByte = buffer[start + 4]
        guard let kind = Frame.Kind(rawValue: kindByte) else { throw .unknownKind(kindByte) }
        var idReader = PayloadReader(buffer[(start + 5)..<(start + 13)])
        let id = (try? idReader.integer(UInt64.self)) ?? 0
        let payload = Data(buffer[(start + 13)..<(start + 4 + length)])
        buffer.removeSubrange(start..<(start + 4 + length))
        return Frame(kind: kind, id: id, payload: payload)
    }
}
