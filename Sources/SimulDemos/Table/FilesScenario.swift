import Foundation
import Simul
import SimulJSON

/// Row 2, "Processar arquivos grandes": read CSV files from disk, checksum, compress and parse each.
struct FilesScenario: Scenario {
    let key = "files"
    let title = Phrase("Big files", "Processar arquivos grandes")
    let advice = SeedAdvice([.processes], Phrase("CPU-bound, real parallelism", "CPU-bound, paralelismo real"))

    func size(quick: Bool) -> (files: Int, bytes: Int) {
        quick ? (6, 1 << 20) : (16, 5 << 20)
    }

    var workload: Phrase {
        let (files, bytes) = size(quick: false)
        return Phrase(
            "\(files) CSV files of \(bytes >> 20) MB: read, CRC-32, LZ77-compress, and parse and aggregate each",
            "\(files) arquivos CSV de \(bytes >> 20) MB: ler, CRC-32, comprimir (LZ77), analisar e agregar cada um")
    }

    func prepare(_ settings: TableSettings) async throws -> any ScenarioFixture {
        let (files, bytes) = size(quick: settings.quick)
        let directory = try TemporaryDirectory(prefix: "simul-table-files")
        let paths = try (0..<files).map { index in
            let path = directory.path(for: "orders-\(index).csv")
            try Data(CSVOrders.make(seed: UInt64(index), bytes: bytes)).write(to: URL(fileURLWithPath: path))
            return path
        }
        return Fixture(directory: directory, paths: paths, settings: settings)
    }

    func note(_ verdict: Verdict, figures: [Model: Double]) -> Phrase {
        cpuBoundNote(verdict)
    }

    struct Fixture: ScenarioFixture {
        let directory: TemporaryDirectory
        let paths: [String]
        let settings: TableSettings

        func run(_ model: Model) async throws -> Outcome {
            let paths = paths
            let digests: [FileDigest]
            switch model {
            case .sequential:
                digests = try await Pools.onOneThread { try paths.map(FileDigest.init(path:)) }
            case .threads:
                digests = try await Pools.withThreads(settings.cpuThreads) { pool in
                    try await Pools.map(paths, on: pool, FileDigest.init(path:))
                }
            case .processes:
                digests = try await Pools.withProcesses(settings.processes) { pool in
                    try await Pools.map(paths, on: pool, DigestFile.self).map(FileDigest.init(raw:))
                }
            case .async:
                digests = try await paths.concurrentMap(maxConcurrency: paths.count) { try FileDigest(path: $0) }
            }
            var crc = CRC32()
            for digest in digests { for value in digest.raw { crc.update(integer: Int64(value)) } }
            let lines = digests.reduce(0) { $0 + $1.records.lines }
            let compressed = digests.reduce(0) { $0 + $1.compressed }
            return Outcome(
                check: "lines=\(lines) compressed=\(compressed) digests=\(crc)",
                details: [
                    "files": .integer(Int64(digests.count)), "lines": .integer(Int64(lines)),
                    "compressed_bytes": .integer(Int64(compressed)),
                ])
        }

        func tearDown() async throws { directory.remove() }
    }
}

/// Generated order records: `id,customer,amount_cents,comment` lines.
enum CSVOrders {
    private static let words = [
        "bolo", "chocolate", "cenoura", "entrega", "rápida", "cliente", "pedido", "pago", "pix", "cartão", "fubá",
        "laranja", "milho", "coco", "limão", "morango", "urgente", "presente", "festa", "aniversário",
    ]

    /// About `bytes` bytes of records, the same for the same seed.
    static func make(seed: UInt64, bytes: Int) -> [UInt8] {
        var random = SplitMix64(seed: seed &+ 0xF11E)
        var output: [UInt8] = []
        output.reserveCapacity(bytes + 200)
        output += Array("id,customer,amount_cents,comment\n".utf8)
        var id = 0
        while output.count < bytes {
            let customer = random.next() % 5_000
            let amount = random.next() % 250_000
            var line = "\(id),c\(customer),\(amount),"
            for word in 0..<Int(random.next() % 6 + 2) {
                if word > 0 { line += " " }
                line += words[Int(random.next() % UInt64(words.count))]
            }
            output += Array((line + "\n").utf8)
            id += 1
        }
        return output
    }
}

