import Foundation
import Simul
import SimulJSON
import SimulTasks

/// Row 3, "Download de arquivos": download files from a throttled local server to disk, and verify them.
struct DownloadScenario: Scenario {
    let key = "download"
    let title = Phrase("File download", "Download de arquivos")
    let advice = SeedAdvice([.threads], Phrase("I/O-bound, simple", "I/O-bound, simples"))

    func size(quick: Bool) -> (files: Int, bytes: Int, rate: Int) {
        quick ? (4, 48_000, 1_000_000) : (8, 256_000, 2_000_000)
    }

    var workload: Phrase {
        let (files, bytes, rate) = size(quick: false)
        return Phrase(
            "\(files) files of \(bytes / 1000) kB from a local server throttled to \(rate / 1_000_000) MB/s per "
                + "connection, written to disk and verified",
            "\(files) arquivos de \(bytes / 1000) kB de um servidor local limitado a \(rate / 1_000_000) MB/s por "
                + "conexão, gravados em disco e verificados")
    }

    func prepare(_ settings: TableSettings) async throws -> any ScenarioFixture {
        let (files, bytes, rate) = size(quick: settings.quick)
        let bodies = (0..<files).map { index in
            var random = SplitMix64(seed: UInt64(index) &+ 0xD0D0)
            return (0..<bytes / 8).flatMap { _ in withUnsafeBytes(of: random.next()) { Array($0) } }
        }
        let server = try await LocalHTTPServer.start(bytesPerSecond: rate) { _, path in
            guard let index = Int(path.split(separator: "/").last ?? ""), bodies.indices.contains(index) else {
                return HTTPResponse(status: 404, contentType: "text/plain", body: Array("not found".utf8))
            }
            return HTTPResponse(body: bodies[index])
        }
        return Fixture(
            server: server, expected: bodies.map { CRC32($0).value },
            directory: try TemporaryDirectory(prefix: "simul-table-download"),
            settings: settings)
    }

    func note(_ verdict: Verdict, figures: [Model: Double]) -> Phrase {
        switch verdict.winner {
        case .threads:
            return Phrase("agrees: a thread per file overlaps the transfers", "concorda: uma thread por arquivo basta")
        case .async:
            return Phrase("async overlaps the transfers as well as threads", "async sobrepõe tão bem quanto threads")
        case .processes, .sequential:
            return Phrase("too few downloads to pay for a pool", "downloads de menos para um pool")
        }
    }

    struct Fixture: ScenarioFixture {
        let server: LocalHTTPServer
        let expected: [UInt32]
        let directory: TemporaryDirectory
        let settings: TableSettings

        func run(_ model: Model) async throws -> Outcome {
            let port = server.port
            let folder = directory.path(for: model.rawValue)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let jobs = expected.indices.map {
                DownloadJob(port: port, index: $0, destination: "\(folder)/file-\($0).bin")
            }
            let digests: [[Int]]
            switch model {
            case .sequential:
                digests = try await Pools.onOneThread { try jobs.map(Download.run) }
            case .threads:
                digests = try await Pools.withThreads(jobs.count) { pool in
                    try await Pools.map(jobs, on: pool, Download.run)
                }
            case .processes:
                digests = try await Pools.withProcesses(settings.processes) { pool in
                    try await Pools.map(jobs, on: pool, Download.self)
                }
            case .async:
                let base = server.baseURL
                digests = try await AsyncHTTP.withClient(connections: jobs.count) { client in
                    try await jobs.concurrentMap(maxConcurrency: jobs.count) { job in
                        let body = try await AsyncHTTP.get("\(base)/files/\(job.index)", with: client)
                        return try job.save(body)
                    }
                }
            }
            for (index, digest) in digests.enumerated() where UInt32(digest[0]) != expected[index] {
                throw TableError(description: "download: file \(index) arrived corrupted under \(model.rawValue)")
            }
            var crc = CRC32()
            for digest in digests { crc.update(integer: UInt32(digest[0])) }
            let bytes = digests.reduce(0) { $0 + $1[1] }
            return Outcome(
                check: "files=\(digests.count) bytes=\(bytes) crc=\(crc)",
                details: ["files": .integer(Int64(digests.count)), "bytes": .integer(Int64(bytes))])
        }

        func tearDown() async throws {
            try await server.shutdown()
            directory.remove()
        }
    }
}

/// One file to download: where from and where to.
struct DownloadJob: Codable, Sendable {
    var port: Int
    var index: Int
    var destination: String

    /// Writes `body` to the destination, reads it back, and returns `[crc, bytes]` of what is on disk.
    func save(_ body: [UInt8]) throws -> [Int] {
        let url = URL(fileURLWithPath: destination)
        try Data(body).write(to: url)
        let stored = [UInt8](try Data(contentsOf: url))
        return [Int(CRC32(stored).value), stored.count]
    }
}

/// A blocking download, in a worker process or a thread.
struct Download: ProcessTask {
    static let name = "table.download"

    static func run(_ input: DownloadJob) throws -> [Int] {
        try input.save(BlockingHTTP.get("http://127.0.0.1:\(input.port)/files/\(input.index)", timeout: .seconds(30)))
    }
}
