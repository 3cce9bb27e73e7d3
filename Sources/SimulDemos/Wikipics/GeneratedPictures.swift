import Foundation

/// The pictures the wikipics demo serves instead of Wikipedia's: colourful generated PNGs of a chosen size, each
/// with its title drawn on it, named like Wikipedia pictures.
package enum GeneratedPictures {
    /// Titles of Wikipedia articles with famous pictures; ``name(at:)`` cycles through them.
    package static let titles = [
        "Ada_Lovelace", "Alan_Turing", "Grace_Hopper", "Marie_Curie", "Santos_Dumont", "Carlos_Chagas",
        "Machu_Picchu", "Christ_the_Redeemer", "Iguazu_Falls", "Sugarloaf_Mountain", "Amazon_River",
        "Galapagos_Islands", "Eiffel_Tower", "Great_Wall_of_China", "Mount_Everest", "Aurora_Borealis",
        "Andromeda_Galaxy", "Pale_Blue_Dot", "Katherine_Johnson", "Rosalind_Franklin", "Nikola_Tesla",
        "Hedy_Lamarr", "Elizabeth_I", "European_Parliament_Hemicycle",
    ]

    /// The file name of picture `index`: `Ada_Lovelace.png`, …, then `Ada_Lovelace_2.png` on the second lap.
    package static func name(at index: Int) -> String {
        precondition(index >= 0, "picture indices start at 0")
        let title = titles[index % titles.count]
        let lap = index / titles.count
        return lap == 0 ? "\(title).png" : "\(title)_\(lap + 1).png"
    }

    /// Picture `index` as a PNG file of exactly `size` bytes, or a 16 × 12 picture when `size` is too small even
    /// for that.
    package static func png(at index: Int, size: Int) -> [UInt8] {
        let name = name(at: index)
        let title = String(name.dropLast(".png".count)).replacingOccurrences(of: "_", with: " ")
        let (width, height) = dimensions(for: size)
        var pixels = paint(width: width, height: height, seed: fnv1a(name))
        draw(title, on: &pixels, width: width, height: height)
        let padding = size - PNGEncoder.encodedSize(width: width, height: height)
        let commentCharacters = padding - PNGEncoder.commentSize(characters: 0)
        var comment: String?
        if commentCharacters >= 0 {
            let sentence = "\(title), drawn by Simul for the wikipics demo. "
            comment = String(
                String(repeating: sentence, count: commentCharacters / sentence.count + 1)
                    .prefix(commentCharacters))
        }
        return PNGEncoder.encode(width: width, height: height, rgb: pixels, comment: comment)
    }

    /// A 4:3 picture as large as fits in `size` bytes, leaving room for a comment to make up the rest.
    static func dimensions(for size: Int) -> (width: Int, height: Int) {
        let smallest = (width: 16, height: 12)
        let budget = size - PNGEncoder.commentSize(characters: 0)
        guard PNGEncoder.encodedSize(width: smallest.width, height: smallest.height) <= budget else { return smallest }
        let pixels = Double(budget - PNGEncoder.encodedSize(width: 0, height: 0)) / 3
        let width = max(smallest.width, Int((pixels * 4 / 3).squareRoot()))
        var height = max(1, budget / (width * 3 + 1))
        while height > 1, PNGEncoder.encodedSize(width: width, height: height) > budget { height -= 1 }
        return PNGEncoder.encodedSize(width: width, height: height) <= budget ? (width, height) : smallest
    }

    /// A plasma of colour bands: the sum of four waves (across, down and along both diagonals) picks a colour
    /// from a rainbow palette. The seed sets the waves and the palette, so every picture differs.
    static func paint(width: Int, height: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        func wave(_ count: Int, offset: Int) -> [Double] {
            let frequency = 0.004 + random.nextUnit() * 0.03
            let phase = random.nextUnit() * 2 * .pi
            return (0..<count).map { sin(Double($0 - offset) * frequency + phase) }
        }
        let across = wave(width, offset: 0)
        let down = wave(height, offset: 0)
        let diagonal = wave(width + height, offset: 0)
        let antidiagonal = wave(width + height, offset: height)
        let hueOffset = random.nextUnit()
        let laps = 1 + random.nextUnit() * 2
        let palette: [(UInt8, UInt8, UInt8)] = (0..<256).map { step in
            hsv(
                hue: (Double(step) / 256 * laps + hueOffset).truncatingRemainder(dividingBy: 1), saturation: 0.75,
                value: 0.95)
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let sum = across[x] + down[y] + diagonal[x + y] + antidiagonal[x - y + height]
                let (red, green, blue) = palette[min(255, Int((sum + 4) / 8 * 256))]
                let offset = (y * width + x) * 3
                pixels[offset] = red
                pixels[offset + 1] = green
                pixels[offset + 2] = blue
            }
        }
        return pixels
    }

    /// Draws `title` in white on a darkened band along the bottom, as large as fits.
    static func draw(_ title: String, on pixels: inout [UInt8], width: Int, height: Int) {
        let textWidth = BitmapFont.textWidth(title)
        guard textWidth > 0 else { return }
        let scale = max(1, min(width * 9 / 10 / textWidth, height / 6 / BitmapFont.height))
        let margin = max(1, scale * 2)
        let bandHeight = min(height, BitmapFont.height * scale + 2 * margin)
        for y in (height - bandHeight)..<height {
            for offset in (y * width * 3)..<((y + 1) * width * 3) {
                pixels[offset] = UInt8(Int(pixels[offset]) * 3 / 10)
            }
        }
        let top = height - bandHeight + margin
        var left = max(0, (width - textWidth * scale) / 2)
        for character in title {
            for (row, bits) in BitmapFont.glyph(character).enumerated() {
                for column in 0..<BitmapFont.width where bits & (1 << (BitmapFont.width - 1 - column)) != 0 {
                    for dy in 0..<scale {
                        for dx in 0..<scale {
                            let x = left + column * scale + dx
                            let y = top + row * scale + dy
                            guard x < width, y >= 0, y < height else { continue }
                            let offset = (y * width + x) * 3
                            pixels[offset] = 255
                            pixels[offset + 1] = 255
                            pixels[offset + 2] = 255
                        }
                    }
                }
            }
            left += (BitmapFont.width + BitmapFont.spacing) * scale
        }
    }

    private static func hsv(hue: Double, saturation: Double, value: Double) -> (UInt8, UInt8, UInt8) {
        let sector = hue * 6
        let chroma = value * saturation
        let second = chroma * (1 - abs(sector.truncatingRemainder(dividingBy: 2) - 1))
        let (red, green, blue): (Double, Double, Double) =
            switch Int(sector) % 6 {
            case 0: (chroma, second, 0)
            case 1: (second, chroma, 0)
            case 2: (0, chroma, second)
            case 3: (0, second, chroma)
            case 4: (second, 0, chroma)
            default: (chroma, 0, second)
            }
        let floor = value - chroma
        return (UInt8((red + floor) * 255), UInt8((green + floor) * 255), UInt8((blue + floor) * 255))
    }

    /// FNV-1a: a stable hash, so a name gets the same picture in every run (`Hasher` is seeded per process).
    private static func fnv1a(_ text: String) -> UInt64 {
        text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}
