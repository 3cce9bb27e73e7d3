extension RedisConnectionPool {
    /// The pool's bookkeeping, free of locks, tasks and I/O: every method says what to do, and the caller does it
    /// after unlocking. `Connection` is a ``RedisConnection`` in production and any object in tests; `Waiter` is a
    /// continuation in production and any token in tests.
    ///
    /// Each slot holds at most one connection. A slot starts idle and is connected on first use; after it loses
    /// its connection or fails to connect, the caller's reconnection loop drives it through `connecting` and
    /// `backingOff` until it connects again. Leases go round-robin over the connected slots, wait while a first
    /// connection is being made, and fail at once with the last connection error while every slot is backing off.
    struct StateMachine<Connection: AnyObject, Waiter> {
        enum Slot {
            case idle
            case connecting
            case connected(Connection)
            case backingOff
        }

        /// What `lease(_:)` should do.
        enum LeaseAction {
            /// Use this connection; the waiter was not kept.
            case use(Connection)
            /// Fail with this error; the waiter was not kept.
            case fail(any Error)
            /// The waiter was kept until a slot connects or every attempt fails; start connecting these slots.
            case wait(connect: [Int])
        }

        /// What to do with a connection that was just made.
        enum ConnectedAction {
            /// Keep it, and resume these waiters with it.
            case keep(resume: [Waiter])
            /// The pool was closed meanwhile: close it.
            case close
        }

        private(set) var slots: [Slot]
        private var waiters: [Waiter] = []
        private var lastError: (any Error)?
        private var nextSlot = 0
        private(set) var isClosed = false

        init(size: Int) {
            precondition(size >= 1, "a connection pool needs at least one connection, got \(size)")
            slots = Array(repeating: .idle, count: size)
        }

        /// The next connected slot's connection, round-robin, or `nil` if no slot is connected.
        mutating func nextConnection() -> Connection? {
            for offset in 0..<slots.count {
                let index = (nextSlot + offset) % slots.count
                if case .connected(let connection) = slots[index] {
                    nextSlot = (index + 1) % slots.count
                    return connection
                }
            }
            return nil
        }

        /// Finds a connection for a command, or keeps the waiter until one is made.
        mutating func lease(_ waiter: Waiter) -> LeaseAction {
            if isClosed { return .fail(RedisError.poolClosed) }
            if let connection = nextConnection() { return .use(connection) }
            let idle = slots.indices.filter { if case .idle = slots[$0] { true } else { false } }
            for index in idle { slots[index] = .connecting }
            guard slots.contains(where: Self.isConnecting) else {
                // Every slot is backing off after a failed attempt, so `lastError` is that attempt's error.
                return .fail(lastError ?? RedisError.connectionClosed("no connection to redis"))
            }
            waiters.append(waiter)
            return .wait(connect: idle)
        }

        /// A connection attempt for `slot` starts.
        /// - Returns: `false` if the pool is closed and the attempt should not be made.
        mutating func connecting(slot: Int) -> Bool {
            guard !isClosed else { return false }
            slots[slot] = .connecting
            return true
        }

        /// The attempt for `slot` made `connection`.
        mutating func connected(slot: Int, connection: Connection) -> ConnectedAction {
            guard !isClosed else { return .close }
            slots[slot] = .connected(connection)
            lastError = nil
            defer { waiters = [] }
            return .keep(resume: waiters)
        }

        /// The attempt for `slot` failed; the slot backs off before its next attempt.
        /// - Returns: the waiters to fail with `error`, if no other attempt is under way.
        mutating func connectFailed(slot: Int, error: any Error) -> [Waiter] {
            guard !isClosed else { return [] }
            lastError = error
            slots[slot] = .backingOff
            if slots.contains(where: Self.isConnecting) { return [] }
            defer { waiters = [] }
            return waiters
        }

        /// `connection` closed (the server went away, or someone closed it).
        /// - Returns: whether to reconnect `slot`; `false` if the pool is closed or the slot has moved on.
        mutating func connectionClosed(slot: Int, connection: Connection) -> Bool {
            guard !isClosed, case .connected(let current) = slots[slot], current === connection else { return false }
            slots[slot] = .connecting
            return true
        }

        private static func isConnecting(_ slot: Slot) -> Bool {
            if case .connecting = slot { true } else { false }
        }

        /// Closes the pool.
        /// - Returns: the connections to close and the waiters to fail.
        mutating func close() -> (connections: [Connection], waiters: [Waiter]) {
            isClosed = true
            let connections = slots.compactMap { if case .connected(let connection) = $0 { connection } else { nil } }
            slots = Array(repeating: .idle, count: slots.count)
            defer { waiters = [] }
            return (connections, waiters)
        }
    }
}
