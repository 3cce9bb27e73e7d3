import Foundation
import SimulProcessSupport
import SimulRedis
import SimulRedisTestSupport
import SimulTestSupport
import Testing
import SimulRESP

/// `simul worker`, `send`, `result` and `inspect` as separate processes, as a user runs them: on the embedded SQLite
/// broker, and on a Redis with a password that goes away.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct WorkerProcessTests {
    static func startWorker(_ url: String) throws -> Process {
        try startSimul(["worker", "--broker", url, "-c", "2"])
    }

    @Test func sqliteWorkerRunsTasksReportsFailuresAndStopsOnSIGTERM() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simul-cli-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = "sqlite://\(directory.path)/queue.sqlite"
        let worker = try Self.startWorker(url)
        defer { if worker.isRunning { worker.interrupt() } }

        let sum = try await QueueCommandTests.simul([
            "send", "simul.add", "--args", "[2, 3]", "--broker", url, "--wait",
            "--timeout", "60",
        ])
        #expect(sum.status == 0, "\(sum.error)")
        #expect(sum.output.split(separator: "\n").last == "5")
        let unknown = try await QueueCommandTests.simul([
            "send", "nosuch.task", "--broker", url, "--wait", "--timeout", "60",
        ])
        #expect(unknown.status == 1)
        #expect(unknown.error.hasPrefix("Error: NotRegistered: nosuch.task"), "\(unknown.error)")
        let failing = try await QueueCommandTests.simul([
            "send", "simul.fail", "--args", #"["boom"]"#, "--broker", url,
            "--wait", "--timeout", "60",
        ])
        #expect(failing.status == 1)
        #expect(failing.error.hasPrefix("Error: ValueError: boom"), "\(failing.error)")
        let workers = try await QueueCommandTests.simul(["inspect", "workers", "--broker", url])
        #expect(workers.status == 0)
        #expect(workers.output.contains("simul@"), "\(workers.output)")

        worker.terminate()
        await worker.exited()
        #expect(worker.terminationReason == .exit)
        #expect(worker.terminationStatus == 0)
    }

    @Test func redisWithAPasswordRefusesAWrongOrMissingOne() async throws {
        let server = try await RedisServer.start(password: "secret")
        defer { server.stop() }
        let endpoint = "127.0.0.1:\(server.port)"
        for (url, answer) in [("redis://:wrong@\(endpoint)/0", "WRONGPASS"), ("redis://\(endpoint)/0", "NOAUTH")] {
            for command in [["send", "simul.add", "--args", "[1,2]"], ["worker"]] {
                let run = try await QueueCommandTests.simul(command + ["--broker", url])
                #expect(run.status == 1)
                #expect(
                    run.error.hasPrefix("Error: authentication to redis at \(endpoint) failed: \(answer)"),
                    "\(run.error)")
                #expect(run.error.split(separator: "\n").count == 1)
            }
        }
    }

    /// A client waiting for a result whose Redis goes away for good prints one line once Redis has been gone for its
    /// patience (20 s), and the task it sent is still queued when Redis comes back: nothing was acknowledged.
    @Test func aWaitingClientWhoseRedisGoesAwayPrintsOneLineAndLosesNothing() async throws {
        let server = try await RedisServer.start(password: "secret", durable: true)
        defer { server.stop() }
        let url = server.url()
        let client = Process()
        client.executableURL = URL(fileURLWithPath: simulExecutable)
        client.arguments = ["send", "simul.add", "--args", "[1,2]", "--wait", "--broker", url]
        let output = Pipe()
        let error = Pipe()
        client.standardOutput = output
        client.standardError = error
        try client.run()
        let line = try output.fileHandleForReading.readLine()
        let id = try #require(line)
        let observer = try await RedisConnection.connect(to: server.configuration)
        try await waitUntil("the client listens for its result") {
            let reply = try await observer.send("PUBSUB", "NUMSUB", RedisArgument("celery-task-meta-\(id)"))
            guard case .array(let counts) = reply else { return false }
            return counts.last?.int == 1
        }
        await observer.close()
        server.stop()
        let complaint = String(decoding: try error.fileHandleForReading.readAll(), as: UTF8.self)
        await client.exited()
        #expect(client.terminationStatus == 1)
        #expect(
            complaint.hasPrefix("Error: lost redis at 127.0.0.1:\(server.port) while waiting for task \(id)"),
            "\(complaint)")
        #expect(complaint.split(separator: "\n").count == 1)

        try await server.restart()
        let queued = try await QueueCommandTests.simul(["inspect", "queues", "--broker", url])
        #expect(queued.output == "celery: 1 waiting\n")
        let result = try await QueueCommandTests.simul(["result", id, "--broker", url])
        #expect(result.output == "PENDING\n")
    }
}

extension FileHandle {
    /// Reads up to the first newline (blocking), without it; `nil` at the end of the stream.
    func readLine() throws -> String? {
        var line = Data()
        while let byte = try read(upToCount: 1), let first = byte.first {
            if first == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(first)
        }
        return line.isEmpty ? nil : String(decoding: line, as: UTF8.self)
    }
}
