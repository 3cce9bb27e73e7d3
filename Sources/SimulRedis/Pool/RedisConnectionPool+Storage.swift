import Logging
import NIOCore
import Synchronization

extension RedisConnectionPool {
    /// Holds the state machine behind a lock, runs the reconnection loops, and resumes continuations after
    /// unlocking.
    final class Storage: Sendable {
        private typealias Waiter = CheckedContinuation<RedisConnection, any Error>

        private struct State {
            var machine: StateMachine<RedisConnection, Waiter>
            /// Each slot's connection loop, to cancel on close.
            var loops: [Int: Task<Void, Never>] = [:]
        }

        private let state: Mutex<State>
        let configuration: RedisConfiguration
        private let eventLoopGroup: any EventLoopGroup
        private let logger: Logger

        init(configuration: RedisConfiguration, size: Int, eventLoopGroup: any EventLoopGroup, logger: Logger) {
            state = Mutex(State(machine: StateMachine(size: size)))
            self.configuration = configuration
            self.eventLoopGroup = eventLoopGroup
            self.logger = logger
        }

        /// A connected connection, round-robin; waits for the first connection, and fails at once while Redis is
        /// unreachable.
        func connection() async throws -> RedisConnection {
            if let connection = state.withLock({ $0.machine.nextConnection() }) { return connection }
            return try await withCheckedThrowingContinuation { (continuation: Waiter) in
                let action = state.withLock { state in
                    let action = state.machine.lease(continuation)
                    if case .wait(let slots) = action {
                        for slot in slots { state.loops[slot] = Task { await self.connect(slot: slot) } }
                    }
                    return action
                }
                switch action {
                case .use(let connection): continuation.resume(returning: connection)
                case .fail(let error): continuation.resume(throwing: error)
                case .wait: break
                }
            }
        }

        /// Connects `slot`, retrying with backoff until it succeeds or the pool closes.
        private func connect(slot: Int) async {
            var failures = 0
            while state.withLock({ $0.machine.connecting(slot: slot) }) {
                do {
                    let connection = try await RedisConnection.connect(
                        to: configuration, eventLoopGroup: eventLoopGroup, logger: logger
                    )
                    switch state.withLock({ $0.machine.connected(slot: slot, connection: connection) }) {
                    case .keep(let waiters):
                        connection.closeFuture.whenComplete { _ in self.closed(slot: slot, connection: connection) }
                        if failures > 0 {
                            logger.info("reconnected", metadata: ["redis.endpoint": "\(configuration.endpoint)"])
                        }
                        for waiter in waiters { waiter.resume(returning: connection) }
                    case .close:
                        await connection.close()
                    }
                    return
                } catch {
                    failures += 1
                    let waiters = state.withLock { $0.machine.connectFailed(slot: slot, error: error) }
                    for waiter in waiters { waiter.resume(throwing: error) }
                    let delay = configuration.reconnectBackoff.delay(afterFailures: failures)
                    logger.debug(
                        "connection attempt failed",
                        metadata: [
                            "redis.endpoint": "\(configuration.endpoint)", "error": "\(error)", "retry-in": "\(delay)",
                        ]
                    )
                    do { try await Task.sleep(for: delay) } catch { return }
                }
            }
        }

        /// A connection closed: reconnect its slot unless the pool is closing.
        private func closed(slot: Int, connection: RedisConnection) {
            let reconnect = state.withLock { state in
                guard state.machine.connectionClosed(slot: slot, connection: connection) else { return false }
                state.loops[slot] = Task { await self.connect(slot: slot) }
                return true
            }
            if reconnect {
                logger.warning(
                    "lost the connection, reconnecting", metadata: ["redis.endpoint": "\(configuration.endpoint)"])
            }
        }

        func close() async {
            let (connections, waiters, loops) = state.withLock { state in
                let (connections, waiters) = state.machine.close()
                defer { state.loops = [:] }
                return (connections, waiters, Array(state.loops.values))
            }
            for loop in loops { loop.cancel() }
            for waiter in waiters { waiter.resume(throwing: RedisError.poolClosed) }
            for connection in connections { await connection.close() }
        }
    }
}
