import Foundation
import SimulTestSupport
import Testing

/// `simul worker` as a user runs it.
@Suite(.timeLimit(.minutes(2))) struct WorkerCommandTests {
    @Test func aWorkerWhoseSQLiteFileIsDeletedExitsWithOneLine() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.file("queue.sqlite")
        let log = scratch.file("worker.log")
        #expect(FileManager.default.createFile(atPath: log, contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: simulExecutable)
        process.arguments = ["worker", "--broker", "sqlite://\(path)", "-c", "1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { exited.continuation.yield($0.terminationStatus) }
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let text = { String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self) }
        try await waitUntil("the worker ready") { text().contains("ready: pool threads") }

        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        var statuses = exited.stream.makeAsyncIterator()
        let status = await statuses.next()
        #expect(status == 1)
        let lines = text().split(separator: "\n")
        #expect(lines.last == "Error: the SQLite broker's file \(path) was deleted or replaced; stopping")
        #expect(lines.filter { $0.hasPrefix("Error:") }.count == 1)
    }
}
