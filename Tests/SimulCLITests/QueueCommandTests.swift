import Foundation
import SimulProcessSupport
import SimulJSON
import SimulQueue
import SimulSQLite
import SimulTestSupport
import Testing

/// `simul send` and `simul result` as a user runs them: the bulk and raw sends and the id file the fault suite uses.
@Suite(.timeLimit(.minutes(2))) struct QueueCommandTests {
    struct Run {
        var status: Int32
        var output: String
        var error: String
    }

    /// Runs the built `simul`, or another `executable`, with `arguments`, and `environment` added to this process's,
    /// to the end, on a thread of its own (it blocks on the child's pipes), and returns what it printed.
    static func simul(
        _ arguments: [String], input: String? = nil, environment: [String: String] = [:],
        executable: String = simulExecutable
    ) async throws -> Run {
        try await onOwnThread { try run(arguments, input: input, environment: environment, executable: executable) }
    }

    private static func run(
        _ arguments: [String], input: String?, environment: [String: String], executable: String
    ) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        let typed = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : typed
        try process.run()
        if let input {
            typed.fileHandleForWriting.write(Data(input.utf8))
            try typed.fileHandleForWriting.close()
        }
        // Read before waiting, so a long output cannot fill the pipe and block the child.
        let out = try output.fileHandleForReading.readAll()
        let err = try error.fileHandleForReading.readAll()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
            error: String(decoding: err, as: UTF8.self))
    }

    let path = FileManager.default.temporaryDirectory.appendingPathComponent("simul-queue-\(UUID())/queue.sqlite").path
    var url: String { "sqlite://\(path)" }

    func scratch(_ name: String, _ contents: Data) throws -> String {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent(name).path
        try contents.write(to: URL(fileURLWithPath: file))
        return file
    }

    func expectOneLineError(_ arguments: [String], _ message: String) async throws {
        let run = try await Self.simul(arguments)
        #expect(run.status != 0)
        #expect(run.error == "Error: \(message)\n")
    }

    /// `simul purge` asks first, as `celery purge` does: anything but yes (no answer at all, in a script) purges
    /// nothing; `-f` does not ask.
    @Test func purgeAsksFirstUnlessForced() async throws {
        let broker = try SQLiteBroker(path: path)
        let sent = try await Self.simul(["send", "simul.noop", "--count", "3", "--broker", url])
        #expect(sent.status == 0, "\(sent.error)")
        for input in [nil, "no\n", "\n"] {
            let refused = try await Self.simul(["purge", "--broker", url], input: input)
            #expect(refused.status == 1)
            #expect(
                refused.error
                    == "This will delete every waiting message of the queue celery. There is no undo. "
                    + "Are you sure (yes/NO)? Error: not purged: answer yes, or pass -f to skip the question\n")
            #expect(try await broker.require(.queueAdministration).queueLengths()["celery"] == 3)
        }
        let confirmed = try await Self.simul(["purge", "--broker", url], input: "yes\n")
        #expect(confirmed.status == 0, "\(confirmed.error)")
        #expect(confirmed.output == "purged 3 messages from celery\n")
        _ = try await Self.simul(["send", "simul.noop", "--broker", url])
        let forced = try await Self.simul(["purge", "-f", "--broker", url])
        #expect(forced.output == "purged 1 message from celery\n")
        await broker.close()
    }

    /// `simul worker --without-task-events` runs tasks and says so in no task event; its worker events go on. A
    /// worker without the flag sends them.
    @Test func aWorkerWithoutTaskEventsSendsOnlyWorkerEvents() async throws {
        let broker = try SQLiteBroker(path: path)
        var cursor: Int64 = 0
        for quiet in [true, false] {
            let worker = try startSimul(["worker", "--broker", url] + (quiet ? ["--without-task-events"] : []))
            defer { if worker.isRunning { worker.interrupt() } }
            let sum = try await Self.simul(["send", "simul.add", "--args", "[2, 3]", "--broker", url, "--wait"])
            #expect(sum.output.split(separator: "\n").last == "5", "\(sum.error)")
            worker.terminate()
            await worker.exited()
            let page = try await broker.require(.events).events(after: cursor, limit: 100)
            cursor = page.cursor
            let types = page.events.map(\.type)
            #expect(types.contains("worker-online") && types.contains("worker-offline"), "\(types)")
            #expect(types.contains("task-succeeded") == !quiet, "\(types)")
        }
        await broker.close()
    }

    @Test func sendRawSendsEachFileAsItIsInOrder() async throws {
        let broker = try SQLiteBroker(path: path)
        let good = MessageCodec.encode(TaskMessage(task: "simul.add", args: [2, 3]))
        let bad = Data("{not json".utf8)
        let files = [try scratch("good.json", good), try scratch("bad.json", bad)]
        let run = try await Self.simul(["send", "--raw", files[0], "--raw", files[1], "-Q", "poison", "--broker", url])
        #expect(run.status == 0, "\(run.error)")
        #expect(run.output == "\(try MessageCodec.decode(good).id)\n-\n")
        let received = try await broker.receive(from: ["poison"], limit: 10, lease: .seconds(30), timeout: .seconds(5))
        #expect(received.map(\.body) == [good, bad])
        await broker.close()
    }

    @Test func sendRawRefusesWhatItCannotSendAsItIs() async throws {
        try await expectOneLineError(
            ["send", "--raw", "/no/such/file", "--broker", url],
            "cannot read the envelope file '/no/such/file'")
        let file = try scratch("envelope.json", Data("{}".utf8))
        try await expectOneLineError(
            ["send", "simul.add", "--raw", file, "--broker", url],
            "--raw sends files as they are; it takes only -Q, --broker and --backend")
        try await expectOneLineError(
            ["send", "--raw", file, "--countdown", "5", "--broker", url],
            "--raw sends files as they are; it takes only -Q, --broker and --backend")
        try await expectOneLineError(["send", "--broker", url], "give a task name, such as simul.add (or --raw FILE)")
    }

    @Test func sendCountSendsCopiesEachWithItsOwnId() async throws {
        let broker = try SQLiteBroker(path: path)
        let run = try await Self.simul([
            "send", "simul.add", "--args", "[1, 2]", "--count", "150", "--time-limit", "5",
            "--broker", url,
        ])
        #expect(run.status == 0, "\(run.error)")
        let ids = run.output.split(separator: "\n").map(String.init)
        #expect(ids.count == 150)
        #expect(Set(ids).count == 150)
        let received = try await broker.receive(from: ["celery"], limit: 200, lease: .seconds(30), timeout: .seconds(5))
        let messages = try received.map { try MessageCodec.decode($0.body) }
        #expect(Set(messages.map(\.id)) == Set(ids))
        #expect(messages.allSatisfy { $0.task == "simul.add" && $0.args == [1, 2] && $0.hardTimeLimit == 5 })
        await broker.close()
    }

    /// `--args` is read by the parser a worker uses: an integer past 64 bits is sent as typed, not as a float.
    @Test func sendArgsKeepsBigIntegersExact() async throws {
        let broker = try SQLiteBroker(path: path)
        let run = try await Self.simul([
            "send", "simul.add", "--args", "[1180591620717411303424, 9007199254740993]",
            "--kwargs", #"{"n": -18446744073709551617}"#, "--broker", url,
        ])
        #expect(run.status == 0, "\(run.error)")
        let received = try await broker.receive(from: ["celery"], limit: 1, lease: .seconds(30), timeout: .seconds(5))
        let message = try MessageCodec.decode(try #require(received.first).body)
        #expect(message.args == [.bigInteger("1180591620717411303424"), .integer(9_007_199_254_740_993)])
        #expect(message.kwargs == ["n": .bigInteger("-18446744073709551617")])
        await broker.close()
    }

    @Test func sendCountRefusesBadInput() async throws {
        try await expectOneLineError(
            ["send", "simul.noop", "--count", "0", "--broker", url],
            "--count must be at least 1, got 0")
        try await expectOneLineError(
            ["send", "simul.noop", "--count", "2", "--wait", "--broker", url],
            "--wait takes one task; with --count, use simul result")
        try await expectOneLineError(
            ["send", "simul.noop", "--time-limit=-1", "--broker", url],
            "--time-limit must be a number of seconds from 0 up to 3155760000 (100 years), got -1.0")
    }

    @Test func resultReadsIdsFromAFile() async throws {
        let broker = try SQLiteBroker(path: path)
        let (done, failed, pending) = (TaskID.make(), TaskID.make(), TaskID.make())
        try await broker.store([
            TaskResult(taskId: done, status: .success, result: 5),
            .failure(taskId: failed, .valueError("boom")),
        ])
        await broker.close()
        let file = try scratch("ids.txt", Data("\(done)\n\(failed)\n\(pending)\n".utf8))
        let plain = try await Self.simul(["result", "--ids-from", file, "--broker", url])
        #expect(plain.status == 0, "\(plain.error)")
        #expect(plain.output == "\(done) SUCCESS 5\n\(failed) FAILURE ValueError: boom\n\(pending) PENDING\n")
        let json = try await Self.simul(["result", "--ids-from", file, "--json", "--broker", url])
        let lines = json.output.split(separator: "\n").map {
            try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8))
        }
        #expect(lines.map { $0?["status"] } == ["SUCCESS", "FAILURE", "PENDING"])
        #expect(lines.map { $0?["task_id"] } == [.string(done), .string(failed), .string(pending)])
        try await expectOneLineError(
            ["result", "--ids-from", "/no/such/file", "--broker", url],
            "cannot read the id file '/no/such/file'")
        try await expectOneLineError(
            ["result", done, "nope", "--broker", url], "'nope' is not a task id (expected a UUID)")
    }

    /// Processes that start together on a new broker file (a worker and a client) all open it: SQLite answers some
    /// of them SQLITE_BUSY without waiting while another switches the file to WAL or closes it. Without the retry on
    /// open, 400 such opens failed once or twice in most runs here; with it, none.
    @Test func processesOpeningANewBrokerAtOnceAllSucceed() async throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var failures: [String] = []
        for round in 0..<50 {
            let url = "sqlite://\(directory)/race-\(round).sqlite"
            let runs = try await withThrowingTaskGroup(of: Run.self) { group in
                for _ in 0..<8 { group.addTask { try await Self.simul(["inspect", "queues", "--broker", url]) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            failures += runs.filter { $0.status != 0 }.map(\.error)
        }
        #expect(failures.isEmpty, "\(failures.count) of 400 failed: \(Set(failures).prefix(3))")
    }
}
