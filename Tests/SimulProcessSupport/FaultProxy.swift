import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP proxy on 127.0.0.1 that tests put between clients and a server (Redis, RabbitMQ, PostgreSQL) to break the
/// network the way production does, after toxiproxy's model: each connection is two pipes, client to server and
/// server to client, and the proxy's ``Fault`` (switched on and off while traffic flows) acts on both.
///
/// ```swift
/// let proxy = try await FaultProxy.start(upstreamPort: redis.port)
/// proxy.fault = .partition            // nothing gets through, sockets stay open
/// proxy.fault = nil                   // healed
/// ```
package final class FaultProxy: Sendable {
    /// What the network does to the bytes, and to the connections.
    package enum Fault: Sendable, Equatable {
        /// Each chunk arrives `latency` later, give or take up to `jitter`, in order.
        case latency(Duration, jitter: Duration = .zero)
        /// At most `bytesPerSecond` each way.
        case bandwidth(bytesPerSecond: Int)
        /// A partition with no RST: both sockets stay open, nobody is told, and nothing gets through; when it heals,
        /// what was sent meanwhile arrives, in order, as TCP's retransmissions deliver it after a partition shorter
        /// than their timeout.
        case partition
        /// Every connection is reset (RST), now and as it is made, until the fault is switched off.
        case reset
        /// The server's side is closed and the client's kept open, silent: the client notices only by its own
        /// timeouts. A connection made half-open stays so when the fault is switched off (its server side is gone);
        /// connections made after that pass.
        case halfOpen
        /// A close from either side reaches the other only after `delay`.
        case slowClose(Duration)
    }

    /// The port clients connect to.
    package let port: Int
    private let upstreamPort: Int
    private let group: MultiThreadedEventLoopGroup
    private let server: any Channel
    private let state: Mutex<State>

    private struct State {
        var fault: Fault?
        var pipes: [ObjectIdentifier: Pipe] = [:]
    }

    /// The fault now; `nil` passes everything through. Switching to ``Fault/reset`` or ``Fault/halfOpen`` acts on
    /// the connections open now at once.
    package var fault: Fault? {
        get { state.withLock { $0.fault } }
        set {
            let pipes = state.withLock { state -> [Pipe] in
                state.fault = newValue
                return Array(state.pipes.values)
            }
            for pipe in pipes { pipe.apply(newValue) }
        }
    }

    /// Resets (RST) every connection open now, as a ``Fault/reset`` does, and leaves the fault as it is: the
    /// connections made next pass.
    /// - Returns: how many connections it reset.
    @discardableResult
    package func resetConnections() -> Int {
        let pipes = state.withLock { Array($0.pipes.values) }
        for pipe in pipes { pipe.resetNow() }
        return pipes.count
    }

    /// How many connections pass through the proxy now.
    package var connections: Int { state.withLock { $0.pipes.count } }

    private init(port: Int, upstreamPort: Int, group: MultiThreadedEventLoopGroup, server: any Channel) {
        self.port = port
        self.upstreamPort = upstreamPort
        self.group = group
        self.server = server
        state = Mutex(State())
    }

    /// A proxy on a free port of 127.0.0.1 to `upstreamPort` on 127.0.0.1, passing everything through.
    package static func start(upstreamPort: Int) async throws -> FaultProxy {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let holder = Holder()
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { client in
                client.eventLoop.makeCompletedFuture {
                    guard let proxy = holder.proxy else { throw ChannelError.ioOnClosedChannel }
                    try proxy.accept(client)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let proxy = FaultProxy(
            port: server.localAddress?.port ?? 0, upstreamPort: upstreamPort, group: group, server: server)
        holder.proxy = proxy
        return proxy
    }

    /// Stops listening and closes every connection.
    package func stop() async {
        try? await server.close()
        let pipes = state.withLock { state in
            defer { state.pipes = [:] }
            return Array(state.pipes.values)
        }
        for pipe in pipes { pipe.close() }
        try? await group.shutdownGracefully()
    }

    /// Pairs a new client connection with a new connection to the server.
    private func accept(_ client: any Channel) throws {
        let pipe = Pipe(client: client)
        try client.pipeline.syncOperations.addHandler(pipe.inbound(towardServer: true))
        state.withLock { $0.pipes[ObjectIdentifier(pipe)] = pipe }
        client.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLock { _ = $0.pipes.removeValue(forKey: ObjectIdentifier(pipe)) }
            pipe.close()
        }
        ClientBootstrap(group: client.eventLoop)
            .channelInitializer { server in
                server.eventLoop.makeCompletedFuture {
                    try server.pipeline.syncOperations.addHandler(pipe.inbound(towardServer: false))
                }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .whenComplete { result in
                switch result {
                case .success(let server):
                    pipe.connected(server) { self.fault }
                case .failure:
                    client.close(promise: nil)
                }
            }
    }

    /// Lets the bootstrap's initializer reach the proxy made after it.
    private final class Holder: @unchecked Sendable {
        var proxy: FaultProxy?
    }
}

/// One client connection and its connection to the server, on one event loop: all its state is touched there only.
private final class Pipe: @unchecked Sendable {
    let client: any Channel
    private var server: (any Channel)?
    private var fault: FaultProxy.Fault?
    /// Bytes from the client that arrived before the server connection was made.
    private var early: [ByteBuffer] = []
    /// Bytes held by a partition, each with its direction, delivered in order when it heals.
    private var held: [(chunk: ByteBuffer, towardServer: Bool)] = []
    /// When the last chunk each way is due, so delayed chunks keep their order.
    private var lastDue: [Bool: NIODeadline] = [:]
    private var closed = false
    /// Made half-open: the client is never told that the server's side closed, whatever the fault is now.
    private var silenced = false

    init(client: any Channel) { self.client = client }

    /// The handler on one side: what it reads goes to the other side.
    func inbound(towardServer: Bool) -> Forwarder { Forwarder(pipe: self, towardServer: towardServer) }

    /// The server side is connected: the early bytes go on, meeting the fault `current` reads. It is read on the
    /// pipe's event loop, after any ``apply(_:)`` queued before it, so a fault switched meanwhile is not undone.
    func connected(_ server: any Channel, current: @escaping @Sendable () -> FaultProxy.Fault?) {
        client.eventLoop.execute {
            self.server = server
            server.closeFuture.whenComplete { _ in self.peerClosed(towardServer: false) }
            // The early bytes meet the fault too (held by a partition, delayed by latency).
            let fault = current()
            self.fault = fault
            let early = self.early
            self.early = []
            for chunk in early { self.forward(chunk, towardServer: true) }
            self.apply(fault)
        }
    }

    /// Switches the fault: a reset or a half-open acts at once.
    func apply(_ fault: FaultProxy.Fault?) {
        client.eventLoop.execute {
            self.fault = fault
            switch fault {
            case .reset?: self.reset()
            case .halfOpen?:
                guard let server = self.server else { return }
                self.silenced = true
                server.close(promise: nil)
            case .partition?: break
            default:
                let healed = self.held
                self.held = []
                for (chunk, towardServer) in healed { self.forward(chunk, towardServer: towardServer) }
            }
        }
    }

    func read(_ chunk: ByteBuffer, towardServer: Bool) {
        guard server != nil || !towardServer else {
            early.append(chunk)
            return
        }
        forward(chunk, towardServer: towardServer)
    }

    private func forward(_ chunk: ByteBuffer, towardServer: Bool) {
        guard let target = towardServer ? server : client else { return }
        let now = NIODeadline.now()
        var due = now
        switch fault {
        case .partition?:
            held.append((chunk, towardServer))
            return
        case .halfOpen?, .reset?:
            return
        case .latency(let latency, let jitter)?:
            let spread = jitter == .zero ? 0 : Int64.random(in: -jitter.nanoseconds...jitter.nanoseconds)
            due = now + .nanoseconds(max(0, latency.nanoseconds + spread))
        case .bandwidth(let rate)?:
            let start = max(now, lastDue[towardServer] ?? now)
            due = start + .nanoseconds(Int64(chunk.readableBytes) * 1_000_000_000 / Int64(max(1, rate)))
        case .slowClose?, nil:
            break
        }
        // Never before the chunk ahead of it.
        due = max(due, lastDue[towardServer] ?? due)
        lastDue[towardServer] = due
        if due <= now {
            target.writeAndFlush(chunk, promise: nil)
        } else {
            client.eventLoop.scheduleTask(deadline: due) { target.writeAndFlush(chunk, promise: nil) }
        }
    }

    /// One side closed: the other follows, at once or after a slow close's delay; under a partition, never (the
    /// other side is not told), nor ever the client of a connection made half-open.
    func peerClosed(towardServer: Bool) {
        if silenced, !towardServer { return }
        switch fault {
        case .partition?, .halfOpen?:
            return
        case .slowClose(let delay)?:
            client.eventLoop.scheduleTask(in: .nanoseconds(delay.nanoseconds)) { self.close() }
        default:
            close()
        }
    }

    /// ``reset()`` on the pipe's event loop.
    func resetNow() {
        client.eventLoop.execute { self.reset() }
    }

    /// Closes both sides with an RST (`SO_LINGER` 0).
    private func reset() {
        for channel in [client, server].compactMap({ $0 }) {
            let linger = (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
            (linger ?? channel.eventLoop.makeSucceededVoidFuture()).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func close() {
        client.eventLoop.execute {
            guard !self.closed else { return }
            self.closed = true
            self.client.close(promise: nil)
            self.server?.close(promise: nil)
        }
    }

    /// Reads from one side of the pipe.
    final class Forwarder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let pipe: Pipe
        let towardServer: Bool

        init(pipe: Pipe, towardServer: Bool) {
            self.pipe = pipe
            self.towardServer = towardServer
        }

        func channelActive(context: ChannelHandlerContext) {
            if !towardServer || pipe.fault != .reset { return }
            pipe.reset()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            pipe.read(unwrapInboundIn(data), towardServer: towardServer)
        }

        func channelInactive(context: ChannelHandlerContext) {
            if towardServer { pipe.peerClosed(towardServer: true) }
            context.fireChannelInactive()
        }
    }
}

extension Duration {
    /// The duration in nanoseconds.
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
