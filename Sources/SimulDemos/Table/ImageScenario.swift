import Foundation
import Simul
import SimulJSON

/// Row 5, "Processamento de imagens": an edge-preserving (bilateral) blur of a generated RGB photo, in bands of
/// rows.
struct ImageScenario: Scenario {
    let key = "image"
    let title = Phrase("Image processing", "Processamento de imagens")
    let advice = SeedAdvice([.processes], Phrase("CPU-bound, get round the GIL", "CPU-bound, contornar GIL"))

    func size(quick: Bool) -> (width: Int, height: Int) {
        quick ? (960, 540) : (2560, 1440)
    }

    var workload: Phrase {
        let (width, height) = size(quick: false)
        return Phrase(
            "a 7×7 bilateral blur of a \(width)×\(height) RGB image, in 16 bands of rows",
            "um desfoque bilateral 7×7 de uma imagem RGB \(width)×\(height), em 16 faixas de linhas")
    }

    func prepare(_ settings: TableSettings) async throws -> any ScenarioFixture {
        let (width, height) = size(quick: settings.quick)
        let image = RGBImage.generate(width: width, height: height)
        let bands = (0..<16).map { band in (height * band / 16)..<(height * (band + 1) / 16) }
        return Fixture(image: image, bands: bands, settings: settings)
    }

    func note(_ verdict: Verdict, figures: [Model: Double]) -> Phrase {
        cpuBoundNote(verdict, extra: Phrase("spawn and copy each band both ways", "spawn e copiam cada faixa"))
    }

    struct Fixture: ScenarioFixture {
        let image: RGBImage
        let bands: [Range<Int>]
        let settings: TableSettings

        func run(_ model: Model) async throws -> Outcome {
            let image = image
            let bands = bands
            let pieces: [[UInt8]]
            switch model {
            case .sequential:
                pieces = try await Pools.onOneThread { [image.bilateral(rows: 0..<image.height)] }
            case .threads:
                pieces = try await Pools.withThreads(settings.cpuThreads) { pool in
                    try await Pools.map(bands, on: pool) { image.bilateral(rows: $0) }
                }
            case .processes:
                pieces = try await Pools.withProcesses(settings.processes) { pool in
                    try await Pools.map(bands.map { image.packedBand($0) }, on: pool, BilateralBand.self)
                        .map(RGBImage.unpackBytes)
                }
            case .async:
                pieces = try await bands.concurrentMap(maxConcurrency: bands.count) { image.bilateral(rows: $0) }
            }
            var crc = CRC32()
            var bytes = 0
            for piece in pieces {
                crc.update(piece)
                bytes += piece.count
            }
            guard bytes == image.pixels.count else {
                throw TableError(
                    description: "image: \(model.rawValue) returned \(bytes) bytes, not \(image.pixels.count)")
            }
            return Outcome(check: "bytes=\(bytes) crc=\(crc)", details: ["crc": .string(crc.description)])
        }

        func tearDown() async throws {}
    }
}

/// An 8-bit RGB image, rows top to bottom.
struct RGBImage: Sendable {
    var width: Int
    var height: Int
    var pixels: [UInt8]

    /// Filter radius: 7×7 neighbourhoods.
    static let radius = 3

