import Foundation

/// A grayscale image in the portable graymap format (PGM, `P5`), which needs no image library, so that the example
/// stays about the queue.
struct Graymap: Sendable, Equatable {
    var width: Int
    var height: Int
    /// One byte per pixel, row by row.
    var pixels: [UInt8]

    /// The largest side this example reads or makes.
    static let maxSide = 8192

    /// A test card `size` pixels square: rings around the centre, so its thumbnail is easy to recognise.
    static func testCard(size: Int) -> Graymap {
        let centre = Double(size) / 2
        var pixels = [UInt8](repeating: 0, count: size * size)
        for y in 0..<size {
            for x in 0..<size {
                let distance =
                    ((Double(x) - centre) * (Double(x) - centre) + (Double(y) - centre) * (Double(y) - centre))
                    .squareRoot()
                pixels[y * size + x] = UInt8(127.5 + 127.5 * cos(distance / 6))
            }
        }
        return Graymap(width: size, height: size, pixels: pixels)
    }

    /// Reads a binary PGM file's bytes: the header `P5 WIDTH HEIGHT 255`, one whitespace, then the pixels.
    /// - Throws: ``GraymapError`` naming what is wrong.
    init(pgm data: Data) throws(GraymapError) {
        let bytes = [UInt8](data)
        var index = 0
        func field() -> String {
            while index < bytes.count, bytes[index] == UInt8(ascii: "#") || Self.isSpace(bytes[index]) {
                if bytes[index] == UInt8(ascii: "#") {
                    while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
                } else {
                    index += 1
                }
            }
            let start = index
            while index < bytes.count, !Self.isSpace(bytes[index]) { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
        guard field() == "P5" else { throw GraymapError("not a binary PGM image: it does not start with P5") }
        guard let width = Int(field()), let height = Int(field()), (1...Self.maxSide).contains(width),
            (1...Self.maxSide).contains(height)
        else { throw GraymapError("the PGM size is not two numbers from 1 to \(Self.maxSide)") }
        guard field() == "255" else { throw GraymapError("only 8-bit PGM images (maximum value 255) are read") }
        index += 1
        guard bytes.count - index == width * height else {
            throw GraymapError(
                "a \(width)×\(height) PGM image needs \(width * height) pixels, not \(bytes.count - index)")
        }
        self.init(width: width, height: height, pixels: Array(bytes[index...]))
    }

    init(width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The image as a binary PGM file.
    var pgm: Data { Data("P5\n\(width) \(height)\n255\n".utf8) + Data(pixels) }

    /// The image shrunk to `newWidth` pixels wide, its height in proportion, each pixel the mean of the block it
    /// covers (a box filter).
    func scaled(toWidth newWidth: Int) -> Graymap {
        let newHeight = max(1, height * newWidth / width)
        var scaled = [UInt8](repeating: 0, count: newWidth * newHeight)
        for y in 0..<newHeight {
            let rows = (y * height / newHeight)..<max(y * height / newHeight + 1, (y + 1) * height / newHeight)
            for x in 0..<newWidth {
                let columns = (x * width / newWidth)..<max(x * width / newWidth + 1, (x + 1) * width / newWidth)
                var sum = 0
                for row in rows { for column in columns { sum += Int(pixels[row * width + column]) } }
                scaled[y * newWidth + x] = UInt8(sum / (rows.count * columns.count))
            }
        }
        return Graymap(width: newWidth, height: newHeight, pixels: scaled)
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
}

/// Why bytes are not an image this example reads.
struct GraymapError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
