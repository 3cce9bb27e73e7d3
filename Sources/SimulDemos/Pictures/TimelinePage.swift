import Foundation

/// Renders `simul demo --html`: one self-contained page (inline SVG and CSS, no script, nothing from the network)
/// with a timeline per demo and model. Each timeline has one lane per thread, process or task that ran the
/// model's units of work and a bar per unit, on a time axis the demo's models share; beside it are the model's
/// `%%time` figures and its speedup over sequential.
public enum TimelinePage {
    /// Where the plot starts, after the lane names, in pixels.
    static let plotLeft = 100.0
    /// The plot's width in pixels; the axis end of a demo lies here.
    static let plotWidth = 520.0
    /// One lane's height in pixels.
    static let laneHeight = 22.0
    /// A bar's height in pixels.
    static let barHeight = 16.0
    /// A model whose wall time is less than this part of its demo's axis is drawn a second time on its own axis
    /// (Polgár's simultaneous exhibition takes a twelfth of the games one after another).
    static let zoomBelow = 1.0 / 8

    /// The page.
    /// - Parameters:
    ///   - reports: the demos' runs, in the order they ran.
    ///   - language: the language of the labels.
    public static func render(_ reports: [DemoReport], language: Language) -> String {
        let words = Words(language: language)
        let sections = reports.map { section($0, words: words) }.joined()
        return """
            <!doctype html>
            <html lang="\(language.rawValue)"><head><meta charset="utf-8"><title>simul demo</title>
            <style>
            body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; max-width: 70em; }
            h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 1.8em; } h3 { font-size: 1em; margin: 0; }
            .model { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; margin: 0.8em 0; }
            .times td { padding: 0 0.6em 0 0; font-variant-numeric: tabular-nums; } .times th { text-align: left; }
            .note { color: #555; }
            svg text { font-size: 11px; fill: #333; }
            .wall { fill: #eef1f6; } .grid { stroke: #d5dae3; } .axis { stroke: #555; }
            .unit { fill: #4a6fa5; stroke: #fff; stroke-width: 0.5; } .unit-label { fill: #fff; } .pick { fill: #e4572e; }
            .waiting { fill: #a9bcd8; } .working { fill: #1f3b63; }
            figure { margin: 0.8em 0; } figcaption { font-weight: 600; margin-bottom: 0.2em; }
            </style></head><body>
            <h1>\(words.title)</h1>
            <p class="note">\(words.intro)</p>
            \(sections)</body></html>

            """
    }

    /// One demo: its models' timelines on a shared axis.
    static func section(_ report: DemoReport, words: Words) -> String {
        if let chart = decisionChart(report, words: words) { return chart }
        let axisEnd = axisEnd(report.runs)
        let sequential = report.run("sequential")?.wall_s
        let models = report.runs.map { run in
            var zoom = ""
            if run.spans != nil, run.wall_s > 0, run.wall_s < axisEnd * zoomBelow {
                zoom = """
                    <div><p class="note">\(words.ownAxis)</p>
                    \(timeline(run, axisEnd: Self.axisEnd([run]), words: words))</div>
                    """
            }
            return """
                <div class="model">
                <div><h3>\(escape(run.model))</h3>
                \(timeline(run, axisEnd: axisEnd, words: words))</div>
                \(times(run, sequential: sequential, words: words))
                \(zoom)</div>

                """
        }
        let legend = report.runs.contains { $0.spans?.contains { $0.cpu_s != nil } ?? false }
        let note = legend ? "<p class=\"note\">\(words.waitingLegend)</p>\n" : ""
        return "<section><h2>\(escape(report.demo))</h2>\n\(note)\(models.joined())</section>\n"
    }

    /// The end of an axis for `runs`: a round number of seconds at or past their longest run and last unit.
    static func axisEnd(_ runs: [ModelRun]) -> Double {
        let longest = runs.flatMap { run in [run.wall_s] + (run.spans ?? []).map(\.end_s) }.max() ?? 0
        guard longest > 0 else { return 1 }
        let step = tickStep(longest)
        return (longest / step).rounded(.up) * step
    }

