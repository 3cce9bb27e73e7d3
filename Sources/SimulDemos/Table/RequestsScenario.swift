import Foundation
import Simul
import SimulJSON
import SimulTasks

/// Row 1, "Requisições HTTP múltiplas": many small JSON GETs to a local API server that takes a while to answer.
struct RequestsScenario: Scenario {
    let key = "http"
    let title = Phrase("Many HTTP requests", "Requisições HTTP múltiplas")
    let advice = SeedAdvice([.async], Phrase("I/O-bound, high scalability", "I/O-bound, alta escalabilidade"))

    func size(quick: Bool) -> (requests: Int, latency: Duration) {
        quick ? (40, .milliseconds(4)) : (120, .milliseconds(8))
    }

    var workload: Phrase {
        let (requests, latency) = size(quick: false)
        return Phrase(
            "\(requests) JSON GETs to a local API with \(latency.timeDescription) latency, decoded and summed",
            "\(requests) GETs de JSON numa API local com \(latency.timeDescription) de latência, decodificados e somados"
        )
    }

    func prepare(_ settings: TableSettings) async throws -> any ScenarioFixture {
        let (requests, latency) = size(quick: settings.quick)
        let server = try await LocalHTTPServer.start(latency: latency) { _, path in
            guard let id = Int(path.split(separator: "/").last ?? "") else {
                return HTTPResponse(status: 404, contentType: "text/plain", body: Array("not found".utf8))
            }
            return HTTPResponse(contentType: "application/json", body: CatalogItem.make(id: id).json)
        }
        return Fixture(server: server, ids: Array(0..<requests), settings: settings)
    }

    func note(_ verdict: Verdict, figures: [Model: Double]) -> Phrase {
        switch verdict.winner {
        case .async:
            return Phrase(
                "agrees: one event loop overlaps every wait", "concorda: um event loop sobrepõe todas as esperas")
        case .threads:
            return Phrase(
                "32 threads overlap the waits as well as async", "32 threads sobrepõem as esperas tão bem quanto async")
        case .processes, .sequential:
            return Phrase("the waits are too short to matter", "as esperas são curtas demais para importar")
        }
    }

    struct Fixture: ScenarioFixture {
        let server: LocalHTTPServer
        let ids: [Int]
        let settings: TableSettings

        func run(_ model: Model) async throws -> Outcome {
            let port = server.port
            let ids = ids
            let digests: [ItemDigest]
            switch model {
            case .sequential:
                digests = try await Pools.onOneThread { try ids.map { try ItemDigest.fetch(port: port, id: $0) } }
            case .threads:
                digests = try await Pools.withThreads(settings.ioThreads) { pool in
                    try await Pools.map(ids, on: pool) { try ItemDigest.fetch(port: port, id: $0) }
                }
            case .processes:
                digests = try await Pools.withProcesses(settings.processes) { pool in
                    try await Pools.map(ids.map { [port, $0] }, on: pool, FetchItem.self).map(ItemDigest.init(raw:))
                }
            case .async:
                let base = server.baseURL
                digests = try await AsyncHTTP.withClient(connections: ids.count) { client in
                    try await ids.concurrentMap(maxConcurrency: ids.count) { id in
                        try ItemDigest(body: try await AsyncHTTP.get("\(base)/items/\(id)", with: client))
                    }
                }
            }
            var crc = CRC32()
            for digest in digests { crc.update(integer: digest.crc) }
            let cents = digests.reduce(0) { $0 + $1.cents }
            return Outcome(
                check: "items=\(digests.count) cents=\(cents) crc=\(crc)",
                details: ["items": .integer(Int64(digests.count)), "cents": .integer(Int64(cents))])
        }

        func tearDown() async throws { try await server.shutdown() }
    }
}

/// An item of the local API: what the server encodes and the clients decode.
struct CatalogItem: Codable, Sendable, Equatable {
    var id: Int
    var name: String
    var priceCents: Int
    var tags: [String]

    /// The item `id`, the same every time.
    static func make(id: Int) -> CatalogItem {
        var random = SplitMix64(seed: UInt64(id) &* 7919)
        let tags = (0..<Int(random.next() % 5 + 1)).map { _ in "tag\(random.next() % 100)" }
        return CatalogItem(id: id, name: "item \(id)", priceCents: Int(random.next() % 100_000), tags: tags)
    }

    var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Array((try? encoder.encode(self)) ?? Data())
    }
}

/// What a client keeps of one response: the decoded price and the body's checksum.
struct ItemDigest: Sendable, Equatable {
    var cents: Int
    var crc: UInt32

    init(body: [UInt8]) throws {
        cents = try JSONDecoder().decode(CatalogItem.self, from: Data(body)).priceCents
        crc = CRC32(body).value
    }

    init(raw: [Int]) {
        cents = raw[0]
        crc = UInt32(raw[1])
    }

    var raw: [Int] { [cents, Int(crc)] }

    static func fetch(port: Int, id: Int) throws -> ItemDigest {
        try ItemDigest(body: BlockingHTTP.get("http://127.0.0.1:\(port)/items/\(id)", timeout: .seconds(30)))
    }
}

/// The worker side of the HTTP row: `[port, id]` in, `[cents, crc]` out.
struct FetchItem: ProcessTask {
    static let name = "table.fetch-item"

    static func run(_ input: [Int]) throws -> [Int] {
        try ItemDigest.fetch(port: input[0], id: input[1]).raw
    }
}
