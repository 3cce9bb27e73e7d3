import Foundation
import SimulProcessSupport
import SimulRedisBroker
import SimulTestSupport
import Testing

/// `simul worker`, `beat`, `send`, `inspect` and `revoke` as a Redis ACL user that may run ``RedisACL``'s commands
/// and no others, as processes, as a user runs them; and the one line a user missing one of them gets.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RedisACLTests {
    /// The worker, a beat and the client do all their work with only ``RedisACL/commands``.
    @Test func aWorkerABeatAndAClientNeedOnlyTheDocumentedCommands() async throws {
        let server = try await RedisServer.start(users: [RedisACL.rule(user: "simul", password: "s3cret")])
        let url = "redis://simul:s3cret@127.0.0.1:\(server.port)/0"
        let records = server.directory + "/beat.records"
        let schedule = server.directory + "/beat.json"
        try #"[{"name": "tick", "task": "simul.record", "args": ["\#(records)"], "every": 1}]"#
            .write(toFile: schedule, atomically: true, encoding: .utf8)
        let worker = try startSimul(["worker", "--broker", url, "-c", "2"])
        let beat = try startSimul(["beat", "--broker", url, "--schedule", schedule])
        defer {
            for process in [worker, beat] where process.isRunning { process.interrupt() }
        }

        let sum = try await QueueCommandTests.simul([
            "send", "simul.add", "--args", "[2, 3]", "--broker", url, "--wait",
        ])
        #expect(sum.status == 0, "\(sum.error)")
        #expect(sum.output.split(separator: "\n").last == "5")
        let chain = try await QueueCommandTests.simul([
            "chain", "simul.add:[1,2]", "simul.mul:[10]", "--broker", url, "--wait",
        ])
        #expect(chain.status == 0, "\(chain.error)")
        #expect(chain.output.split(separator: "\n").last == "30")
        try await waitUntil("the beat's task ran") {
            ((try? String(contentsOfFile: records, encoding: .utf8)) ?? "").contains("\n")
        }
        let workers = try await QueueCommandTests.simul(["inspect", "workers", "--broker", url])
        #expect(workers.status == 0, "\(workers.error)")
        #expect(workers.output.contains("simul@"), "\(workers.output)")
        let queues = try await QueueCommandTests.simul(["inspect", "queues", "--broker", url])
        #expect(queues.status == 0, "\(queues.error)")

        for process in [beat, worker] {
            process.terminate()
            await process.exited()
            #expect(process.terminationStatus == 0)
        }
    }

    /// A user without a command the client needs gets one line that names it, and exit 1.
    @Test func aUserWithoutANeededCommandIsToldWhichOne() async throws {
        let rule = RedisACL.rule(user: "simul", password: "s3cret").filter { $0 != "+lpush" }
        let server = try await RedisServer.start(users: [rule])
        let url = "redis://simul:s3cret@127.0.0.1:\(server.port)/0"
        let send = try await QueueCommandTests.simul(["send", "simul.add", "--args", "[2, 3]", "--broker", url])
        #expect(send.status == 1)
        #expect(
            send.error
                == "Error: redis refused a commit: NOPERM this user has no permissions to run the 'lpush' command\n",
            "\(send.error)")
    }
}
