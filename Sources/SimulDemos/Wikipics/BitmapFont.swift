/// A 5 × 7 pixel font of capital letters, digits and a little punctuation, for drawing titles on pictures.
package enum BitmapFont {
    /// Glyph width in pixels.
    package static let width = 5
    /// Glyph height in pixels.
    package static let height = 7
    /// Blank columns between glyphs.
    package static let spacing = 1

    /// The rows of `character`'s glyph, top first; bit 4 is the leftmost pixel. Lowercase letters use the capitals,
    /// `_` is a space, and anything else shows as `?`.
    package static func glyph(_ character: Character) -> [UInt8] {
        let upper = Character(character.uppercased())
        if let rows = glyphs[upper == "_" ? " " : upper] { return rows }
        return glyphs["?"]!
    }

    /// The width of `text` in pixels at scale 1.
    package static func textWidth(_ text: String) -> Int {
        text.isEmpty ? 0 : text.count * (width + spacing) - spacing
    }

    private static let glyphs: [Character: [UInt8]] = {
        var table: [Character: [UInt8]] = [:]
        for (character, picture) in drawings {
            let rows = picture.split(separator: " ").map { row in
                row.reduce(UInt8(0)) { bits, pixel in bits << 1 | (pixel == "#" ? 1 : 0) }
            }
            precondition(rows.count == height, "glyph \(character) needs \(height) rows")
            table[character] = rows
        }
        return table
    }()

    /// Each glyph as seven rows of five pixels, `#` for ink.
    private static let drawings: [(Character, String)] = [
        ("A", ".###. #...# #...# ##### #...# #...# #...#"),
        ("B", "####. #...# #...# ####. #...# #...# ####."),
        ("C", ".###. #...# #.... #.... #.... #...# .###."),
        ("D", "####. #...# #...# #...# #...# #...# ####."),
        ("E", "##### #.... #.... ####. #.... #.... #####"),
        ("F", "##### #.... #.... ####. #.... #.... #...."),
        ("G", ".###. #...# #.... #.### #...# #...# .####"),
        ("H", "#...# #...# #...# ##### #...# #...# #...#"),
        ("I", ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###."),
        ("J", "..### ...#. ...#. ...#. ...#. #..#. .##.."),
        ("K", "#...# #..#. #.#.. ##... #.#.. #..#. #...#"),
        ("L", "#.... #.... #.... #.... #.... #.... #####"),
        ("M", "#...# ##.## #.#.# #.#.# #...# #...# #...#"),
        ("N", "#...# #...# ##..# #.#.# #..## #...# #...#"),
        ("O", ".###. #...# #...# #...# #...# #...# .###."),
        ("P", "####. #...# #...# ####. #.... #.... #...."),
        ("Q", ".###. #...# #...# #...# #.#.# #..#. .##.#"),
        ("R", "####. #...# #...# ####. #.#.. #..#. #...#"),
        ("S", ".#### #.... #.... .###. ....# ....# ####."),
        ("T", "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#.."),
        ("U", "#...# #...# #...# #...# #...# #...# .###."),
        ("V", "#...# #...# #...# #...# #...# .#.#. ..#.."),
        ("W", "#...# #...# #...# #.#.# #.#.# #.#.# .#.#."),
        ("X", "#...# #...# .#.#. ..#.. .#.#. #...# #...#"),
        ("Y", "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#.."),
        ("Z", "##### ....# ...#. ..#.. .#... #.... #####"),
        ("0", ".###. #...# #..## #.#.# ##..# #...# .###."),
        ("1", "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###."),
        ("2", ".###. #...# ....# ...#. ..#.. .#... #####"),
        ("3", "##### ...#. ..#.. ...#. ....# #...# .###."),
        ("4", "...#. ..##. .#.#. #..#. ##### ...#. ...#."),
        ("5", "##### #.... ####. ....# ....# #...# .###."),
        ("6", "..##. .#... #.... ####. #...# #...# .###."),
        ("7", "##### ....# ...#. ..#.. .#... .#... .#..."),
        ("8", ".###. #...# #...# .###. #...# #...# .###."),
        ("9", ".###. #...# #...# .#### ....# ...#. .##.."),
        (" ", "..... ..... ..... ..... ..... ..... ....."),
        ("-", "..... ..... ..... ##### ..... ..... ....."),
        (".", "..... ..... ..... ..... ..... .##.. .##.."),
        (",", "..... ..... ..... ..... .##.. ..#.. .#..."),
        ("'", "..#.. ..#.. .#... ..... ..... ..... ....."),
        ("(", "...#. ..#.. .#... .#... .#... ..#.. ...#."),
        (")", ".#... ..#.. ...#. ...#. ...#. ..#.. .#..."),
        ("?", ".###. #...# ....# ...#. ..#.. ..... ..#.."),
    ]
}
