import NIOCore
import NIOHTTP1
import NIOPosix
import Simul
import Synchronization

/// What ``LocalHTTPServer`` sends back for one request.
public struct HTTPResponse: Sendable {
    /// The status code, such as 200 or 404.
    public var status: Int
    /// The `Content-Type` header.
    public var contentType: String
    /// The body; `Content-Length` is its size.
    public var body: [UInt8]

    /// Creates a response.
    /// - Parameters:
    ///   - status: the status code.
    ///   - contentType: the `Content-Type` header.
    ///   - body: the bytes to send.
    public init(status: Int = 200, contentType: String = "application/octet-stream", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// A small HTTP/1.1 server on 127.0.0.1, on a port the system picks, that can play a slow network.
///
/// The demos and benchmarks download from it instead of the internet, so they need no network and measure the same
/// thing every time. Each connection's body is throttled to `bytesPerSecond` on its own, as a far-away server
/// sends each client at the speed of its own path, which is what makes concurrent downloads worth it.
///
/// ```swift
/// let server = try await LocalHTTPServer.start(bytesPerSecond: 1_200_000) { method, path in
///     path == "/hello" ? HTTPResponse(contentType: "text/plain", body: Array("hi".utf8))
///                      : HTTPResponse(status: 404, contentType: "text/plain", body: Array("not found".utf8))
/// }
/// print(server.baseURL)   // http://127.0.0.1:41234
/// try await server.shutdown()
/// ```
///
/// Keep-alive and `Connection: close` both work, pipelined requests are answered in order, every response carries
/// `Content-Length`, and a `HEAD` request gets the headers alone.
public final class LocalHTTPServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let handlerThread: ThreadPool
    private let channel: any Channel
    private let lifecycle: Lifecycle

    /// The TCP port the server listens on.
    public let port: Int

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(group: MultiThreadedEventLoopGroup, settings: ResponderSettings, channel: any Channel, port: Int) {
        self.group = group
        self.handlerThread = settings.handlerThread
        self.lifecycle = settings.lifecycle
        self.channel = channel
        self.port = port
    }

    /// Starts a server on 127.0.0.1 and a free port.
    /// - Parameters:
    ///   - bytesPerSecond: the most body bytes per second each connection gets; nil for no limit. At least 1.
    ///   - latency: how long after a request arrives its response starts, as a round trip to a far server.
    ///   - handler: makes the response for a method (`GET`) and a path with its query (`/a/b?c=d`).
    /// - Returns: the running server; call ``shutdown()`` when done.
    /// - Throws: the system's error if the socket cannot be bound.
    public static func start(
        bytesPerSecond: Int? = nil,
        latency: Duration = .zero,
        handler: @escaping @Sendable (_ method: String, _ path: String) async -> HTTPResponse
    ) async throws -> LocalHTTPServer {
        let (group, settings, bootstrap) = makeBootstrap(
            bytesPerSecond: bytesPerSecond, latency: latency, handler: handler
        )
        do {
            let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
            return LocalHTTPServer(
                group: group, settings: settings, channel: channel, port: channel.localAddress?.port ?? 0
            )
        } catch {
            try? await group.shutdownGracefully()
            await settings.handlerThread.shutdown()
            throw error
        }
    }

    /// ``start(bytesPerSecond:latency:handler:)`` for synchronous callers, such as a benchmark that then runs a
    /// Python peer and waits for it.
    static func startBlocking(
        bytesPerSecond: Int? = nil,
        latency: Duration = .zero,
        handler: @escaping @Sendable (_ method: String, _ path: String) async -> HTTPResponse
    ) throws -> LocalHTTPServer {
        let (group, settings, bootstrap) = makeBootstrap(
            bytesPerSecond: bytesPerSecond, latency: latency, handler: handler
        )
        do {
            let channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
            return LocalHTTPServer(
                group: group, settings: settings, channel: channel, port: channel.localAddress?.port ?? 0
            )
        } catch {
            try? group.syncShutdownGracefully()
            settings.handlerThread.shutdownNow(cancelPending: false)
            throw error
        }
    }

    private static func makeBootstrap(
        bytesPerSecond: Int?,
        latency: Duration,
        handler: @escaping @Sendable (String, String) async -> HTTPResponse
    ) -> (MultiThreadedEventLoopGroup, ResponderSettings, ServerBootstrap) {
        precondition(bytesPerSecond.map { $0 >= 1 } ?? true, "bytesPerSecond must be at least 1")
        precondition(latency >= .zero, "latency cannot be negative")
        // One event loop is plenty for a few dozen throttled connections, and keeps the server's CPU off the
        // clients' cores on a small machine.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // The handler runs on a thread of the server's own, not on Swift's cooperative pool: a client in this
        // process that blocks cooperative threads (a blocking download called from async code) then cannot
        // starve the server it is waiting for.
        let handlerThread = ThreadPool(maxWorkers: 1, namePrefix: "simul-http")
        let settings = ResponderSettings(
            bytesPerSecond: bytesPerSecond, latency: latency, handlerThread: handlerThread, lifecycle: Lifecycle(),
            handler: handler
        )
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Responder(settings: settings))
                }
            }
        return (group, settings, bootstrap)
    }

    /// Stops listening, closes every connection and stops the server's thread. Calling it again does nothing.
    /// - Throws: the event loop's error if it could not shut down.
    public func shutdown() async throws {
        guard lifecycle.stop() else { return }
        try? await channel.close()
        try await group.shutdownGracefully()
        await handlerThread.shutdown()
    }

    /// ``shutdown()`` for synchronous callers; never call it on the server's own event loop.
    func shutdownBlocking() throws {
        guard lifecycle.stop() else { return }
        try? channel.close().wait()
        try group.syncShutdownGracefully()
        handlerThread.shutdownNow(cancelPending: false)
    }
}

