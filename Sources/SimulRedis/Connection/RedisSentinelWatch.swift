import Logging
import NIOCore
import Synchronization
import SimulRESP

/// Follows a sentinel deployment's `+switch-master` announcements and closes the connections made to a master the
/// sentinels have replaced, so that each one's next use asks the sentinels again.
///
/// A master that is killed or demoted closes its connections or refuses their writes (`READONLY`) by itself. This
/// covers the master that the sentinels lost sight of while this client still reaches it: without the watch, the
/// client would go on writing to it until it comes back as a replica and drops what it was given.
///
/// One watch serves every connection of a process to the same deployment. It holds one connection to a sentinel,
/// subscribed to `+switch-master`, while it tracks any connection, and moves to the next sentinel when that one is
/// lost.
final class RedisSentinelWatch: Sendable {
    private struct Tracked {
        let channel: any Channel
        let master: RedisSentinel.Endpoint
    }

    private struct State {
        var tracked: [ObjectIdentifier: Tracked] = [:]
        var listening: Task<Void, Never>?
    }

    private static let watches = Mutex<[RedisSentinel: RedisSentinelWatch]>([:])

    private let sentinel: RedisSentinel
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())

    private init(sentinel: RedisSentinel, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.sentinel = sentinel
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Closes `connection`, made to `master`, when the sentinels of `sentinel` name another master; it stops being
    /// tracked when it closes.
    static func track(
        _ connection: RedisConnection, master: RedisSentinel.Endpoint, sentinel: RedisSentinel,
        eventLoopGroup: any EventLoopGroup, logger: Logger
    ) {
        let watch = watches.withLock { watches in
            if let watch = watches[sentinel] { return watch }
            let watch = RedisSentinelWatch(sentinel: sentinel, eventLoopGroup: eventLoopGroup, logger: logger)
            watches[sentinel] = watch
            return watch
        }
        watch.track(connection.channel, master: master)
    }

    private func track(_ channel: any Channel, master: RedisSentinel.Endpoint) {
        let key = ObjectIdentifier(channel)
        state.withLock { state in
            state.tracked[key] = Tracked(channel: channel, master: master)
            if state.listening == nil { state.listening = Task { await self.listen() } }
        }
        channel.closeFuture.whenComplete { _ in
            let listening = self.state.withLock { state -> Task<Void, Never>? in
                state.tracked[key] = nil
                guard state.tracked.isEmpty else { return nil }
                defer { state.listening = nil }
                return state.listening
            }
            listening?.cancel()
        }
    }

    /// Closes every tracked connection whose master is not `master`.
    private func closeAll(notAt master: RedisSentinel.Endpoint) {
        let stale = state.withLock { state in state.tracked.values.filter { $0.master != master } }
        guard !stale.isEmpty else { return }
        logger.warning(
            "the sentinels switched '\(sentinel.masterName)' to \(master): closing \(stale.count) connections to the old master"
        )
        for tracked in stale { tracked.channel.close(promise: nil) }
    }

    /// Subscribes to `+switch-master` on one sentinel after another, until cancelled.
    private func listen() async {
        var failures = 0
        while !Task.isCancelled {
            for endpoint in sentinel.sentinels where !Task.isCancelled {
                if await follow(endpoint) { failures = 0 }
            }
            failures += 1
            let delay = RedisBackoff().delay(afterFailures: failures)
            do { try await Task.sleep(for: delay) } catch { return }
        }
    }

    /// Follows the announcements of the sentinel at `endpoint` until its connection is lost or the task is
    /// cancelled. After subscribing it asks where the master is, so a switch made before the subscription counts.
    /// - Returns: whether it subscribed.
    private func follow(_ endpoint: RedisSentinel.Endpoint) async -> Bool {
        let (messages, continuation) = AsyncStream.makeStream(of: RedisMessage.self)
        let connection: RedisConnection
        do {
            connection = try await RedisConnection.connect(
                to: sentinel.configuration(for: endpoint), eventLoopGroup: eventLoopGroup, logger: logger,
                messages: continuation)
        } catch {
            return false
        }
        connection.closeFuture.whenComplete { _ in continuation.finish() }
        return await withTaskCancellationHandler {
            do {
                try await connection.sendPubSub([["SUBSCRIBE", "+switch-master"]]).get()
                closeAll(
                    notAt: try await sentinel.master(
                        timeout: .seconds(1), eventLoopGroup: eventLoopGroup, logger: logger))
            } catch {
                await connection.close()
                return false
            }
            for await message in messages {
                // "<master name> <old ip> <old port> <new ip> <new port>"
                let fields = String(buffer: message.payload).split(separator: " ")
                guard fields.count == 5, fields[0] == sentinel.masterName, let port = Int(fields[4]) else { continue }
                closeAll(notAt: RedisSentinel.Endpoint(host: String(fields[3]), port: port))
            }
            return true
        } onCancel: {
            connection.channel.close(promise: nil)
        }
    }
}
