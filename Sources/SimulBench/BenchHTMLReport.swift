import Foundation

/// Renders a ``BenchReport`` as one self-contained HTML page with inline SVG bar charts: for a suite with models
/// (`cpu`, `io`), the models against each other on one scale, then every case, ours beside the peer's. It loads
/// nothing from the network.
public enum BenchHTMLReport {
    /// The page.
    public static func render(_ report: BenchReport) -> String {
        let suites = report.results.reduce(into: [String]()) { if !$0.contains($1.suite) { $0.append($1.suite) } }
        var body = ""
        for suite in suites {
            body += "<h2>\(escape(suite))</h2>\n"
            let rows = report.results.filter { $0.suite == suite }
            body += modelsChart(suite, rows) ?? ""
            let cases = rows.reduce(into: [String]()) { if !$0.contains($1.case) { $0.append($1.case) } }
            for name in cases { body += chart(name, rows.filter { $0.case == name }) }
        }
        let machine = report.machine
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>simul bench</title>
            <style>
            body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; max-width: 60em; }
            h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
            figure { margin: 0.8em 0; } figcaption { font-weight: 600; margin-bottom: 0.2em; }
            .note { color: #555; }
            </style></head><body>
            <h1>simul bench</h1>
            <p class="note">\(machine.cpus) CPUs · \(escape(machine.os)) · Swift \(escape(machine.swift)). \
            Longer bars are better for throughput, shorter for wall time and latency.</p>
            \(body)</body></html>
            """
    }

    private static func chart(_ name: String, _ rows: [BenchResult]) -> String {
        let width = 560.0
        let barHeight = 22.0
        let largest = rows.map(\.value).max() ?? 1
        let ours = rows.first { $0.impl == "simul" }
        var bars = ""
        for (index, row) in rows.enumerated() {
            let y = Double(index) * (barHeight + 6)
            let length = largest > 0 ? max(2, row.value / largest * (width - 220)) : 2
            let colour = row.impl == "simul" ? "#e4572e" : "#4a6fa5"
            var label = "\(format(row.value)) \(row.unit)"
            if row.impl != "simul", let ours, ours.value > 0, row.value > 0 {
                let factor = ["wall", "latency"].contains(row.metric) ? row.value / ours.value : ours.value / row.value
                label += String(format: " (Simul %.1f×)", factor)
            }
            bars += """
                <text x="0" y="\(y + 15)" font-size="12">\(escape(row.impl))</text>
                <rect x="180" y="\(y)" width="\(length)" height="\(barHeight)" fill="\(colour)"></rect>
                <text x="\(184 + length)" y="\(y + 15)" font-size="12">\(escape(label))</text>

                """
        }
        let height = Double(rows.count) * (barHeight + 6)
        return """
            <figure><figcaption>\(escape(name))</figcaption>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width + 160))" height="\(Int(height))" role="img">
            \(bars)</svg></figure>

            """
    }

    static func format(_ value: Double) -> String {
        switch value {
        case 1e6...: String(format: "%.2fM", value / 1e6)
        case 1e4...: String(format: "%.0fk", value / 1e3)
        case 100...: String(format: "%.0f", value)
        default: String(format: "%.3g", value)
        }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