/// What processing one file gives: its CRC-32 and LZ77-compressed size, and from parsing its records their count,
/// total amount, distinct customers and the biggest one's total, distinct comment words and the commonest one's
/// count.
struct FileDigest: Sendable, Equatable {
    var crc: UInt32
    var compressed: Int
    var records: Records

    init(path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        crc = CRC32(bytes).value
        compressed = LZ77.compressedSize(bytes)
        records = Records(csv: bytes)
    }

    init(raw: [Int]) {
        crc = UInt32(raw[0])
        compressed = raw[1]
        records = Records(
            lines: raw[2], cents: raw[3], customers: raw[4], topCustomerCents: raw[5], words: raw[6],
            topWordCount: raw[7])
    }

    var raw: [Int] {
        [
            Int(crc), compressed, records.lines, records.cents, records.customers, records.topCustomerCents,
            records.words, records.topWordCount,
        ]
    }

    /// The parsed figures of one CSV file.
    struct Records: Sendable, Equatable {
        var lines = 0
        var cents = 0
        var customers = 0
        var topCustomerCents = 0
        var words = 0
        var topWordCount = 0

        init(lines: Int, cents: Int, customers: Int, topCustomerCents: Int, words: Int, topWordCount: Int) {
            self.lines = lines
            self.cents = cents
            self.customers = customers
            self.topCustomerCents = topCustomerCents
            self.words = words
            self.topWordCount = topWordCount
        }

        /// Parses `id,customer,amount_cents,comment` records after a header line.
        init(csv bytes: [UInt8]) {
            var perCustomer: [Int: Int] = [:]
            var perWord: [UInt64: Int] = [:]
            var field = 0
            var customer = 0
            var amount = 0
            var word: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a offset basis
            var inWord = false
            let start = (bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count - 1) + 1
            for byte in bytes[start...] {
                if field == 3 {
                    if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
                        if inWord { perWord[word, default: 0] += 1 }
                        word = 0xCBF2_9CE4_8422_2325
                        inWord = false
                    } else {
                        word = (word ^ UInt64(byte)) &* 0x100_0000_01B3
                        inWord = true
                    }
                }
                switch byte {
                case UInt8(ascii: "\n"):
                    lines += 1
                    cents += amount
                    perCustomer[customer, default: 0] += amount
                    field = 0
                    customer = 0
                    amount = 0
                case UInt8(ascii: ",") where field < 3:
                    field += 1
                case UInt8(ascii: "0")...UInt8(ascii: "9") where field == 1:
                    customer = customer * 10 + Int(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "0")...UInt8(ascii: "9") where field == 2:
                    amount = amount * 10 + Int(byte - UInt8(ascii: "0"))
                default:
                    break
                }
            }
            customers = perCustomer.count
            topCustomerCents = perCustomer.values.max() ?? 0
            words = perWord.count
            topWordCount = perWord.values.max() ?? 0
        }
    }
}

/// A greedy LZ77 compressor in the style of LZ4: a hash table of 4-byte sequences, matches within 64 KiB.
enum LZ77 {
    /// The size of `bytes` compressed: a token per run of literals and match, the literals, 2-byte offsets, and
    /// length bytes over 15.
    static func compressedSize(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { buffer in
            let count = buffer.count
            var table = [Int32](repeating: -1, count: 1 << 14)
            var size = 0
            var literals = 0
            var index = 0
            table.withUnsafeMutableBufferPointer { table in
                while index + 4 <= count {
                    let word = buffer.loadUnaligned(fromByteOffset: index, as: UInt32.self)
                    let slot = Int((word &* 2_654_435_761) >> 18)
                    let candidate = Int(table[slot])
                    table[slot] = Int32(index)
                    guard candidate >= 0, index - candidate < 65_536,
                        buffer.loadUnaligned(fromByteOffset: candidate, as: UInt32.self) == word
                    else {
                        literals += 1
                        index += 1
                        continue
                    }
                    var length = 4
                    while index + length < count, buffer[candidate + length] == buffer[index + length] { length += 1 }
                    size += 1 + literals + literals / 255 + 2 + (length - 4) / 255
                    literals = 0
                    index += length
                }
            }
            literals += count - index
            return size + 1 + literals + literals / 255
        }
    }
}

/// The worker side of the files row: a path in, `[crc, compressed, lines, cents]` out.
struct DigestFile: ProcessTask {
    static let name = "table.digest-file"

    static func run(_ input: String) throws -> [Int] { try FileDigest(path: input).raw }
}
