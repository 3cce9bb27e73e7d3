import Foundation

extension BenchHTMLReport {
    /// The models a suite's cases can end with (`primes-threads`, `wikipics-async`), in the order they are drawn.
    static let models = ["sequential", "threads", "processes", "async"]
    /// Where the bars start, after their names, in pixels.
    static let modelsLeft = 260.0
    /// The length of the longest bar on the linear scale, and of the axis on the log scale, in pixels.
    static let modelsWidth = 400.0
    /// Past this ratio of the largest to the smallest value, the chart is drawn on a log scale.
    static let logAbove = 20.0

    /// The model a case measures, such as `threads` for `primes-threads`; nil for a case of no model.
    static func model(ofCase name: String) -> String? {
        guard let last = name.split(separator: "-").last.map(String.init), models.contains(last) else { return nil }
        return last
    }

    /// A suite's models against each other on one scale: per model, ours and then the peer's wall time, so the
    /// seed's lesson (threads take half of sequential's time on two cores) shows at a glance. The scale is
    /// logarithmic, and says so, where the values span more than ``logAbove`` times. Nil for a suite with fewer
    /// than two models.
    static func modelsChart(_ suite: String, _ rows: [BenchResult]) -> String? {
        let measured = rows.filter { $0.metric == "wall" && $0.value > 0 && model(ofCase: $0.case) != nil }
        let drawn = models.flatMap { model in
            measured.filter { self.model(ofCase: $0.case) == model }.sorted { $0.impl == "simul" && $1.impl != "simul" }
        }
        guard Set(drawn.compactMap { model(ofCase: $0.case) }).count >= 2,
            let smallest = drawn.map(\.value).min(), let largest = drawn.map(\.value).max()
        else { return nil }
        let scale = ModelsScale(smallest: smallest, largest: largest)
        let barHeight = 18.0
        let rowHeight = barHeight + 6
        var svg = ""
        for (index, row) in drawn.enumerated() {
            let y = Double(index) * rowHeight
            let length = max(2, scale.length(row.value))
            let colour = row.impl == "simul" ? "#e4572e" : "#4a6fa5"
            let name = "\(model(ofCase: row.case) ?? "") · \(row.impl)"
            svg += """
                <text x="0" y="\(coordinate(y + 13))" font-size="12">\(escape(name))</text>\
                <rect class="model-bar" x="\(coordinate(modelsLeft))" y="\(coordinate(y))" \
                width="\(coordinate(length))" height="\(coordinate(barHeight))" fill="\(colour)">\
                <title>\(escape(name)): \(format(row.value)) \(escape(row.unit))</title></rect>\
                <text x="\(coordinate(modelsLeft + length + 4))" y="\(coordinate(y + 13))" font-size="12">\
                \(format(row.value)) \(escape(row.unit))</text>

                """
        }
        let height = Double(drawn.count) * rowHeight
        for tick in scale.ticks {
            let x = coordinate(modelsLeft + scale.length(tick))
            svg += """
                <line x1="\(x)" y1="0" x2="\(x)" y2="\(coordinate(height))" stroke="#d5dae3"></line>\
                <text class="tick" x="\(x)" y="\(coordinate(height + 14))" font-size="11" text-anchor="middle">\
                \(format(tick))</text>

                """
        }
        let caption = "\(escape(suite)): the models side by side, wall time (shorter is better)"
        return """
            <figure><figcaption>\(caption)\(scale.isLog ? " · <span class=\"log\">log scale</span>" : "")\
            </figcaption>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(modelsLeft + modelsWidth + 120))" \
            height="\(Int(height + 20))" role="img">
            \(svg)</svg></figure>

            """
    }

    /// A coordinate in the SVG, with two decimals.
    static func coordinate(_ value: Double) -> String { String(format: "%.2f", value) }
}

/// The scale of a models chart: linear from zero to the largest value, or, where the values span more than
/// ``BenchHTMLReport/logAbove`` times, logarithmic from the decade at or below the smallest to the decade at or
/// above the largest.
struct ModelsScale {
    let isLog: Bool
    /// The linear scale's largest value; the log scale's decades, as powers of ten.
    private let largest: Double
    private let lowDecade: Double
    private let highDecade: Double

    init(smallest: Double, largest: Double) {
        self.largest = largest
        isLog = largest / smallest > BenchHTMLReport.logAbove
        lowDecade = log10(smallest).rounded(.down)
        highDecade = max(lowDecade + 1, log10(largest).rounded(.up))
    }

    /// How far from the start of the axis `value` lies, in pixels.
    func length(_ value: Double) -> Double {
        if isLog { return (log10(value) - lowDecade) / (highDecade - lowDecade) * BenchHTMLReport.modelsWidth }
        return value / largest * BenchHTMLReport.modelsWidth
    }

    /// The axis' ticks: every decade on the log scale, none on the linear one (each bar carries its value).
    var ticks: [Double] {
        isLog ? stride(from: lowDecade, through: highDecade, by: 1).map { pow(10, $0) } : []
    }
}
