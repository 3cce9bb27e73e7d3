import NIOCore
import NIOPosix

/// The chat row's server, on SwiftNIO and 127.0.0.1: a line protocol where each `SAY text` is answered, after a
/// short delay (a moderation check), with `n TEXT`: the message's number on its connection and the text in
/// capitals. The delay is a scheduled timer, so the server's one thread never blocks.
final class ChatServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// The port it listens on.
    let port: Int

    private init(group: MultiThreadedEventLoopGroup, channel: any Channel) {
        self.group = group
        self.channel = channel
        port = channel.localAddress?.port ?? 0
    }

    /// Starts a server whose replies each take `delay`.
    static func start(delay: TimeAmount) async throws -> ChatServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder()))
                    try channel.pipeline.syncOperations.addHandler(ChatHandler(delay: delay))
                }
            }
        do {
            return ChatServer(group: group, channel: try await bootstrap.bind(host: "127.0.0.1", port: 0).get())
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    func shutdown() async throws {
        try? await channel.close()
        try await group.shutdownGracefully()
    }

    /// The reply the server sends to the `number`-th message `text` of a connection (numbered from 1).
    static func reply(to text: String, number: Int) -> String { "\(number) \(text.uppercased())" }
}

/// Splits a byte stream into lines, without their `\n`.
struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return .needMoreData }
        let length = newline - buffer.readerIndex
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(NIOAny(line))
        return .continue
    }
}

/// One connection's side of the chat.
private final class ChatHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let delay: TimeAmount
    private var received = 0

    init(delay: TimeAmount) {
        self.delay = delay
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = String(buffer: unwrapInboundIn(data))
        guard line.hasPrefix("SAY ") else {
            context.close(promise: nil)
            return
        }
        received += 1
        let reply = ChatServer.reply(to: String(line.dropFirst(4)), number: received) + "\n"
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: delay) {
            let context = bound.value
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: reply)), promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