    /// A synthetic photo: smooth gradients, a few hard-edged discs, and sensor noise.
    static func generate(width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        var random = SplitMix64(seed: 0x1A6E)
        let discs = (0..<12).map { _ in
            (
                x: Int(random.next() % UInt64(width)), y: Int(random.next() % UInt64(height)),
                r: Int(random.next() % UInt64(max(1, height / 4))) + 8, color: random.next()
            )
        }
        for y in 0..<height {
            for x in 0..<width {
                var rgb = [x * 255 / max(1, width - 1), y * 255 / max(1, height - 1), (x + y) * 255 / (width + height)]
                for disc in discs where (x - disc.x) * (x - disc.x) + (y - disc.y) * (y - disc.y) < disc.r * disc.r {
                    rgb = [Int(disc.color & 0xFF), Int((disc.color >> 8) & 0xFF), Int((disc.color >> 16) & 0xFF)]
                }
                let noise = SplitMix64.mix(UInt64(y * width + x))
                for channel in 0..<3 {
                    let jitter = Int((noise >> (8 * channel)) & 0x1F) - 16
                    pixels[(y * width + x) * 3 + channel] = UInt8(clamping: rgb[channel] + jitter)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Spatial weights (a 7×7 Gaussian, σ≈1.5) and range weights by summed absolute RGB difference (σ≈40 per
    /// channel), as integers so every model rounds the same way.
    private static let spatial: [Int] = (-radius...radius).flatMap { (dy: Int) -> [Int] in
        (-radius...radius).map { (dx: Int) -> Int in
            let distance = Double(dx * dx + dy * dy)
            return Int((exp(-distance / (2 * 2.25)) * 64).rounded())
        }
    }
    private static let range: [Int] = (0...765).map { (difference: Int) -> Int in
        let squared = Double(difference * difference)
        return Int((exp(-squared / (2 * 120.0 * 120.0)) * 256).rounded())
    }

    /// The bilateral blur of `rows`, clamped at this image's edges; returns those rows' pixels.
    func bilateral(rows: Range<Int>) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: rows.count * width * 3)
        let radius = Self.radius
        let side = 2 * radius + 1
        pixels.withUnsafeBufferPointer { input in
            Self.spatial.withUnsafeBufferPointer { spatial in
                Self.range.withUnsafeBufferPointer { range in
                    output.withUnsafeMutableBufferPointer { output in
                        for y in rows {
                            for x in 0..<width {
                                let center = (y * width + x) * 3
                                let r0 = Int(input[center])
                                let g0 = Int(input[center + 1])
                                let b0 = Int(input[center + 2])
                                var total = 0
                                var r = 0
                                var g = 0
                                var b = 0
                                for dy in -radius...radius {
                                    let row = min(max(y + dy, 0), height - 1) * width
                                    for dx in -radius...radius {
                                        let at = (row + min(max(x + dx, 0), width - 1)) * 3
                                        let rn = Int(input[at])
                                        let gn = Int(input[at + 1])
                                        let bn = Int(input[at + 2])
                                        let difference: Int = abs(rn - r0) + abs(gn - g0) + abs(bn - b0)
                                        let weight: Int =
                                            spatial[(dy + radius) * side + dx + radius] * range[difference]
                                        total += weight
                                        r += weight * rn
                                        g += weight * gn
                                        b += weight * bn
                                    }
                                }
                                let out = ((y - rows.lowerBound) * width + x) * 3
                                output[out] = UInt8((r + total / 2) / total)
                                output[out + 1] = UInt8((g + total / 2) / total)
                                output[out + 2] = UInt8((b + total / 2) / total)
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// `rows` with `radius` rows of context above and below, as raw integers for a worker:
    /// `[width, height, first row, row count, byte count, bytes packed eight to a word…]`.
    func packedBand(_ rows: Range<Int>) -> [UInt64] {
        let top = max(0, rows.lowerBound - Self.radius)
        let bottom = min(height, rows.upperBound + Self.radius)
        let slice = Array(pixels[(top * width * 3)..<(bottom * width * 3)])
        return [UInt64(width), UInt64(bottom - top), UInt64(rows.lowerBound - top), UInt64(rows.count)]
            + Self.packBytes(slice)
    }

    /// Bytes as `[count, words…]`, eight bytes to a little-endian word.
    static func packBytes(_ bytes: [UInt8]) -> [UInt64] {
        var words = [UInt64](repeating: 0, count: (bytes.count + 7) / 8)
        words.withUnsafeMutableBytes { raw in bytes.withUnsafeBytes { raw.copyMemory(from: $0) } }
        return [UInt64(bytes.count)] + words
    }

    static func unpackBytes(_ words: [UInt64]) -> [UInt8] {
        let count = Int(words[0])
        return words[1...].withUnsafeBytes { Array($0.prefix(count)) }
    }
}

/// The worker side of the image row: a packed band with its context rows in, its blurred rows out.
struct BilateralBand: ProcessTask {
    static let name = "table.bilateral-band"

    static func run(_ input: [UInt64]) -> [UInt64] {
        let width = Int(input[0])
        let height = Int(input[1])
        let first = Int(input[2])
        let count = Int(input[3])
        let image = RGBImage(width: width, height: height, pixels: RGBImage.unpackBytes(Array(input[4...])))
        return RGBImage.packBytes(image.bilateral(rows: first..<first + count))
    }
}
