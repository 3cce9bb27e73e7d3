/// The suite's one table: scenario, broker, sent, completed, lost, duplicates, seconds, notes. Scenario and broker
/// are left-aligned, the counts right-aligned, and the notes run on unpadded.
struct Table {
    private(set) var rows: [Row] = []

    /// Adds a row.
    mutating func add(_ row: Row) {
        rows.append(row)
    }

    /// Whether `scenario` already has its row in `broker`'s column.
    func contains(_ scenario: String, broker: String) -> Bool {
        rows.contains { $0.scenario == scenario && $0.broker == broker }
    }

    /// The rows that failed, as `poison [redis]`.
    var failed: [String] {
        rows.filter { $0.passed == false }.map { "\($0.scenario) [\($0.broker)]" }
    }

    /// The table's lines, and a last `FAILED: ...` line naming the rows that failed, if any.
    var lines: [String] {
        let headers = ["scenario", "broker", "sent", "completed", "lost", "duplicates", "seconds", "notes"]
        let cells = rows.map {
            [$0.scenario, $0.broker, $0.sent, $0.completed, $0.lost, $0.duplicates, $0.seconds, $0.notes]
        }
        let widths = (0..<headers.count - 1).map { column in
            ([headers[column]] + cells.map { $0[column] }).map(\.count).max() ?? 0
        }
        func line(_ values: [String]) -> String {
            let padded = widths.indices.map { column in
                let value = values[column]
                let padding = String(repeating: " ", count: max(0, widths[column] - value.count))
                return column < 2 ? value + padding : padding + value
            }
            // swift-format-ignore: NeverForceUnwrap
            return padded.joined(separator: "  ") + "  " + values.last!
        }
        var lines = [line(headers), line(widths.map { String(repeating: "-", count: $0) } + ["-----"])]
        lines += cells.map(line)
        if !failed.isEmpty { lines.append("FAILED: " + failed.joined(separator: ", ")) }
        return lines
    }
}
