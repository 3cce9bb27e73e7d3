import Testing

@testable import SimulRedis

@Suite struct RedisConnectionPoolStateMachineTests {
    final class Connection: Sendable, CustomStringConvertible {
        let name: String
        init(_ name: String) { self.name = name }
        var description: String { name }
    }

    struct Failure: Error, Equatable {
        var reason: String
    }

    typealias Machine = RedisConnectionPool.StateMachine<Connection, String>

    private func waitingSlots(_ action: Machine.LeaseAction) -> [Int]? {
        if case .wait(let slots) = action { slots } else { nil }
    }

    private func resumed(_ action: Machine.ConnectedAction) -> [String]? {
        if case .keep(let waiters) = action { waiters } else { nil }
    }

    @Test func theFirstLeaseConnectsEverySlotAndWaits() {
        var machine = Machine(size: 3)
        #expect(machine.nextConnection() == nil)
        #expect(waitingSlots(machine.lease("first")) == [0, 1, 2])
        #expect(waitingSlots(machine.lease("second")) == [])
        let connection = Connection("c1")
        #expect(resumed(machine.connected(slot: 1, connection: connection)) == ["first", "second"])
        #expect(machine.nextConnection() === connection)
    }

    @Test func leasesGoRoundRobinOverConnectedSlots() {
        var machine = Machine(size: 3)
        _ = machine.lease("w")
        let connections = [Connection("a"), Connection("b"), Connection("c")]
        for (slot, connection) in connections.enumerated() {
            _ = machine.connected(slot: slot, connection: connection)
        }
        let names = (0..<6).map { _ in machine.nextConnection()?.name }
        #expect(names == ["a", "b", "c", "a", "b", "c"])
        guard case .use(let leased) = machine.lease("x") else {
            Issue.record("lease did not use a connection")
            return
        }
        #expect(leased === connections[0])
    }

    @Test func waitersFailOnlyWhenEveryAttemptHasFailed() {
        var machine = Machine(size: 2)
        _ = machine.lease("w")
        #expect(machine.connectFailed(slot: 0, error: Failure(reason: "refused 0")).isEmpty)
        #expect(machine.connectFailed(slot: 1, error: Failure(reason: "refused 1")) == ["w"])
        // Every slot is backing off: leases fail at once with the last error instead of queueing.
        guard case .fail(let error) = machine.lease("late") else {
            Issue.record("a lease while backing off did not fail")
            return
        }
        let failure = error as? Failure
        #expect(failure == Failure(reason: "refused 1"))
        // The next attempt brings the slot back, and new leases use it.
        let attempting = machine.connecting(slot: 0)
        #expect(attempting)
        #expect(waitingSlots(machine.lease("patient")) == [])
        let connection = Connection("back")
        #expect(resumed(machine.connected(slot: 0, connection: connection)) == ["patient"])
        #expect(machine.nextConnection() === connection)
    }

    @Test func aClosedConnectionReconnectsItsSlotOnce() {
        var machine = Machine(size: 2)
        _ = machine.lease("w")
        let first = Connection("first")
        let second = Connection("second")
        _ = machine.connected(slot: 0, connection: first)
        _ = machine.connected(slot: 1, connection: second)
        let reconnect = machine.connectionClosed(slot: 0, connection: first)
        #expect(reconnect)
        let again = machine.connectionClosed(slot: 0, connection: first)
        #expect(!again, "a second close report is stale")
        let wrongSlot = machine.connectionClosed(slot: 1, connection: first)
        #expect(!wrongSlot, "not that slot's connection")
        #expect(machine.nextConnection() === second)
        #expect(machine.nextConnection() === second)
    }

    @Test func closingHandsBackConnectionsAndWaitersAndStopsEverything() {
        var machine = Machine(size: 2)
        _ = machine.lease("w1")
        let connection = Connection("only")
        _ = machine.connected(slot: 0, connection: connection)
        #expect(machine.connectFailed(slot: 1, error: Failure(reason: "x")).isEmpty)
        let (connections, waiters) = machine.close()
        #expect(connections.map(\.name) == ["only"])
        #expect(waiters.isEmpty)
        #expect(machine.isClosed)
        guard case .fail(let error) = machine.lease("after") else {
            Issue.record("a lease after close did not fail")
            return
        }
        let redisError = error as? RedisError
        #expect(redisError == .poolClosed)
        let attempting = machine.connecting(slot: 1)
        #expect(!attempting)
        guard case .close = machine.connected(slot: 1, connection: Connection("late")) else {
            Issue.record("a connection made after close was kept")
            return
        }
        let reconnect = machine.connectionClosed(slot: 0, connection: connection)
        #expect(!reconnect)
        #expect(machine.nextConnection() == nil)
    }

    @Test func closingFailsWaiters() {
        var machine = Machine(size: 1)
        _ = machine.lease("w1")
        _ = machine.lease("w2")
        #expect(machine.close().waiters == ["w1", "w2"])
        #expect(machine.connectFailed(slot: 0, error: Failure(reason: "late")).isEmpty)
    }
}
