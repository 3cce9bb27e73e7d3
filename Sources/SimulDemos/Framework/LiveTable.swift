import Synchronization

/// A table that shows results as they arrive: redrawn in place on a terminal, or one line per update otherwise.
public final class LiveTable: Sendable {
    private struct State {
        var rows: [[String]]
        var drawn = false
    }

    private let context: DemoContext
    private let header: [String]
    private let widths: [Int]
    private let state: Mutex<State>

    /// Creates and draws a table.
    /// - Parameters:
    ///   - context: where to draw.
    ///   - header: the column titles.
    ///   - rows: the first contents of every row.
    ///   - widths: the minimum width of each column.
    public init(_ context: DemoContext, header: [String], rows: [[String]], widths: [Int] = []) {
        self.context = context
        self.header = header
        self.widths = header.indices.map { column in
            max(
                column < widths.count ? widths[column] : 0, header[column].count,
                rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0
            )
        }
        state = Mutex(State(rows: rows))
        if context.options.live {
            draw()
        } else {
            context.write(line(header))
        }
    }

    /// Replaces row `index` and shows it.
    public func update(_ index: Int, _ cells: [String]) {
        let plainLine = state.withLock { state -> String? in
            state.rows[index] = cells
            return context.options.live ? nil : line(cells)
        }
        if let plainLine { context.write(plainLine) } else { draw() }
    }

    /// Adds a row at the bottom and shows it.
    public func append(_ cells: [String]) {
        let plainLine = state.withLock { state -> String? in
            state.rows.append(cells)
            return context.options.live ? nil : line(cells)
        }
        if let plainLine { context.write(plainLine) } else { draw() }
    }

    private func draw() {
        let frame = state.withLock { state -> String in
            let lines = [line(header)] + state.rows.map(line)
            let up = state.drawn ? "\u{1B}[\(lines.count)A" : ""
            state.drawn = true
            return up + lines.map { "\u{1B}[2K" + $0 }.joined(separator: "\n")
        }
        context.write(frame)
    }

    private func line(_ cells: [String]) -> String {
        cells.indices.map { column in
            let cell = cells[column]
            let width = column < widths.count ? widths[column] : cell.count
            let padding = String(repeating: " ", count: max(0, width - cell.count))
            return cell.first?.isNumber == true ? padding + cell : cell + padding
        }.joined(separator: "  ")
    }
}
