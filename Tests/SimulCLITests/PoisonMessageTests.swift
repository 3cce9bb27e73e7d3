import Foundation
import Simul
import SimulJSON
import SimulProcessSupport
import SimulQueue
import SimulRedisBroker
import SimulRedisTestSupport
import SimulSQLite
import SimulTestSupport
import Testing

/// Poison messages against a real `simul worker` process, on SQLite and on Redis: each one fails or becomes a dead
/// letter with its reason, the good tasks queued behind them succeed, and the worker process that took them all is
/// still the same one at the end.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct PoisonMessageTests {
    /// One poison message: the envelope, and the words its FAILURE or dead letter must hold.
    struct Poison {
        let id: String
        let envelope: Data
        let reason: String
    }

    static func poisons() -> [Poison] {
        func timeLimited(hard: Double?, soft: Double?, _ reason: String) -> Poison {
            var message = TaskMessage(task: "simul.add", args: [1, 2])
            message.hardTimeLimit = hard
            message.softTimeLimit = soft
            return Poison(id: message.id, envelope: MessageCodec.encode(message), reason: reason)
        }
        func sleep(_ seconds: Double) -> Poison {
            let message = TaskMessage(task: "simul.sleep", args: [.number(seconds)])
            return Poison(id: message.id, envelope: MessageCodec.encode(message), reason: "ValueError: seconds must be")
        }
        let range = "must be a number of seconds greater than 0 and up to 3155760000 (100 years)"
        return [
            timeLimited(hard: 1e19, soft: nil, "headers.timelimit[0] \(range), got 1e+19"),
            timeLimited(hard: 1e300, soft: nil, "headers.timelimit[0] \(range), got 1e+300"),
            timeLimited(hard: nil, soft: 1e19, "headers.timelimit[1] \(range), got 1e+19"),
            timeLimited(hard: -5, soft: nil, "headers.timelimit[0] \(range), got -5.0"),
            sleep(1e19),
            sleep(1e300),
        ]
    }

    /// A chain whose next step asks for a countdown of `1e300`: the first step succeeds, the next fails with why.
    static func chainWithHugeCountdown() -> (first: String, next: String, envelope: Data) {
        var message = TaskMessage(task: "simul.add", args: [1, 2])
        let next = TaskID.make()
        message.chain = [Signature("simul.add", args: [1], options: ["countdown": 1e300, "task_id": .string(next)])]
        return (message.id, next, MessageCodec.encode(message))
    }

    @Test func sqliteWorkerSurvivesEveryPoison() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("simul-poison-\(UUID())/q.sqlite").path
        let broker = try SQLiteBroker(path: path)
        try await Self.check(broker: broker, backend: broker, url: "sqlite://\(path)")
        await broker.close()
    }

    @Test func redisWorkerSurvivesEveryPoison() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let broker = try RedisBroker(url: server.url())
        try await Self.check(broker: broker, backend: broker, url: server.url())
        await broker.close()
    }

    private static func check(broker: any Broker, backend: any ResultBackend, url: String) async throws {
        let poisons = poisons()
        let chain = chainWithHugeCountdown()
        let good = (0..<5).map { TaskMessage(task: "simul.add", args: [.integer(Int64($0)), 10]) }
        let envelopes = poisons.map(\.envelope) + [chain.envelope] + good.map { MessageCodec.encode($0) }
        try await broker.commit(BrokerCommit(send: envelopes.map { OutgoingMessage(raw: $0, queue: "celery") }))

        let worker = try startWorker(url)
        defer { if worker.isRunning { worker.terminate() } }
        let pid = worker.processIdentifier
        let ids = poisons.map(\.id) + [chain.first, chain.next] + good.map(\.id)
        try await waitUntil("every task has a final state", timeout: .seconds(120)) {
            try await backend.results(for: ids).values.filter(\.status.isReady).count == ids.count
        }
        let results = try await backend.results(for: ids)
        for (index, message) in good.enumerated() {
            #expect(results[message.id]?.status == .success)
            #expect(results[message.id]?.result == .integer(Int64(index + 10)))
        }
        #expect(results[chain.first]?.status == .success)
        #expect(results[chain.next]?.status == .failure)
        #expect(results[chain.next]?.error.map { "\($0)" }?.contains("countdown must be a number of seconds") == true)
        let deadLetters = try await broker.require(.deadLetters).deadLetters(limit: 100)
        for poison in poisons {
            let failure = results[poison.id]?.error.map { "\($0)" } ?? ""
            let letter = deadLetters.first { MessageCodec.identify($0.body).id == poison.id }?.reason ?? ""
            #expect(results[poison.id]?.status == .failure, "\(poison.reason)")
            #expect(
                failure.contains(poison.reason) || letter.contains(poison.reason),
                "expected '\(poison.reason)' in the failure '\(failure)' or the dead letter '\(letter)'")
        }
        #expect(worker.isRunning)
        #expect(worker.processIdentifier == pid)
        worker.terminate()
        await worker.exited()
        #expect(worker.terminationStatus == 0)
    }

    private static func startWorker(_ url: String) throws -> Process {
        try startSimul(["worker", "--broker", url, "-c", "2", "--lease", "5", "-n", "poison@test"])
    }
}
