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
        /// Worker → parent, while the call with this id runs: `[payload]`, what its task sent through
        /// ``ProcessTaskUpdates``.
        case update = 14
    }

    /// Frames larger than this are treated as a broken worker.
    static let maxLength = 1 << 30

    var kind: Kind
    var id: UInt64
    var payload: Data
}

extension Data {
    /// Writes as much of the data to `descriptor` as it takes without blocking (all of it for a blocking one),
    /// retrying after signals.
    /// - Returns: the number of bytes written, or nil if the descriptor failed (a closed pipe, for instance).
    func write(to descriptor: Int32) -> Int? {
        withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let count = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN { break }
                    return nil
                }
                offset += count
            }
            return offset
        }
    }

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

    /// Appends a `call` frame without building its parts separately.
    mutating func appendCallFrame(id: UInt64, name: String, chunk: Bool, body: Data) {
        let nameLength = name.utf8.count
        appendInteger(UInt32(9 + 2 + nameLength + 1 + body.count))
        append(Frame.Kind.call.rawValue)
        appendInteger(id)
        appendInteger(UInt16(nameLength))
        append(contentsOf: name.utf8)
        append(chunk ? 1 : 0)
        append(body)
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
    private var buffer: [UInt8] = []
    /// Where the next frame starts; consumed bytes are dropped in bulk, not one frame at a time.
    private var start = 0

    enum Failure: Error { case oversized(Int), unknownKind(UInt8) }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or nil if more bytes are needed.
    mutating func next() throws(Failure) -> Frame? {
        let available = buffer.count - start
        guard available >= 4 else { return nil }
        let length = Int(integer(UInt32.self, at: start))
        guard length >= 9, length <= Frame.maxLength else { throw .oversized(length) }
        guard available >= 4 + length else { return nil }
        guard let kind = Frame.Kind(rawValue: buffer[start + 4]) else { throw .unknownKind(buffer[start + 4]) }
        let id = integer(UInt64.self, at: start + 5)
        let payload = Data(buffer[(start + 13)..<(start + 4 + length)])
        start += 4 + length
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        return Frame(kind: kind, id: id, payload: payload)
    }

    private func integer<I: FixedWidthInteger>(_: I.Type, at offset: Int) -> I {
        var value = I.zero
        for index in 0..<MemoryLayout<I>.size { value |= I(buffer[offset + index]) << (8 * index) }
        return value
    }
}
