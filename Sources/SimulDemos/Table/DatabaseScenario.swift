import Foundation
import GRDB
import Simul
import SimulJSON
import Synchronization

/// Row 10, "Ler/escrever DB": a mix of durable write transactions (new orders) and reporting queries (price bands
/// of the catalogue) on one SQLite file in WAL mode, through GRDB.
struct DatabaseScenario: Scenario {
    let key = "database"
    let title = Phrase("Database reads/writes", "Ler/escrever DB")
    let advice = SeedAdvice([.async], Phrase("I/O-bound, concurrency", "I/O-bound, concorrência"))

    func size(quick: Bool) -> Workload {
        quick
            ? Workload(products: 8_000, writes: 10, rowsPerWrite: 100, reads: 40)
            : Workload(products: 40_000, writes: 40, rowsPerWrite: 200, reads: 160)
    }

    var workload: Phrase {
        let size = size(quick: false)
        return Phrase(
            "SQLite (GRDB, WAL, synchronous=FULL): \(size.writes) transactions of \(size.rowsPerWrite) inserts "
                + "among \(size.reads) aggregate queries over \(size.products) products",
            "SQLite (GRDB, WAL, synchronous=FULL): \(size.writes) transações de \(size.rowsPerWrite) inserções "
                + "entre \(size.reads) consultas de agregação sobre \(size.products) produtos")
    }

    func prepare(_ settings: TableSettings) async throws -> any ScenarioFixture {
        let size = size(quick: settings.quick)
        let directory = try TemporaryDirectory(prefix: "simul-table-db")
        let base = directory.path(for: "base.sqlite")
        try size.createBase(at: base)
        var paths: [Model: String] = [:]
        for model in models {
            let path = directory.path(for: "\(model.rawValue).sqlite")
            try FileManager.default.copyItem(atPath: base, toPath: path)
            paths[model] = path
        }
        return Fixture(directory: directory, paths: paths, size: size, settings: settings)
    }

    func note(_ verdict: Verdict, figures: [Model: Double]) -> Phrase {
        switch verdict.winner {
        case .async:
            return Phrase(
                "agrees: GRDB's async reads run side by side in WAL mode",
                "concorda: as leituras async do GRDB rodam lado a lado no modo WAL")
        case .threads:
            return Phrase(
                "SQLite is C, with no GIL to hold: threads query on every core",
                "SQLite é C, sem GIL: threads consultam em todos os núcleos")
        case .processes:
            return Phrase(
                "processes: own connections each, SQLite's locks order the writes",
                "processos: conexões próprias, os locks do SQLite ordenam as escritas")
        case .sequential:
            return Phrase("too little work for concurrency to pay", "trabalho pequeno demais para concorrência")
        }
    }

    struct Fixture: ScenarioFixture {
        let directory: TemporaryDirectory
        let paths: [Model: String]
        let size: Workload
        let settings: TableSettings

        func run(_ model: Model) async throws -> Outcome {
            let path = paths[model]!
            let size = size
            let items = size.items
            let results: [[Int]]
            let totals: [Int]
            switch model {
            case .sequential:
                (results, totals) = try await Pools.onOneThread {
                    let queue = try DatabaseQueue(path: path, configuration: Workload.configuration)
                    let results = try items.map { item in
                        try item.isWrite
                            ? queue.write { try size.write(batch: item.index, in: $0) }
                            : queue.read { try size.read(query: item.index, in: $0) }
                    }
                    return (results, try queue.read(Workload.totals))
                }
            case .threads:
                let database = try DatabasePool(path: path, configuration: Workload.configuration)
                results = try await Pools.withThreads(Workload.connections) { pool in
                    try await Pools.map(items, on: pool) { item in
                        try item.isWrite
                            ? database.write { try size.write(batch: item.index, in: $0) }
                            : database.read { try size.read(query: item.index, in: $0) }
                    }
                }
                totals = try await database.read(Workload.totals)
            case .processes:
                let chunks = stride(from: 0, to: items.count, by: 8).map { Array(items[$0..<min(items.count, $0 + 8)]) }
                results = try await Pools.withProcesses(settings.processes) { pool in
                    try await Pools.map(
                        chunks.map { DatabaseJob(path: path, size: size, items: $0) }, on: pool, RunQueries.self)
                }.flatMap { $0 }
                totals = try await DatabaseQueue(path: path, configuration: Workload.configuration).read(
                    Workload.totals)
            case .async:
                let database = try DatabasePool(path: path, configuration: Workload.configuration)
                results = try await items.concurrentMap(maxConcurrency: Workload.connections) { item in
                    try await item.isWrite
                        ? database.write { try size.write(batch: item.index, in: $0) }
                        : database.read { try size.read(query: item.index, in: $0) }
                }
                totals = try await database.read(Workload.totals)
            }
            var crc = CRC32()
            for result in results { for value in result { crc.update(integer: Int64(value)) } }
            return Outcome(
                check: "orders=\(totals[0]) amount=\(totals[1]) weighted=\(totals[2]) reads=\(crc)",
                details: ["orders": .integer(Int64(totals[0])), "queries": .integer(Int64(size.reads))])
        }

