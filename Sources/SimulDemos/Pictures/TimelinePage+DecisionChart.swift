import Foundation
import SimulJSON

extension TimelinePage {
    /// The decision table's rows as a chart, from its summary: per workload, each model's measured figure on the
    /// row's own scale, the seed's pick marked and the measured winner named. Nil for a report without such rows.
    static func decisionChart(_ report: DemoReport, words: Words) -> String? {
        let keys = report.runs.reduce(into: [String]()) { keys, run in
            let key = String(run.model.prefix { $0 != "/" })
            if !keys.contains(key) { keys.append(key) }
        }
        let rows = keys.compactMap { key -> String? in
            guard case .object(let entry)? = report.summary[key], case .object(let figures)? = entry["figures"]
            else { return nil }
            return decisionRow(key, entry: entry, figures: figures, words: words)
        }
        guard !rows.isEmpty else { return nil }
        return "<section><h2>\(escape(report.demo))</h2>\n<p class=\"note\">\(words.decisionIntro)</p>\n"
            + rows.joined() + "</section>\n"
    }

    static func decisionRow(
        _ key: String, entry: [String: JSONValue], figures: [String: JSONValue], words: Words
    ) -> String {
        let order = ["sequential", "threads", "processes", "async"]
        let measured = figures.compactMap { model, value -> (String, Double)? in
            guard case .number(let seconds) = value else { return nil }
            return (model, seconds)
        }.sorted { (order.firstIndex(of: $0.0) ?? order.count) < (order.firstIndex(of: $1.0) ?? order.count) }
        let picks: [String] =
            if case .array(let models)? = entry["seed_models"] {
                models.compactMap { if case .string(let model) = $0 { model } else { nil } }
            } else {
                []
            }
        let largest = measured.map(\.1).max() ?? 0
        var svg = ""
        for (index, (model, figure)) in measured.enumerated() {
            let top = Double(index) * laneHeight
            let width = largest > 0 ? figure / largest * plotWidth : 0
            let pick = picks.contains(model)
            svg += """
                <text class="lane" x="\(plotLeft - 6)" y="\(number(top + laneHeight - 7))" text-anchor="end">\
                \(pick ? "★ " : "")\(escape(model))</text>\
                <rect class="\(pick ? "unit pick" : "unit")" x="\(plotLeft)" y="\(number(top + 3))" \
                width="\(number(width))" height="\(barHeight)"></rect>\
                <text x="\(number(plotLeft + width + 4))" y="\(number(top + laneHeight - 7))">\
                \(seconds(figure, words))</text>

                """
        }
        var caption = escape(key)
        if case .string(let winner)? = entry["winner"] {
            caption += " · \(words.winner) \(escape(winner))"
            if case .number(let speedup)? = entry["speedup"] {
                caption += words.decimal(String(format: " (%.2f× %@)", speedup, words.overSequential))
            }
        }
        if case .string("lateness_p99_s")? = entry["ranked_by"] { caption += " · \(words.lateness)" }
        return """
            <figure><figcaption>\(caption)</figcaption>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(number(plotLeft + plotWidth + 80))" \
            height="\(number(Double(measured.count) * laneHeight + 4))" role="img">
            \(svg)</svg></figure>

            """
    }
}
