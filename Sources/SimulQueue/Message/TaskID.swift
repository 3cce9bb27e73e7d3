import Foundation

/// Task ids: lowercase UUID strings, as Celery makes them.
public enum TaskID {
    /// A new random id.
    /// A new random id: a version 4 UUID from the system's generator, written directly (Foundation's `UUID()` on
    /// Linux opens the random device for every id).
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() & 0xFFFF_FFFF_FFFF_0FFF | 0x0000_0000_0000_4000
        let low = generator.next() & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        var text = [UInt8](repeating: UInt8(ascii: "-"), count: 36)
        var position = 0
        for word in [high, low] {
            for nibble in 0..<16 {
                if position == 8 || position == 13 || position == 18 || position == 23 { position += 1 }
                text[position] = digits[Int(word >> UInt64(60 - 4 * nibble) & 0xF)]
                position += 1
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Whether `text` is a UUID in any case.
    public static func isValid(_ text: String) -> Bool { UUID(uuidString: text) != nil }
}
