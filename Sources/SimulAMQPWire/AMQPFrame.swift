public import NIOCore

/// One AMQP 0-9-1 frame: `type u8 | channel u16 | size u32 | payload | 0xCE`.
public struct AMQPFrame: Sendable, Hashable {
    /// What the payload holds.
    public enum Kind: UInt8, Sendable, Hashable {
        /// A method (``AMQPMethod``).
        case method = 1
        /// A content header (``AMQPContentHeader``), after a method that carries content.
        case header = 2
        /// A piece of a content body.
        case body = 3
        /// A heartbeat, on channel 0, with no payload.
        case heartbeat = 8
    }

    public var kind: Kind
    public var channel: UInt16
    public var payload: ByteBuffer

    public init(kind: Kind, channel: UInt16, payload: ByteBuffer) {
        self.kind = kind
        self.channel = channel
        self.payload = payload
    }

    /// A heartbeat frame.
    public static let heartbeat = AMQPFrame(kind: .heartbeat, channel: 0, payload: ByteBuffer())

    /// What a client sends first: `AMQP 0 0 9 1`.
    public static let protocolHeader: [UInt8] = Array("AMQP".utf8) + [0, 0, 9, 1]

    /// The bytes a frame adds around its payload.
    public static let overhead = 8

    /// Appends the frame to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(channel)
        buffer.writeInteger(UInt32(payload.readableBytes))
        buffer.writeImmutableBuffer(payload)
        buffer.writeInteger(UInt8(0xCE))
    }
}

/// Reads frames out of a growing `ByteBuffer`, as bytes arrive.
///
/// Call ``next(from:)`` with the same buffer each time more bytes are appended: it returns `nil` until a whole frame
/// is there. A frame larger than ``maxFrameSize`` (the `frame_max` the connection agreed) throws before its payload
/// arrives, so a hostile size cannot make it wait for, or hold, more than that. After it throws, the stream is
/// unusable: close the connection.
///
/// ```swift
/// var parser = AMQPFrameParser(maxFrameSize: 131_072)
/// while let frame = try parser.next(from: &buffer) { handle(frame) }
/// ```
public struct AMQPFrameParser: Sendable {
    /// The largest frame accepted, overhead included: the agreed `frame_max`, or 0 for no limit but the 32-bit size.
    public var maxFrameSize: Int

    public init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    /// The next whole frame, or `nil` if the buffer does not hold one yet (it keeps the partial bytes).
    /// - Throws: ``AMQPWireError`` for an unknown frame type, a frame over the limit, a frame that does not end with
    ///   `0xCE`, or a server that answered with another protocol version's header.
    public mutating func next(from buffer: inout ByteBuffer) throws(AMQPWireError) -> AMQPFrame? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        if type == UInt8(ascii: "A") {
            guard let header = buffer.getBytes(at: buffer.readerIndex, length: 8) else { return nil }
            throw .otherProtocol(header)
        }
        guard let kind = AMQPFrame.Kind(rawValue: type) else { throw .unknownFrameType(type) }
        guard let size = buffer.getInteger(at: buffer.readerIndex + 3, as: UInt32.self) else { return nil }
        let total = Int(size) + AMQPFrame.overhead
        if maxFrameSize > 0, total > maxFrameSize { throw .frameTooLarge(total, limit: maxFrameSize) }
        guard buffer.readableBytes >= total else { return nil }
        let end = buffer.getInteger(at: buffer.readerIndex + total - 1, as: UInt8.self) ?? 0
        guard end == 0xCE else { throw .missingFrameEnd(end) }
        let channel = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt16.self) ?? 0
        let payload = buffer.getSlice(at: buffer.readerIndex + 7, length: Int(size)) ?? ByteBuffer()
        buffer.moveReaderIndex(forwardBy: total)
        return AMQPFrame(kind: kind, channel: channel, payload: payload)
    }
}
