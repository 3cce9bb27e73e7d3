import Foundation
import SimulJSON
import SimulProcessSupport
import SimulTestSupport
import Testing

/// `simul worker --loglevel` and `--log-format` as a user runs them: JSON logs carry the task, and bad values get
/// one line and exit 2.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ObservabilityTests {
    static func sqliteURL() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simul-obs-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return "sqlite://\(directory.path)/queue.sqlite"
    }

    @Test func jsonLogLinesParseAndCarryTheTask() async throws {
        let url = try Self.sqliteURL()
        let worker = Process()
        worker.executableURL = URL(fileURLWithPath: simulExecutable)
        worker.arguments = [
            "worker", "--broker", url, "-n", "json@test", "--log-format", "json", "--loglevel", "debug",
        ]
        let errorPipe = Pipe()
        worker.standardOutput = FileHandle.nullDevice
        worker.standardError = errorPipe
        try worker.run()
        defer { if worker.isRunning { worker.terminate() } }
        let errors = Task { try await onOwnThread { errorPipe.fileHandleForReading.readDataToEndOfFile() } }
        let failing = try await QueueCommandTests.simul([
            "send", "simul.fail", "--args", #"["boom"]"#, "--broker", url, "--wait", "--timeout", "60",
        ])
        #expect(failing.status == 1)
        worker.terminate()
        await worker.exited()
        let lines = String(decoding: try await errors.value, as: UTF8.self).split(separator: "\n")
        let objects = try lines.map { try JSONValue(parsing: Data($0.utf8)) }
        #expect(objects.count >= 3, "\(lines)")
        for object in objects {
            for key in ["timestamp", "level", "label", "message"] {
                #expect(object[key]?.stringValue != nil, "\(key) in \(object.jsonText)")
            }
            #expect(object["metadata"]?.objectValue != nil)
        }
        let failed = try #require(objects.first { $0["message"]?.stringValue?.contains("failed: ValueError") == true })
        let metadata = try #require(failed["metadata"])
        #expect(metadata["task_name"] == "simul.fail")
        #expect(metadata["task_id"]?.stringValue?.count == 36)
        #expect(metadata["queue"] == "celery")
        #expect(metadata["worker"] == "json@test")
        #expect(metadata["task_retries"] == "0")
        #expect(failed["level"] == "info")
        #expect(failed["label"] == "simul.worker")
        let ready = try #require(objects.first { $0["message"]?.stringValue?.contains("ready") == true })
        #expect(ready["metadata"] == .object([:]))
    }

    static let badInput: [([String], String)] = [
        (["--log-format", "xml"], "--log-format must be text or json, got 'xml'"),
        (["--loglevel", "verbose"], "--loglevel must be debug, info, warning or error, got 'verbose'"),
    ]

    @Test(arguments: badInput)
    func badInputGetsOneLineAndExit2(arguments: [String], message: String) async throws {
        let run = try await QueueCommandTests.simul(["worker"] + arguments + ["--broker", try Self.sqliteURL()])
        #expect(run.status == 2, "\(run.error)")
        #expect(run.error == "Error: \(message)\n")
    }
}
