import Foundation
import SimulJSON
import SimulQueue
import SimulQueueTestSupport
import SimulTestSupport
import Testing

@Suite(.timeLimit(.minutes(3))) struct NestedCanvasTests {
    private static func add(_ x: Int64, _ y: Int64) -> Signature {
        Signature("t.add", args: [.integer(x), .integer(y)])
    }
    private static func mul(_ y: Int64) -> Signature { Signature("t.mul", args: [.integer(y)]) }

    @Test(arguments: BrokerKind.allCases)
    func aGroupThenATaskInAChainIsAChord(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: try kind.make(in: scratch))
        // add(1, 1) | group(mul(2), mul(3)) | xsum = xsum([2 * 2, 2 * 3])
        let flow = Signature.chain([Self.add(1, 1), .group([Self.mul(2), Self.mul(3)]), Signature("t.xsum")])
        #expect(try await queue.client.apply(flow).get(timeout: .seconds(30)) == 10)
        try await queue.stop()
    }

    @Test(arguments: BrokerKind.allCases)
    func aGroupAtTheEndOfAChainGetsTheResultInEachMember(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: try kind.make(in: scratch))
        var members = [Self.mul(2), Self.mul(3)]
        let ids = members.indices.map { members[$0].freeze() }
        await #expect(throws: QueueError.self) {
            try await queue.client.apply(.chain([Self.add(1, 1), .group(members)]))
        }
        // As a Python client sends it: the group, with its members' ids, in the first task's embed.chain.
        var first = TaskMessage(task: "t.add", args: [1, 1])
        first.chain = [.group(members)]
        try await queue.broker.send([first])
        let group = GroupResult(id: "unsaved", ids: ids, backend: queue.broker)
        #expect(try await group.join(timeout: .seconds(30)) == [4, 6])
        let stored = try await queue.broker.results(for: ids)
        #expect(Set(stored.values.map(\.groupId)).count == 1)
        #expect(stored[ids[0]]?.parentId == first.id)
        try await queue.stop()
    }

    @Test(arguments: BrokerKind.allCases)
    func chainsInAGroupEachGiveTheirLastStep(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: try kind.make(in: scratch))
        let group = try await queue.client.group([.chain([Self.add(1, 1), Self.mul(10)]), Self.add(5, 5)])
        #expect(group.count == 2)
        #expect(try await group.join(timeout: .seconds(30)) == [20, 10])
        #expect(try await group.completedCount() == 2)
        // The chain's last step joined the group, at the chain's index.
        let last = try #require(try await group[0].result())
        #expect(last.groupId == group.id)
        try await queue.stop()
    }

    @Test(arguments: BrokerKind.allCases)
    func aChordsBodyMayBeAChain(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: try kind.make(in: scratch))
        let flow = Signature.chord(
            [Self.add(1, 1), Self.add(2, 2)], body: .chain([Signature("t.xsum"), Self.mul(10)]))
        #expect(try await queue.client.apply(flow).get(timeout: .seconds(30)) == 60)
        try await queue.stop()
    }

    @Test(arguments: BrokerKind.allCases)
    func aChordInsideAChainGetsTheResultBeforeAndPassesItsOwnOn(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: try kind.make(in: scratch))
        // add(1, 1) | chord([mul(2), mul(3)], xsum) | mul(10) = (2 * 2 + 2 * 3) * 10
        let flow = Signature.chain([
            Self.add(1, 1), .chord([Self.mul(2), Self.mul(3)], body: Signature("t.xsum")), Self.mul(10),
        ])
        #expect(try await queue.client.apply(flow).get(timeout: .seconds(30)) == 100)
        try await queue.stop()
    }

    @Test(arguments: BrokerKind.allCases)
    func aGroupInsideAGroupIsFlattenedIntoIt(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: try kind.make(in: scratch))
        // Celery's group(group(a, b), c) runs as group(a, b, c): one group id, the results in order.
        let group = try await queue.client.group([
            .group([Self.add(1, 1), .group([Self.add(2, 2), Self.add(3, 3)])]), Self.add(4, 4),
        ])
        #expect(group.count == 4)
        #expect(try await group.join(timeout: .seconds(30)) == [2, 4, 6, 8])
        let stored = try await queue.broker.results(for: (0..<4).map { group[$0].id })
        #expect(Set(stored.values.map(\.groupId)) == [group.id])
        // Inside a chain, as a step that a worker sends: a group in a group followed by a task is one chord.
        let flow = Signature.chain([
            Self.add(1, 1), .group([.group([Self.mul(2), Self.mul(3)]), Self.mul(4)]), Signature("t.xsum"),
        ])
        #expect(try await queue.client.apply(flow).get(timeout: .seconds(30)) == 18)
        try await queue.stop()
    }

    @Test(arguments: BrokerKind.allCases)
    func aGroupInAChordsHeaderIsFlattenedInCelerysOrder(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: try kind.make(in: scratch))
        // Celery's _freeze_unroll puts a header's group back on its work list front first: [group(a, b), c] runs
        // as [b, a, c], and so does [group(group(a, b), c), d] as [c, b, a, d].
        let chord = Signature.chord(
            [.group([Self.add(1, 0), Self.add(2, 0)]), Self.add(3, 0)], body: Signature("t.echo"))
        #expect(try await queue.client.apply(chord).get(timeout: .seconds(30)) == [2, 1, 3])
        let deeper = Signature.chord(
            [.group([.group([Self.add(1, 0), Self.add(2, 0)]), Self.add(3, 0)]), Self.add(4, 0)],
            body: Signature("t.echo"))
        #expect(try await queue.client.apply(deeper).get(timeout: .seconds(30)) == [3, 2, 1, 4])
        // In a chain, where the worker unrolls it: add(1, 1) | chord([group(mul(2), mul(3)), mul(4)], echo).
        let flow = Signature.chain([
            Self.add(1, 1), .chord([.group([Self.mul(2), Self.mul(3)]), Self.mul(4)], body: Signature("t.echo")),
        ])
        #expect(try await queue.client.apply(flow).get(timeout: .seconds(30)) == [6, 4, 8])
        try await queue.stop()
    }

    /// What Celery cannot join is refused before anything is sent, with what to do instead: a group that ends a chain
    /// in a chord's header, and, for a client's group, a member that ends in a group.
    @Test func nestedShapesThatCannotJoinAreRefused() async throws {
        let queue = QueueHarness()
        let chord = Signature.chord(
            [.chain([Self.add(1, 1), .group([Self.mul(2), Self.mul(3)])]), Self.add(5, 5)], body: Signature("t.echo"))
        do {
            _ = try await queue.client.apply(chord)
            Issue.record("expected a MessageError")
        } catch let error as MessageError {
            #expect(
                error.reason
                    == "a group at the end of a chain inside a chord's header cannot join the chord: end the chain "
                    + "with a task after the group (a chord of its own), or list the group's tasks in the header")
        }
        do {
            _ = try await queue.client.group([.chain([Self.add(1, 1), .group([Self.mul(2)])]), Self.add(5, 5)])
            Issue.record("expected a QueueError")
        } catch let error as QueueError {
            #expect(
                "\(error)".contains(
                    "celery.chain ends in a group, whose results cannot take one place in a group's results: send it "
                        + "on its own with group(_:), or end it with a task"))
        }
        // The same chain ending in a task joins: add(1, 1) | group(mul(2), mul(3)) | xsum is a chord of its own.
        let joined = Signature.chord(
            [.chain([Self.add(1, 1), .group([Self.mul(2), Self.mul(3)]), Signature("t.xsum")]), Self.add(5, 5)],
            body: Signature("t.echo"))
        #expect(try await queue.client.apply(joined).get(timeout: .seconds(30)) == [10, 10])
        try await queue.stop()
    }

    @Test func aChainInAGroupCarriesItsPlaceOnItsLastStepAsCeleryDoes() async throws {
        let broker = MemoryBroker()
        let client = QueueClient(broker: broker, backend: broker)
        let group = try await client.group([.chain([Self.add(1, 1), Self.mul(10)]), Self.add(5, 5)])
        let messages = try await broker.receive(from: ["celery"], limit: 10, lease: .seconds(60), timeout: .zero)
            .map { try MessageCodec.decode($0.body) }
        #expect(messages.count == 2)
        let chainFirst = try #require(messages.first { $0.args == [1, 1] })
        let plain = try #require(messages.first { $0.args == [5, 5] })
        // Captured from Celery (celery-control.md 5.2): the first link has no group; the last link, in
        // embed.chain, has group_id and group_index in its options.
        #expect(chainFirst.groupId == nil)
        #expect(chainFirst.chain.count == 1)
        #expect(chainFirst.chain[0].options["group_id"] == .string(group.id))
        #expect(chainFirst.chain[0].options["group_index"] == 0)
        #expect(chainFirst.chain[0].taskId == group[0].id)
        #expect(plain.groupId == group.id)
        #expect(plain.groupIndex == 1)
    }

    @Test func aMalformedCanvasInAChainFailsThatStepAndTheWorkerGoesOn() async throws {
        let queue = QueueHarness()
        var body = Signature("t.xsum")
        let bodyId = body.freeze()
        var chord = Signature.chord([], body: body)
        chord.kwargs["header"] = 5
        var first = TaskMessage(task: "t.add", args: [1, 1])
        first.chain = [chord]
        try await queue.broker.send([first])
        do {
            _ = try await queue.client.result(bodyId).get(timeout: .seconds(30))
            Issue.record("expected a ValueError")
        } catch let error as TaskError {
            #expect(error.type == "ValueError")
            #expect(error.message == "celery.chord: kwargs.header must be a list of signatures, got 5")
        }
        #expect(try await queue.client.result(first.id).get(timeout: .seconds(30)) == 2)
        #expect(try await queue.client.send("t.add", args: [3, 4]).get(timeout: .seconds(30)) == 7)
        try await queue.stop()
    }

    @Test(arguments: BrokerKind.allCases)
    func aChordsFailureReachesItsBodysErrorCallback(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: try kind.make(in: scratch))
        var errback = Signature("t.echo")
        let errbackId = errback.freeze()
        var body = Signature("t.xsum")
        body.options["link_error"] = .array([errback.jsonValue])
        let result = try await queue.client.chord([Self.add(1, 1), Signature("t.boom", args: [2])], body: body)
        await #expect(throws: TaskError.self) { _ = try await result.get(timeout: .seconds(30)) }
        // Celery's chord_error_from_stack: the errback gets the body's task id.
        #expect(try await queue.client.result(errbackId).get(timeout: .seconds(30)) == .string(result.id))
        try await queue.stop()
    }
}

