import Foundation
import SimulTestSupport
import Testing

@testable import SimulDemos

@Suite struct WikipicsPNGTests {
    @Test func checksumsMatchTheirStandardCheckValues() {
        #expect(CRC32(Array("123456789".utf8)).value == 0xCBF4_3926)
        #expect(PNGEncoder.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
        #expect(PNGEncoder.adler32([]) == 1)
    }

    @Test func encodesAValidPNG() throws {
        let (width, height) = (7, 5)
        let pixels = (0..<(width * height * 3)).map { UInt8($0 % 251) }
        let png = PNGEncoder.encode(width: width, height: height, rgb: pixels, comment: "hello")
        #expect(
            png.count == PNGEncoder.encodedSize(width: width, height: height) + PNGEncoder.commentSize(characters: 5))
        let chunks = try Chunks.parse(png)
        #expect(chunks.map(\.type) == ["IHDR", "tEXt", "IDAT", "IEND"])
        for chunk in chunks {
            #expect(chunk.crc == CRC32(Array(chunk.type.utf8) + chunk.data).value, "CRC of \(chunk.type)")
        }
        #expect(chunks[0].data == [0, 0, 0, 7, 0, 0, 0, 5, 8, 2, 0, 0, 0])
        #expect(chunks[1].data == Array("Comment\0hello".utf8))
        #expect(try Inflate.stored(chunks[2].data) == Self.rows(pixels, width: width))
    }

    @Test func spreadsLargeImagesOverSeveralStoredBlocks() throws {
        let (width, height) = (300, 200)  // 180,200 bytes of rows: three stored blocks
        let pixels = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let png = PNGEncoder.encode(width: width, height: height, rgb: pixels)
        #expect(png.count == PNGEncoder.encodedSize(width: width, height: height))
        let chunks = try Chunks.parse(png)
        #expect(try Inflate.stored(chunks[1].data) == Self.rows(pixels, width: width))
    }

    @Test func pythonsZlibReadsTheImageDataAndAgreesOnEveryCRC() throws {
        let png = GeneratedPictures.png(at: 0, size: 150_000)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("simul-\(UUID().uuidString).png")
        try Data(png).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = """
            import struct, sys, zlib
            data = open(sys.argv[1], "rb").read()
            assert data[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
            i, idat = 8, b""
            while i < len(data):
                (length,) = struct.unpack(">I", data[i:i + 4])
                kind, body = data[i + 4:i + 8], data[i + 8:i + 8 + length]
                (crc,) = struct.unpack(">I", data[i + 8 + length:i + 12 + length])
                assert zlib.crc32(kind + body) == crc, kind
                if kind == b"IHDR":
                    width, height = struct.unpack(">II", body[:8])
                if kind == b"IDAT":
                    idat += body
                i += 12 + length
            raw = zlib.decompress(idat)
            assert len(raw) == height * (3 * width + 1)
            print(width, height, len(raw))
            """
        let output = try runPython(script, file.path)
        let parts = output.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        try #require(parts.count == 3)
        #expect(parts[0] > parts[1])  // landscape, 4:3
        #expect(parts[2] == parts[1] * (3 * parts[0] + 1))
    }

    @Test(arguments: [200_000, 500_000, 1_000_000, 5_000, 1_234])
    func generatedPicturesHaveExactlyTheRequestedSize(size: Int) throws {
        let png = GeneratedPictures.png(at: 3, size: size)
        #expect(png.count == size)
        #expect(png.starts(with: PNGEncoder.signature))
        #expect(try Chunks.parse(png).map(\.type) == ["IHDR", "tEXt", "IDAT", "IEND"])
    }

    @Test func aTinySizeStillGivesAWholePicture() throws {
        let png = GeneratedPictures.png(at: 0, size: 10)
        let chunks = try Chunks.parse(png)
        #expect(chunks.first?.data.prefix(8) == [0, 0, 0, 16, 0, 0, 0, 12])
    }

    @Test func picturesDifferAndRepeatExactly() {
        #expect(GeneratedPictures.png(at: 0, size: 20_000) != GeneratedPictures.png(at: 1, size: 20_000))
        #expect(GeneratedPictures.png(at: 5, size: 20_000) == GeneratedPictures.png(at: 5, size: 20_000))
    }

    @Test func namesCycleThroughWikipediaTitles() {
        let count = GeneratedPictures.titles.count
        #expect(count >= 20)
        #expect(GeneratedPictures.name(at: 0) == "Ada_Lovelace.png")
        #expect(GeneratedPictures.name(at: count) == "Ada_Lovelace_2.png")
        #expect(Set((0..<(3 * count)).map(GeneratedPictures.name(at:))).count == 3 * count)
    }

    @Test func everyTitleCharacterHasAGlyph() {
        let question = BitmapFont.glyph("?")
        for title in GeneratedPictures.titles {
            for character in title where character != "?" {
                #expect(BitmapFont.glyph(character) != question, "no glyph for \(character) in \(title)")
            }
        }
    }

    @Test func theTitleIsDrawnInWhite() {
        let (width, height) = (200, 150)
        var pixels = [UInt8](repeating: 100, count: width * height * 3)
        GeneratedPictures.draw("ADA", on: &pixels, width: width, height: height)
        #expect(pixels.contains(255))
        #expect(pixels.contains(30))  // the darkened band under the text
    }

    static func rows(_ pixels: [UInt8], width: Int) -> [UInt8] {
        stride(from: 0, to: pixels.count, by: width * 3).flatMap { [0] + pixels[$0..<($0 + width * 3)] }
    }
}