/// Whether the server is still running, so that no handler hands a response to an event loop that has shut down.
private final class Lifecycle: Sendable {
    private let stopped = Mutex(false)

    /// Marks the server stopped; true the first time only.
    func stop() -> Bool {
        stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
    }

    /// Runs `body` unless the server has stopped, holding the lock so that ``stop()`` waits for it.
    func ifRunning(_ body: () -> Void) {
        stopped.withLock { stopped in
            if !stopped { body() }
        }
    }
}

/// What every connection's responder shares.
private struct ResponderSettings: Sendable {
    var bytesPerSecond: Int?
    var latency: Duration
    var handlerThread: ThreadPool
    var lifecycle: Lifecycle
    var handler: @Sendable (String, String) async -> HTTPResponse

    var chunkSize: Int { LocalHTTPServer.chunkSize(bytesPerSecond: bytesPerSecond) }
}

extension LocalHTTPServer {
    /// The bytes written at a time: about 50 writes a second when throttled, so the pace is smooth without waking
    /// the event loop more than needed; 64 KiB when not.
    static func chunkSize(bytesPerSecond: Int?) -> Int {
        guard let bytesPerSecond else { return 64 * 1024 }
        return min(64 * 1024, max(1, bytesPerSecond / 50))
    }
}

/// Answers one connection's requests, one at a time (`HTTPServerPipelineHandler` holds back pipelined ones).
private final class Responder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// A body being sent.
    private struct Sending {
        var body: [UInt8]
        var offset: Int
        var started: NIODeadline
        var keepAlive: Bool
    }

    private let settings: ResponderSettings
    private var head: HTTPRequestHead?
    private var sending: Sending?
    private var wakeUp: Scheduled<Void>?
    private var active = true

    init(settings: ResponderSettings) {
        self.settings = settings
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, wakeUp == nil { writeBody(context: context) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        stop()
        context.close(promise: nil)
    }

    private func stop() {
        active = false
        sending = nil
        wakeUp?.cancel()
        wakeUp = nil
    }

    /// Asks the handler for the response off the event loop, then comes back to send it once the latency is over.
    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let due = NIODeadline.now() + TimeAmount(settings.latency)
        let handler = settings.handler
        let lifecycle = settings.lifecycle
        let method = head.method.rawValue
        let path = head.uri
        Task(executorPreference: settings.handlerThread) {
            let response = await handler(method, path)
            // Once the server has stopped, its event loop may be gone; the connection is closing anyway.
            lifecycle.ifRunning {
                loop.execute {
                    let (responder, context) = bound.value
                    responder.deliver(response, due: due, for: head, context: context)
                }
            }
        }
    }

    /// Starts the response at `due`.
    private func deliver(
        _ response: HTTPResponse, due: NIODeadline, for head: HTTPRequestHead, context: ChannelHandlerContext
    ) {
        guard active else { return }
        guard due <= .now() else {
            wakeUp = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
                wakeUp = nil
                deliver(response, due: due, for: head, context: context)
            }
            return
        }
        start(response, for: head, context: context)
    }

    private func start(_ response: HTTPResponse, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        guard active else { return }
        // 1xx, 204 and 304 responses have no body, and must not say how long it is (RFC 9110, 8.6).
        let bodiless = response.status < 200 || response.status == 204 || response.status == 304
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        if !bodiless { headers.add(name: "Content-Length", value: String(response.body.count)) }
        let keepAlive = request.isKeepAlive
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let status = HTTPResponseStatus(statusCode: response.status)
        let responseHead = HTTPResponseHead(version: request.version, status: status, headers: headers)
        context.writeAndFlush(wrapOutboundOut(.head(responseHead)), promise: nil)
        let body = request.method == .HEAD || bodiless ? [] : response.body
        sending = Sending(body: body, offset: 0, started: .now(), keepAlive: keepAlive)
        writeBody(context: context)
    }

    /// Writes chunks while the channel is writable and the pace allows, then waits for writability or for the time
    /// the next chunk is due.
    private func writeBody(context: ChannelHandlerContext) {
        guard active, var sending else { return }
        let chunkSize = settings.chunkSize
        while sending.offset < sending.body.count {
            guard context.channel.isWritable else {
                self.sending = sending
                return  // channelWritabilityChanged resumes
            }
            let end = min(sending.body.count, sending.offset + chunkSize)
            if let rate = settings.bytesPerSecond {
                // The chunk ending at `end` may go once `end` bytes are due at `rate` since the body started.
                let dueNanoseconds = Int64((Double(end) / Double(rate) * 1e9).rounded(.up))
                let due = sending.started + .nanoseconds(dueNanoseconds)
                if due > .now() {
                    self.sending = sending
                    wakeUp = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
                        wakeUp = nil
                        writeBody(context: context)
                    }
                    return
                }
            }
            var buffer = context.channel.allocator.buffer(capacity: end - sending.offset)
            buffer.writeBytes(sending.body[sending.offset..<end])
            sending.offset = end
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        self.sending = nil
        let channel = context.channel
        let ended = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !sending.keepAlive {
            ended.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