@Suite(.timeLimit(.minutes(3))) struct CeleryBuiltinTaskTests {
    @Test(arguments: BrokerKind.allCases)
    func mapCallsTheTaskWithEachItem(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: try kind.make(in: scratch))
        // Celery's tsum.map([[1, 2], [3]]) = [3, 3], run in the worker.
        let result = try await queue.client.apply(.map(Signature("t.xsum"), over: [[1, 2], [3]]))
        #expect(try await result.get(timeout: .seconds(30)) == [3, 3])
        try await queue.stop()
        #expect(queue.worker.stats.processed == 1)
    }

    @Test(arguments: BrokerKind.allCases)
    func starmapSpreadsEachItemOverTheArguments(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: try kind.make(in: scratch))
        let result = try await queue.client.apply(.starmap(Signature("t.add"), over: [[1, 1], [2, 2]]))
        #expect(try await result.get(timeout: .seconds(30)) == [2, 4])
        try await queue.stop()
    }

    @Test(arguments: BrokerKind.allCases)
    func chunksSendsAGroupOfStarmaps(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: try kind.make(in: scratch))
        let items: [[JSONValue]] = (0..<5).map { [.integer(Int64($0)), .integer(Int64($0))] }
        let result = try await queue.client.apply(.chunks(Signature("t.add"), over: items, size: 2))
        // The task's result is its group's, as Celery's result tuple.
        let group = try GroupResult(tuple: try await result.get(timeout: .seconds(30)), backend: queue.broker)
        #expect(group.count == 3)
        #expect(try await group.join(timeout: .seconds(30)) == [[0, 2], [4, 6], [8]])
        try await queue.stop()
    }

    /// A built-in task's call with a malformed body, and the error it fails with.
    struct MalformedCall: Sendable {
        var task: String
        var kwargs: [String: JSONValue]
        var error: String
    }

    static let malformedCalls = [
        MalformedCall(
            task: "celery.starmap", kwargs: ["task": ["task": "t.add"], "it": 5],
            error: "TypeError: celery.starmap(): 'it' must be a list, got 5"),
        MalformedCall(
            task: "celery.starmap", kwargs: ["task": ["task": "t.add"], "it": [[1, 1], 7]],
            error: "TypeError: celery.starmap(): item 1 of 'it' must be a list of arguments, got 7"),
        MalformedCall(
            task: "celery.chunks", kwargs: ["task": ["task": "t.add"], "it": [[1, 1]], "n": 0],
            error: "ValueError: celery.chunks(): 'n' must be a positive integer, got 0"),
        MalformedCall(
            task: "celery.chunks", kwargs: ["task": "t.add", "it": [[1, 1]], "n": 2],
            error: "TypeError: celery.chunks(): 'task' must be a signature, an object with a task name, got \"t.add\""),
        MalformedCall(
            task: "celery.map", kwargs: ["it": [1]], error: "TypeError: celery.map() missing required argument: 'task'"),
        MalformedCall(
            task: "celery.map", kwargs: ["task": ["task": "t.nope"], "it": [1]], error: "NotRegistered: t.nope"),
    ]

    @Test(arguments: malformedCalls)
    func aMalformedCallFailsThatTaskAndTheWorkerGoesOn(call: MalformedCall) async throws {
        let queue = QueueHarness()
        let bad = try await queue.client.send(call.task, kwargs: call.kwargs)
        do {
            let value = try await bad.get(timeout: .seconds(30))
            Issue.record("expected \(call.error), got \(value.jsonText)")
        } catch let failure as TaskError {
            #expect("\(failure.type): \(failure.message)" == call.error)
        }
        #expect(try await queue.client.send("t.add", args: [3, 4]).get(timeout: .seconds(30)) == 7)
        try await queue.stop()
    }

    @Test func aChordSentByNameRunsAsOne() async throws {
        let queue = QueueHarness()
        var body = Signature("t.xsum")
        let bodyId = body.freeze()
        let header: JSONValue = .array([
            Signature("t.add", args: [1, 1]).jsonValue, Signature("t.add", args: [2, 2]).jsonValue,
        ])
        let sent = try await queue.client.send("celery.chord", kwargs: ["header": header, "body": body.jsonValue])
        #expect(try await sent.get(timeout: .seconds(30)) == [[.string(bodyId), nil], nil])
        #expect(try await queue.client.result(bodyId).get(timeout: .seconds(30)) == 6)
        await #expect(throws: TaskError.self) {
            _ = try await queue.client.send("celery.chain").get(timeout: .seconds(30))
        }
        try await queue.stop()
    }
}