/// A PNG's chunks, read back independently of the encoder.
struct Chunks {
    struct Chunk {
        var type: String
        var data: [UInt8]
        var crc: UInt32
    }

    struct Malformed: Error {}

    static func parse(_ png: [UInt8]) throws -> [Chunk] {
        guard png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw Malformed() }
        var chunks: [Chunk] = []
        var index = 8
        func word(_ at: Int) -> UInt32 { png[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) } }
        while index < png.count {
            guard index + 12 <= png.count else { throw Malformed() }
            let length = Int(word(index))
            guard index + 12 + length <= png.count else { throw Malformed() }
            let type = String(decoding: png[(index + 4)..<(index + 8)], as: UTF8.self)
            let data = Array(png[(index + 8)..<(index + 8 + length)])
            chunks.append(Chunk(type: type, data: data, crc: word(index + 8 + length)))
            index += 12 + length
        }
        return chunks
    }
}

/// Reads a zlib stream of stored deflate blocks, checking its header and Adler-32.
enum Inflate {
    struct Malformed: Error {}

    static func stored(_ zlib: [UInt8]) throws -> [UInt8] {
        guard zlib.count >= 6, zlib[0] & 0x0F == 8, (UInt16(zlib[0]) << 8 | UInt16(zlib[1])) % 31 == 0 else {
            throw Malformed()
        }
        var out: [UInt8] = []
        var index = 2
        while true {
            let header = zlib[index]
            guard header & 0b110 == 0 else { throw Malformed() }  // only stored blocks
            let length = Int(zlib[index + 1]) | Int(zlib[index + 2]) << 8
            let complement = Int(zlib[index + 3]) | Int(zlib[index + 4]) << 8
            guard length ^ complement == 0xFFFF else { throw Malformed() }
            out += zlib[(index + 5)..<(index + 5 + length)]
            index += 5 + length
            if header & 1 == 1 { break }
        }
        let adler = zlib[index..<(index + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard adler == PNGEncoder.adler32(out), index + 4 == zlib.count else { throw Malformed() }
        return out
    }
}

/// Runs a Python script with `python3` and returns what it printed; throws with its error output if it fails.
func runPython(_ script: String, _ arguments: String...) throws -> String {
    struct PythonFailed: Error, CustomStringConvertible { var description: String }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let text = String(decoding: try output.fileHandleForReading.readAll(), as: UTF8.self)
    let errorText = String(decoding: try errors.fileHandleForReading.readAll(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw PythonFailed(description: errorText) }
    return text
}