        func tearDown() async throws { directory.remove() }
    }
}

/// One step of the database mix: a write transaction or a query, by number.
struct DatabaseItem: Codable, Sendable {
    var isWrite: Bool
    var index: Int
}

/// The database row's sizes, schema and statements.
struct Workload: Codable, Sendable {
    var products: Int
    var writes: Int
    var rowsPerWrite: Int
    var reads: Int

    /// Connections a concurrent model uses at once.
    static let connections = 8

    /// WAL, every commit synced to disk, and a busy timeout so writers in other processes wait their turn.
    static var configuration: Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.maximumReaderCount = connections
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        return configuration
    }

    /// The writes spread evenly among the reads.
    var items: [DatabaseItem] {
        var items = (0..<reads).map { DatabaseItem(isWrite: false, index: $0) }
        for batch in (0..<writes).reversed() {
            items.insert(DatabaseItem(isWrite: true, index: batch), at: batch * reads / writes)
        }
        return items
    }

    func createBase(at path: String) throws {
        let queue = try DatabaseQueue(path: path)
        _ = try queue.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE products (id INTEGER PRIMARY KEY, category INTEGER NOT NULL, price INTEGER NOT NULL,
                                           name TEXT NOT NULL);
                    CREATE TABLE orders (id INTEGER PRIMARY KEY, product INTEGER NOT NULL, quantity INTEGER NOT NULL,
                                         amount INTEGER NOT NULL);
                    """)
            let insert = try db.makeStatement(sql: "INSERT INTO products VALUES (?, ?, ?, ?)")
            for id in 0..<products {
                let random = SplitMix64.mix(UInt64(id) &+ 0xDB)
                try insert.execute(arguments: [id, Int(random % 40), Int((random >> 8) % 100_000), "produto \(id)"])
            }
        }
    }

    /// Inserts batch `batch` of orders; returns `[]`.
    func write(batch: Int, in db: Database) throws -> [Int] {
        let insert = try db.cachedStatement(sql: "INSERT INTO orders VALUES (?, ?, ?, ?)")
        for id in (batch * rowsPerWrite)..<((batch + 1) * rowsPerWrite) {
            let random = SplitMix64.mix(UInt64(id) &+ 0x0D)
            try insert.execute(arguments: [
                id, Int(random % UInt64(products)), Int((random >> 20) % 5) + 1, Int((random >> 32) % 10_000),
            ])
        }
        return []
    }

    /// Query `query`: per category, the count and total price of the products in a price band.
    func read(query: Int, in db: Database) throws -> [Int] {
        let low = Int(SplitMix64.mix(UInt64(query) &+ 0xAB) % 80_000)
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT category, COUNT(*), SUM(price), MAX(length(name)) FROM products
                WHERE price BETWEEN ? AND ? GROUP BY category ORDER BY category
                """,
            arguments: [low, low + 20_000])
        return rows.flatMap { row in [row[0] as Int, row[1] as Int, row[2] as Int, row[3] as Int] }
    }

    /// `[count, sum of amounts, Σ id·amount mod 1000003]` of the orders.
    static func totals(_ db: Database) throws -> [Int] {
        let row = try Row.fetchOne(
            db, sql: "SELECT COUNT(*), COALESCE(SUM(amount), 0), COALESCE(SUM(id * amount % 1000003), 0) FROM orders")!
        return [row[0], row[1], row[2]]
    }
}

/// A chunk of the database mix for a worker.
struct DatabaseJob: Codable, Sendable {
    var path: String
    var size: Workload
    var items: [DatabaseItem]
}

/// The worker side of the database row: runs a chunk of the mix on the worker's own connection pool.
struct RunQueries: ProcessTask {
    static let name = "table.run-queries"

    private static let pools = Mutex<[String: DatabasePool]>([:])

    static func run(_ input: DatabaseJob) throws -> [[Int]] {
        let database = try pools.withLock { pools in
            if let pool = pools[input.path] { return pool }
            let pool = try DatabasePool(path: input.path, configuration: Workload.configuration)
            pools[input.path] = pool
            return pool
        }
        return try input.items.map { item in
            try item.isWrite
                ? database.write { try input.size.write(batch: item.index, in: $0) }
                : database.read { try input.size.read(query: item.index, in: $0) }
        }
    }
}
