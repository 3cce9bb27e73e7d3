import Foundation
import SimulJSON
import SimulQueue
import SimulQueueTestSupport
import SimulTestSupport
import Testing

@Suite(.timeLimit(.minutes(3))) struct CanvasTests {
    @Test func chainPassesEachResultToTheNextStepAndLinksTheResults() async throws {
        let queue = QueueHarness()
        var steps = [Signature("t.add", args: [1, 2]), Signature("t.mul", args: [10]), Signature("t.add", args: [5])]
        let ids = steps.indices.map { steps[$0].freeze() }
        let last = try await queue.client.chain(steps)
        #expect(last.id == ids[2])
        #expect(try await last.get(timeout: .seconds(30)) == 35)

        let stored = try await queue.broker.results(for: ids)
        let first = try #require(stored[ids[0]])
        let second = try #require(stored[ids[1]])
        let third = try #require(stored[ids[2]])
        #expect([first.status, second.status, third.status] == [.success, .success, .success])
        #expect([first.result, second.result, third.result] == [3, 30, 35])
        #expect(first.parentId == nil)
        #expect(second.parentId == ids[0])
        #expect(third.parentId == ids[1])
        // Celery's result tuples: [[child id, null], null].
        #expect(first.children == [[[.string(ids[1]), nil], nil]])
        #expect(second.children == [[[.string(ids[2]), nil], nil]])
        #expect(third.children.isEmpty)
        try await queue.stop()
    }

    @Test func immutableStepIgnoresItsParentsResult() async throws {
        let queue = QueueHarness()
        let result = try await queue.client.chain([
            Signature("t.add", args: [1, 2]), Signature("t.add", args: [10, 20], immutable: true),
            Signature("t.mul", args: [2]),
        ])
        #expect(try await result.get(timeout: .seconds(30)) == 60)
        try await queue.stop()
    }

    @Test func failingStepFailsItselfAndEveryLaterStep() async throws {
        let queue = QueueHarness()
        var steps = [
            Signature("t.add", args: [1, 2]), Signature("t.boom"), Signature("t.add", args: [5]),
            Signature("t.mul", args: [2]),
        ]
        let ids = steps.indices.map { steps[$0].freeze() }
        let last = try await queue.client.chain(steps)
        do {
            _ = try await last.get(timeout: .seconds(30))
            Issue.record("expected a ValueError")
        } catch let error as TaskError {
            #expect(error.type == "ValueError")
            #expect(error.message == "boom 3")
        }
        let stored = try await queue.broker.results(for: ids)
        #expect(stored[ids[0]]?.status == .success)
        for id in ids.dropFirst() {
            let result = try #require(stored[id], "step \(id)")
            #expect(result.status == .failure)
            #expect(result.error?.type == "ValueError")
            #expect(result.error?.message == "boom 3")
        }
        // The later steps are never sent: the worker ran two tasks and nothing is left.
        try await queue.stop()
        #expect(queue.worker.stats.processed == 2)
        #expect(try await queue.broker.queueLengths().isEmpty)
    }

    @Test func groupResultsComeBackInOrder() async throws {
        let queue = QueueHarness()
        let members = (0..<12).map { Signature("t.add", args: [.integer(Int64($0)), .integer(Int64($0))]) }
        let results = try await queue.client.group(members)
        #expect(results.count == 12)
        var values: [JSONValue] = []
        for result in results { values.append(try await result.get(timeout: .seconds(30))) }
        #expect(values == (0..<12).map { .integer(Int64(2 * $0)) })
        let groupIds = try await Set(results.asyncMap { try await $0.result()?.groupId })
        #expect(groupIds.count == 1)
        #expect(groupIds.first! != nil)
        try await queue.stop()
    }

    @Test(arguments: BrokerKind.allCases)
    func chordBodyGetsTheHeaderResultsInIndexOrder(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: try kind.make(in: scratch))
        let adds = (0..<6).map { Signature("t.add", args: [.integer(Int64($0)), .integer(Int64($0))]) }
        let sum = try await queue.client.chord(adds, body: Signature("t.xsum"))
        #expect(try await sum.get(timeout: .seconds(20)) == 30)

        // The first header task finishes last, yet its result comes first in the body's list.
        let gate = UUID().uuidString
        var header = [Signature("t.gated", args: [.string(gate), 100])] + adds.dropFirst()
        let ids = header.indices.map { header[$0].freeze() }
        let list = try await queue.client.chord(header, body: Signature("t.echo"))
        try await waitUntil("the ungated header tasks finished") {
            try await queue.broker.results(for: Array(ids.dropFirst())).values.filter { $0.status == .success }
                .count == ids.count - 1
        }
        Gates.shared.open(gate)
        #expect(try await list.get(timeout: .seconds(20)) == [100, 2, 4, 6, 8, 10])
        try await queue.stop()
    }

    @Test(arguments: BrokerKind.allCases)
    func failingHeaderTaskFailsTheChordBodyWithChordError(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let queue = QueueHarness(broker: try kind.make(in: scratch))
        var header = [
            Signature("t.add", args: [1, 1]), Signature("t.boom", args: [2]), Signature("t.add", args: [3, 3]),
        ]
        let ids = header.indices.map { header[$0].freeze() }
        let body = try await queue.client.chord(header, body: Signature("t.xsum"))
        do {
            _ = try await body.get(timeout: .seconds(20))
            Issue.record("expected a ChordError")
        } catch let error as TaskError {
            #expect(error.type == "ChordError")
            #expect(error.module == "celery.exceptions")
            #expect(error.message == "Dependency \(ids[1]) raised ValueError: boom 2")
        }
        #expect(try await body.state() == .failure)
        try await queue.stop()
    }

    @Test func linkRunsWithTheResult() async throws {
        let queue = QueueHarness()
        var callback = Signature("t.add", args: [100])
        let callbackId = callback.freeze()
        var options = SendOptions()
        options.link = [callback]
        let parent = try await queue.client.send("t.add", args: [1, 2], options: options)
        #expect(try await parent.get(timeout: .seconds(30)) == 3)
        let linked = queue.client.result(callbackId)
        #expect(try await linked.get(timeout: .seconds(30)) == 103)
        #expect(try await linked.result()?.parentId == parent.id)
        #expect(try await parent.result()?.children == [[[.string(callbackId), nil], nil]])
        try await queue.stop()
    }

    @Test func linkErrorRunsWithTheFailedTaskId() async throws {
        let queue = QueueHarness()
        var errback = Signature("t.echo")
        let errbackId = errback.freeze()
        var callback = Signature("t.add", args: [100])
        let callbackId = callback.freeze()
        var options = SendOptions()
        options.link = [callback]
        options.linkError = [errback]
        let failed = try await queue.client.send("t.boom", args: [7], options: options)
        await #expect(throws: TaskError.self) { _ = try await failed.get(timeout: .seconds(30)) }
        #expect(try await queue.client.result(errbackId).get(timeout: .seconds(30)) == .string(failed.id))
        // The success callback is never sent.
        try await queue.stop()
        #expect(try await queue.broker.queueLengths().isEmpty)
        #expect(queue.worker.stats.processed == 2)
        #expect(try await queue.client.result(callbackId).state() == .pending)
    }
}
