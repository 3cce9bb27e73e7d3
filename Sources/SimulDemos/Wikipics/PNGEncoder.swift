/// A minimal PNG encoder: 8-bit RGB, no filtering, and zlib data in stored (uncompressed) deflate blocks.
///
/// Stored blocks make the file size an exact function of the picture's size, so the demo can make each picture as
/// many bytes as it asks for; a colourful picture barely compresses anyway. Every checksum (CRC-32 per chunk,
/// Adler-32 over the image data) is computed here, so any PNG reader opens the result.
///
/// ```swift
/// let pixels = [UInt8](repeating: 200, count: 4 * 3 * 3)   // 4 × 3 light grey pixels
/// let png = PNGEncoder.encode(width: 4, height: 3, rgb: pixels)
/// ```
package enum PNGEncoder {
    /// The eight bytes every PNG file starts with.
    package static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The most bytes a stored deflate block holds.
    static let maxStoredBlock = 65_535

    /// Encodes a picture.
    /// - Parameters:
    ///   - width: pixels per row, at least 1.
    ///   - height: rows, at least 1.
    ///   - rgb: `width × height` pixels, three bytes each (red, green, blue), row by row from the top.
    ///   - comment: text for a `tEXt` chunk with the keyword `Comment`, written before the image data; Latin-1
    ///     characters only, as PNG requires.
    /// - Returns: the PNG file's bytes.
    package static func encode(width: Int, height: Int, rgb: [UInt8], comment: String? = nil) -> [UInt8] {
        precondition(width >= 1 && height >= 1, "a PNG needs at least one pixel")
        precondition(rgb.count == width * height * 3, "rgb needs width × height × 3 bytes")
        var file = signature
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0]  // bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace
        appendChunk("IHDR", header, to: &file)
        if let comment {
            appendChunk(
                "tEXt", Array("Comment".utf8) + [0] + comment.unicodeScalars.map { UInt8($0.value & 0xFF) },
                to: &file)
        }
        let rowLength = width * 3
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (rowLength + 1))
        for row in 0..<height {
            raw.append(0)  // filter type 0: the row as it is
            raw += rgb[(row * rowLength)..<((row + 1) * rowLength)]
        }
        appendChunk("IDAT", zlibStored(raw), to: &file)
        appendChunk("IEND", [], to: &file)
        return file
    }

    /// The size of ``encode(width:height:rgb:comment:)``'s output without a comment.
    package static func encodedSize(width: Int, height: Int) -> Int {
        let raw = height * (width * 3 + 1)
        let blocks = max(1, (raw + maxStoredBlock - 1) / maxStoredBlock)
        let zlib = 2 + raw + 5 * blocks + 4
        return signature.count + (12 + 13) + (12 + zlib) + 12
    }

    /// How many bytes a comment of `characters` characters adds.
    package static func commentSize(characters: Int) -> Int { 12 + "Comment".utf8.count + 1 + characters }

    /// `data` as a zlib stream (RFC 1950) of stored deflate blocks (RFC 1951, section 3.2.4).
    package static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]  // deflate with a 32 KiB window, no dictionary; 0x7801 is a multiple of 31
        out.reserveCapacity(data.count + data.count / maxStoredBlock * 5 + 11)
        var offset = 0
        repeat {
            let length = min(maxStoredBlock, data.count - offset)
            let final = offset + length == data.count
            out.append(final ? 1 : 0)  // BFINAL, then BTYPE 00 (stored); the rest of the byte is padding
            out += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            out += data[offset..<(offset + length)]
            offset += length
        } while offset < data.count
        out.appendBigEndian(adler32(data))
        return out
    }

    /// The Adler-32 checksum of `bytes` (RFC 1950).
    package static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        var index = 0
        // 5552 bytes is the most that can be summed before `b` could overflow 32 bits (zlib's NMAX).
        while index < bytes.count {
            let end = min(bytes.count, index + 5552)
            for byte in bytes[index..<end] {
                a &+= UInt32(byte)
                b &+= a
            }
            a %= 65_521
            b %= 65_521
            index = end
        }
        return b << 16 | a
    }

    private static func appendChunk(_ type: String, _ data: [UInt8], to file: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        file.appendBigEndian(UInt32(data.count))
        file += typeBytes
        file += data
        file.appendBigEndian(CRC32(typeBytes + data).value)  // the CRC covers the type and the data, not the length
    }
}

extension [UInt8] {
    fileprivate mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [
            UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF),
            UInt8(value & 0xFF),
        ])
    }
}
