import NIOCore

/// Turns the bytes a channel reads into ``RESPValue``s with a ``RESPParser``.
struct RESPDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue

    private var parser: RESPParser

    init(limits: RESPParser.Limits) {
        parser = RESPParser(limits: limits)
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try parser.next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(value))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        try decode(context: context, buffer: &buffer)
    }
}
