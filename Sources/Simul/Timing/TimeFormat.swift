import Foundation

extension Duration {
    /// This duration in seconds, as a `Double`.
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }

    /// This duration the way IPython's `%%time` prints one: three significant digits in the largest fitting unit
    /// (`994 ms`, `16.4 s`, `12.5 µs`), and `1min 5s` style from a minute up.
    public var timeDescription: String { Self.describe(seconds: seconds) }

    static func describe(seconds: Double) -> String {
        if seconds >= 60 {
            var rest = seconds
            var parts: [String] = []
            for (suffix, length) in [("d", 86_400.0), ("h", 3_600.0), ("min", 60.0), ("s", 1.0)] {
                let value = (rest / length).rounded(.down)
                if value > 0 {
                    parts.append("\(Int(value))\(suffix)")
                    rest -= value * length
                }
                if rest < 1 { break }
            }
            return parts.joined(separator: " ")
        }
        let units = ["s", "ms", "µs", "ns"]
        let order = seconds > 0 ? min(max(-Int((log10(seconds).rounded(.down) / 3).rounded(.down)), 0), 3) : 3
        let scaled = seconds * pow(1000, Double(order))
        return String(format: "%.3g %@", scaled, units[order])
    }
}
