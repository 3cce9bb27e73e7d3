import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

// STAND-IN: a minimal server with the agreed API so the table demo builds on its own branch. The real one comes
// from the wikipics branch and replaces this file at the merge.

/// What ``LocalHTTPServer`` sends back for one request.
public struct HTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// The `Content-Type` header.
    public var contentType: String
    /// The body; `Content-Length` is its size.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int = 200, contentType: String = "application/octet-stream", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// A small HTTP/1.1 server on 127.0.0.1 and a free port, with a per-request latency and a per-connection throttle.
public final class LocalHTTPServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let stopped = Mutex(false)

    /// The TCP port the server listens on.
    public let port: Int

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(group: MultiThreadedEventLoopGroup, channel: any Channel, port: Int) {
        self.group = group
        self.channel = channel
        self.port = port
    }

    /// Starts a server on 127.0.0.1.
    /// - Parameters:
    ///   - bytesPerSecond: the most body bytes per second each connection gets; nil for no limit.
    ///   - latency: how long after a request arrives its response starts.
    ///   - handler: makes the response for a method and a path.
    /// - Returns: the running server.
    public static func start(
        bytesPerSecond: Int? = nil,
        latency: Duration = .zero,
        handler: @escaping @Sendable (_ method: String, _ path: String) async -> HTTPResponse
    ) async throws -> LocalHTTPServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let settings = StandInSettings(bytesPerSecond: bytesPerSecond, latency: latency, handler: handler)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(StandInResponder(settings: settings))
                }
            }
        do {
            let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
            return LocalHTTPServer(group: group, channel: channel, port: channel.localAddress?.port ?? 0)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Stops listening and stops the server's thread; calling it again does nothing.
    public func shutdown() async throws {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        try? await channel.close()
        try await group.shutdownGracefully()
    }
}

private struct StandInSettings: Sendable {
    var bytesPerSecond: Int?
    var latency: Duration
    var handler: @Sendable (String, String) async -> HTTPResponse
}

private final class StandInResponder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let settings: StandInSettings
    private var head: HTTPRequestHead?

    init(settings: StandInSettings) {
        self.settings = settings
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let settings = settings
        Task {
            let due = ContinuousClock.now + settings.latency
            let response = await settings.handler(head.method.rawValue, head.uri)
            try? await Task.sleep(until: due)
            loop.execute {
                let (responder, context) = bound.value
                responder.send(response, head: head, context: context)
            }
        }
    }

    private func send(_ response: HTTPResponse, head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Connection", value: head.isKeepAlive ? "keep-alive" : "close")
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil)
        let body = head.method == .HEAD ? [] : response.body
        let chunk = settings.bytesPerSecond.map { max(1, $0 / 50) } ?? max(1, body.count)
        writeChunks(body, from: 0, chunk: chunk, started: .now(), keepAlive: head.isKeepAlive, context: context)
    }

    private func writeChunks(
        _ body: [UInt8], from offset: Int, chunk: Int, started: NIODeadline, keepAlive: Bool,
        context: ChannelHandlerContext
    ) {
        guard context.channel.isActive else { return }
        if offset >= body.count {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
            return
        }
        let end = min(body.count, offset + chunk)
        if let rate = settings.bytesPerSecond {
            let due = started + .nanoseconds(Int64(Double(end) / Double(rate) * 1e9))
            if due > .now() {
                context.eventLoop.assumeIsolated().scheduleTask(deadline: due) {
                    self.writeChunks(
                        body, from: offset, chunk: chunk, started: started, keepAlive: keepAlive,
                        context: context)
                }
                return
            }
        }
        var buffer = context.channel.allocator.buffer(capacity: end - offset)
        buffer.writeBytes(body[offset..<end])
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        writeChunks(body, from: end, chunk: chunk, started: started, keepAlive: keepAlive, context: context)
    }
}
