package import NIOCore

/// Turns the bytes a channel reads into ``RESPValue``s with a ``RESPParser``.
package struct RESPDecoder: ByteToMessageDecoder {
    package typealias InboundOut = RESPValue

    private var parser: RESPParser

    package init(limits: RESPParser.Limits) {
        parser = RESPParser(limits: limits)
    }

    package mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try parser.next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(value))
        return .continue
    }

    package mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        try decode(context: context, buffer: &buffer)
    }
}