@Suite(.timeLimit(.minutes(3))) struct GroupResultTests {
    @Test(arguments: BrokerKind.allCases)
    func aSavedGroupRestoresAndJoins(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: try kind.make(in: scratch))
        let group = try await queue.client.group([Signature("t.add", args: [1, 1]), Signature("t.add", args: [2, 2])])
        try await group.save()
        let restored = try #require(try await GroupResult.restore(group.id, backend: queue.broker))
        #expect(restored.id == group.id)
        #expect(restored.map(\.id) == group.map(\.id))
        #expect(try await restored.join(timeout: .seconds(30)) == [2, 4])
        #expect(try await restored.completedCount() == 2)
        #expect(try await restored.ready())
        try await restored.delete()
        #expect(try await GroupResult.restore(group.id, backend: queue.broker) == nil)
        try await queue.stop()
    }

    @Test func aGroupSavedByCeleryRestores() async throws {
        let broker = MemoryBroker()
        // Celery's GroupResult.save(), as captured (celery-control.md 5.2).
        let tuple: JSONValue = [["g1", nil], [[["id0", nil], nil], [["id1", nil], nil]]]
        try await broker.saveGroup("g1", tuple: tuple)
        let restored = try #require(try await GroupResult.restore("g1", backend: broker))
        #expect(restored.map(\.id) == ["id0", "id1"])
        #expect(restored.tuple == tuple)
        try await broker.store([TaskResult(taskId: "id0", status: .success, result: 2)])
        #expect(try await restored.completedCount() == 1)
        #expect(try await !restored.ready())
        #expect(throws: MessageError.self) {
            try GroupResult(tuple: [["g2", nil], [[["g3", nil], [[["id", nil], nil]]]]], backend: broker)
        }
        #expect(throws: MessageError.self) { try GroupResult(tuple: "g1", backend: broker) }
    }

    @Test func joinThrowsTheFirstFailureInOrder() async throws {
        let queue = QueueHarness()
        let group = try await queue.client.group([
            Signature("t.add", args: [1, 1]), Signature("t.boom", args: [1]), Signature("t.boom", args: [2]),
        ])
        do {
            _ = try await group.join(timeout: .seconds(30))
            Issue.record("expected a ValueError")
        } catch let error as TaskError {
            #expect(error.message == "boom 1")
        }
        try await queue.stop()
    }
}