    /// A round step (1, 2 or 5 times a power of ten) giving at most about six ticks up to `end`. The comparison
    /// forgives rounding, so that an axis ending at 1.2000000000000002 s steps by 0.2 s and has a tick at its end.
    static func tickStep(_ end: Double) -> Double {
        let rough = end / 6 * (1 - 1e-9)
        let power = pow(10, (log10(rough)).rounded(.down))
        return [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? 10 * power
    }

    /// The lanes of a run, in the order their first unit started.
    static func lanes(_ spans: [WorkSpan]) -> [String] {
        spans.sorted { $0.start_s < $1.start_s }.reduce(into: []) { if !$0.contains($1.lane) { $0.append($1.lane) } }
    }

    /// The x coordinate of `seconds` on an axis ending at `axisEnd`.
    static func x(_ seconds: Double, axisEnd: Double) -> Double { plotLeft + seconds / axisEnd * plotWidth }

    static func timeline(_ run: ModelRun, axisEnd: Double, words: Words) -> String {
        let spans = run.spans ?? []
        let lanes = lanes(spans)
        let plotHeight = Double(max(1, lanes.count)) * laneHeight
        var svg = """
            <rect class="wall" x="\(plotLeft)" y="0" width="\(number(x(run.wall_s, axisEnd: axisEnd) - plotLeft))" \
            height="\(number(plotHeight))"><title>\(words.wall) \(seconds(run.wall_s, words))</title></rect>

            """
        let step = tickStep(axisEnd)
        for tick in stride(from: 0, through: axisEnd + step / 2, by: step) {
            let tickX = number(x(tick, axisEnd: axisEnd))
            svg += """
                <line class="grid" x1="\(tickX)" y1="0" x2="\(tickX)" y2="\(number(plotHeight + 4))"></line>\
                <text x="\(tickX)" y="\(number(plotHeight + 16))" text-anchor="middle">\(Self.tick(tick, words))</text>

                """
        }
        svg += """
            <line class="axis" x1="\(plotLeft)" y1="\(number(plotHeight))" x2="\(number(plotLeft + plotWidth))" \
            y2="\(number(plotHeight))"></line>

            """
        if lanes.isEmpty {
            svg += """
                <text x="\(plotLeft + 6)" y="\(number(laneHeight - 7))">\(words.notRecorded)</text>

                """
        }
        for (index, lane) in lanes.enumerated() {
            let top = Double(index) * laneHeight
            svg += """
                <text class="lane" x="\(plotLeft - 6)" y="\(number(top + laneHeight - 7))" text-anchor="end">\
                \(escape(words.lane(lane)))</text>

                """
            for span in spans where span.lane == lane {
                let left = x(span.start_s, axisEnd: axisEnd)
                // At least a pixel, so a unit too short for the axis still shows where it ran.
                let width = max(1, x(span.end_s, axisEnd: axisEnd) - left)
                let barTop = top + (laneHeight - barHeight) / 2
                var title = "\(escape(span.label)): \(seconds(span.start_s, words)) – \(seconds(span.end_s, words))"
                if let cpu = span.cpu_s { title += ", \(words.working) \(seconds(cpu, words))" }
                svg += """
                    <rect class="\(span.cpu_s == nil ? "unit" : "unit waiting")" x="\(number(left))" \
                    y="\(number(barTop))" width="\(number(width))" height="\(barHeight)"><title>\(title)</title></rect>

                    """
                if let cpu = span.cpu_s {
                    svg += """
                        <rect class="working" x="\(number(left))" y="\(number(barTop))" \
                        width="\(number(min(width, cpu / axisEnd * plotWidth)))" height="\(barHeight)"></rect>

                        """
                }
                if width >= Double(span.label.count) * 6.5 + 6 {
                    svg += """
                        <text class="unit-label" x="\(number(left + 3))" y="\(number(barTop + barHeight - 4))">\
                        \(escape(span.label))</text>

                        """
                }
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(number(plotLeft + plotWidth + 24))" \
            height="\(number(plotHeight + 22))" role="img" aria-label="\(escape(run.model))">
            \(svg)</svg>
            """
    }

    /// The `%%time` figures and the speedup over sequential.
    static func times(_ run: ModelRun, sequential: Double?, words: Words) -> String {
        let speedup =
            if let sequential, run.wall_s > 0 {
                words.decimal(String(format: "%.2f×", sequential / run.wall_s))
            } else {
                "–"
            }
        return """
            <table class="times">
            <tr><th>\(words.user)</th><td>\(seconds(run.user_s, words))</td></tr>
            <tr><th>\(words.sys)</th><td>\(seconds(run.sys_s, words))</td></tr>
            <tr><th>\(words.wall)</th><td>\(seconds(run.wall_s, words))</td></tr>
            <tr><th>\(words.speedup)</th><td>\(speedup)</td></tr>
            </table>
            """
    }

    /// Seconds for a reader: `1.25 s`, `401 ms`, `0.38 ms`.
    static func seconds(_ value: Double, _ words: Words) -> String {
        words.decimal(abs(value) < 1 ? String(format: "%.3g ms", value * 1_000) : String(format: "%.2f s", value))
    }

    /// An axis tick: `0.3 s`, `2 s`.
    static func tick(_ value: Double, _ words: Words) -> String { words.decimal(String(format: "%g s", value)) }

    /// A coordinate in the SVG, with two decimals.
    static func number(_ value: Double) -> String { String(format: "%.2f", value) }

    /// HTML-escapes text from a run: names of demos, models, lanes and units.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }

    /// The page's words in one language.
    struct Words {
        var language: Language

        private func say(_ english: String, _ portuguese: String) -> String {
            language == .pt ? portuguese : english
        }

        var title: String { say("What each model did, on this machine", "O que cada modelo fez, nesta máquina") }
        var intro: String {
            say(
                "One lane per thread, process or task; one bar per unit of work (a cake, a piece of a prime "
                    + "search, a download, a move) from its measured start to its end. The shaded band is the model's wall time. The "
                    + "models of a demo share one time axis.",
                "Uma faixa por thread, processo ou tarefa; uma barra por unidade de trabalho (um bolo, um pedaço "
                    + "da busca de primos, um download, um lance) do início ao fim medidos. A faixa sombreada é o tempo real do modelo. Os "
                    + "modelos de uma demo compartilham o mesmo eixo de tempo."
            )
        }
        var user: String { say("user", "usuário") }
        var sys: String { say("sys", "sistema") }
        var wall: String { say("wall", "real") }
        var speedup: String { say("speedup over sequential", "aceleração sobre o sequencial") }
        var decisionIntro: String {
            say(
                "Each workload's models on one scale, shorter is better; ★ marks the seed's pick.",
                "Os modelos de cada carga numa mesma escala, menor é melhor; ★ marca a escolha da semente."
            )
        }
        var winner: String { say("winner:", "vencedor:") }
        var overSequential: String { say("over sequential", "sobre o sequencial") }
        var lateness: String { say("ranked by p99 tick lateness", "ordenado pelo atraso p99 dos ticks") }
        var ownAxis: String { say("The same run on its own axis:", "A mesma execução no seu próprio eixo:") }
        var working: String { say("working", "trabalhando") }
        var waitingLegend: String {
            say(
                "Light: waiting (for the network); dark: working, the CPU time of the thread that ran it, drawn from "
                    + "the start of its bar. Async downloads share the event loops' threads, so theirs is not measured.",
                "Claro: esperando (a rede); escuro: trabalhando, o tempo de CPU da thread que a executou, desenhado "
                    + "do início da barra. Os downloads async dividem as threads dos event loops, então o deles não é "
                    + "medido."
            )
        }
        var notRecorded: String {
            say("units of work not recorded for this model", "unidades de trabalho não registradas neste modelo")
        }

        /// A lane's name: `main`, `thread 2`, `pid 4242` or `task 1`, in the page's language.
        func lane(_ lane: String) -> String {
            guard language == .pt else { return lane }
            if lane == "main" { return "principal" }
            if lane.hasPrefix("task ") { return "tarefa " + lane.dropFirst("task ".count) }
            if lane.hasPrefix("board ") { return "tabuleiro " + lane.dropFirst("board ".count) }
            return lane
        }

        /// A formatted number with the language's decimal mark.
        func decimal(_ text: String) -> String {
            language == .pt ? text.replacingOccurrences(of: ".", with: ",") : text
        }
    }
}
