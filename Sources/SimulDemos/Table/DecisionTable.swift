import Foundation
import Simul
package import SimulJSON

/// Seed 002's closing "Tabela de Decisão Rápida" (which technique for which workload), measured on this machine:
/// ten small real workloads, each run sequentially and under every model that applies, with the measured winner
/// set beside the seed's recommendation.
public struct DecisionTable: Demo {
    public static let name = "table"

    /// Creates the demo; the `processes` model uses `DemoOptions.processPool`.
    public init() {}

    /// The table's rows, in the seed's order.
    package static let scenarios: [any Scenario] = [
        RequestsScenario(), FilesScenario(), DownloadScenario(), InterfaceScenario(), ImageScenario(),
        ScrapingScenario(), TrainingScenario(), ChatScenario(), MathsScenario(), DatabaseScenario(),
    ]

    /// Runs every scenario under every model that applies.
    /// - Returns: every run as `scenario/model`, and per scenario the winner, its speedup and the seed's pick.
    public func run(in context: DemoContext) async throws -> DemoReport {
        let language = context.options.language
        let settings = TableSettings(quick: context.options.quick, processes: context.options.processPool)
        let scenarios = Self.scenarios
        context.say(
            """
            Seed 002 ends with a quick decision table: which technique for which workload, reasoned from Python's \
            GIL. Here each row is a small real workload, run sequentially and with threads, processes and async on \
            this machine (\(SystemInfo.availableCPUs) cores), and the fastest wins:
            """,
            """
            A semente 002 termina com uma tabela de decisão rápida: que técnica para que carga, raciocinada a partir \
            do GIL do Python. Aqui cada linha é uma carga real e pequena, executada em sequência e com threads, \
            processos e async nesta máquina (\(SystemInfo.availableCPUs) núcleos), e a mais rápida vence:
            """)
        for (index, scenario) in scenarios.enumerated() {
            context.say(
                "  \(index + 1). \(scenario.title.en): \(scenario.workload.en)",
                "  \(index + 1). \(scenario.title.pt): \(scenario.workload.pt)")
        }
        context.say(
            "Times are wall times; the GUI row shows the 99th percentile of a 60 Hz loop's lateness instead.\n",
            "Os tempos são de relógio; a linha da GUI mostra o percentil 99 do atraso de um laço de 60 Hz.\n")

        let header =
            language == .pt
            ? ["#", "carga", "sequencial", "threads", "processos", "async", "vencedor", "semente 002", "nota"]
            : ["#", "workload", "sequential", "threads", "processes", "async", "winner", "seed 002", "note"]
        let rows = scenarios.enumerated().map { index, scenario in
            [String(index + 1), scenario.title.text(language)] + Array(repeating: "", count: 5)
                + [scenario.advice.technique, ""]
        }
        // Redrawing in place works only while no line wraps: live, the notes are clipped to the terminal (and
        // given in full below the table), and a terminal too narrow for the rest gets a line per finished row.
        let noteWidth = context.options.live ? TableRow.noteWidth(terminal: Terminal.columns) : nil
        let tableContext =
            context.options.live && noteWidth == nil
            ? DemoContext(options: Self.plain(context.options)) { text in context.say(text, text) } : context
        let table = LiveTable(tableContext, header: header, rows: rows, widths: TableRow.widths)

        var quietOptions = context.options
        quietOptions.narrate = false
        let quiet = DemoContext(options: quietOptions) { _ in }
        var runs: [ModelRun] = []
        var summary: [String: JSONValue] = [:]
        var agreements: [Verdict.Agreement: Int] = [:]
        var notes: [String] = []
        for (index, scenario) in scenarios.enumerated() {
            let row = TableRow(number: index + 1, scenario: scenario, language: language, noteWidth: noteWidth)
            let result = try await Self.measure(scenario, settings: settings, in: quiet) { partial in
                if tableContext.options.live { table.update(index, row.cells(partial)) }
            }
            table.update(index, row.cells(result))
            notes.append(result.note?.text(language) ?? "")
            runs += result.runs
            summary[scenario.key] = result.summary(advice: scenario.advice)
            if let agreement = result.agreement(with: scenario.advice) { agreements[agreement, default: 0] += 1 }
        }

        if let noteWidth, notes.contains(where: { $0.count > noteWidth }) {
            context.say("\nNotes:", "\nNotas:")
            for (index, note) in notes.enumerated() { context.say("\(index + 1). \(note)", "\(index + 1). \(note)") }
        }
        let (won, tied) = (agreements[.agrees] ?? 0, agreements[.ties] ?? 0)
        context.say(
            """

            The seed's pick won \(won) of \(scenarios.count) rows here and tied in \(tied) more (within 10%, or no \
            frame dropped in the GUI row). Its rules are right for Python, where the GIL lets one thread at a time run \
            Python code. Swift has no GIL: threads and the async cooperative pool use every core, so CPU work needs no \
            processes (they pay for spawning and for copying data; keep them to isolate crashes), and for waiting, \
            any model that overlaps the waits wins, async at the lowest cost per connection. As the seed says: \
            measure before optimising.
            """,
            """

            A escolha da semente venceu \(won) de \(scenarios.count) linhas aqui e empatou em mais \(tied) (até 10%, \
            ou nenhum quadro perdido na linha da GUI). Suas regras valem para Python, onde o GIL deixa uma thread por \
            vez executar código Python. Swift não tem GIL: threads e o pool cooperativo do async usam todos os \
            núcleos, então trabalho de CPU dispensa processos (eles pagam o spawn e a cópia dos dados; use-os para \
            isolar falhas), e para esperar vence qualquer modelo que sobreponha as esperas, o async com o menor custo \
            por conexão. Como diz a semente: meça antes de otimizar.
            """)
        return DemoReport(demo: Self.name, runs: runs, summary: summary)
    }

    /// `options` for a table printed a line per finished row.
    private static func plain(_ options: DemoOptions) -> DemoOptions {
        var options = options
        options.live = false
        return options
    }

    /// Prepares `scenario`, runs every model it applies to, checks that they agree, and judges them.
    /// - Parameters:
    ///   - progress: called with the partial result after each model, and before the first.
    /// - Throws: ``TableError`` if two models produce different results, or any model's error.
    package static func measure(
        _ scenario: any Scenario, settings: TableSettings, in context: DemoContext,
        progress: (ScenarioResult) -> Void = { _ in }
    ) async throws -> ScenarioResult {
        var result = ScenarioResult(key: scenario.key, ranking: scenario.ranking, models: scenario.models)
        progress(result)
        let fixture = try await scenario.prepare(settings)
        do {
            for model in scenario.models {
                result.running = model
                progress(result)
                let (outcome, run) = try await context.measure("\(scenario.key)/\(model.rawValue)") {
                    try await fixture.run(model)
                }
                try result.record(model, outcome: outcome, run: run)
            }
            result.running = nil
        } catch {
            try? await fixture.tearDown()
            throw error
        }
        try await fixture.tearDown()
        result.note = result.verdict.map { scenario.note($0, figures: result.figures) }
        return result
    }
}

/// What went wrong in a decision-table scenario.
package struct TableError: Error, CustomStringConvertible {
    package var description: String
}

/// One scenario's runs so far, and once complete its verdict.
package struct ScenarioResult: Sendable {
    package var key: String
    package var ranking: Ranking
    package var models: [Model]
    package var outcomes: [Model: Outcome] = [:]
    package var runs: [ModelRun] = []
    /// Each model's figure: wall seconds, or p99 tick lateness.
    package var figures: [Model: Double] = [:]
    package var running: Model?
    package var note: Phrase?

    package init(key: String, ranking: Ranking, models: [Model]) {
        self.key = key
        self.ranking = ranking
        self.models = models
    }

    /// The verdict once every model has run.
    package var verdict: Verdict? {
        figures.count == models.count ? Verdict.judge(figures) : nil
    }

    /// How the seed's pick fared, once every model has run.
    package func agreement(with advice: SeedAdvice) -> Verdict.Agreement? {
        verdict?.agreement(with: advice, figures: figures, ranking: ranking)
    }

    package mutating func record(_ model: Model, outcome: Outcome, run: ModelRun) throws {
        if let first = models.first, let expected = outcomes[first], expected.check != outcome.check {
            throw TableError(
                description: "\(key): \(model.rawValue) produced \(outcome.check), \(first.rawValue) \(expected.check)"
            )
        }
        var run = run
        var results = outcome.details
        results["check"] = .string(outcome.check)
        if let lateness = outcome.lateness {
            results["lateness_p50_s"] = .number(lateness.p50)
            results["lateness_p99_s"] = .number(lateness.p99)
            results["lateness_max_s"] = .number(lateness.max)
            results["ticks"] = .integer(Int64(lateness.ticks))
        }
        run.results = .object(results)
        outcomes[model] = outcome
        runs.append(run)
        switch ranking {
        case .wallTime: figures[model] = run.wall_s
        case .tickLateness:
            guard let lateness = outcome.lateness else {
                throw TableError(description: "\(key): \(model.rawValue) measured no tick lateness")
            }
            figures[model] = lateness.p99
        }
    }

    /// The summary entry: winner, speedup, the seed's pick and whether they agree.
    package func summary(advice: SeedAdvice) -> JSONValue {
        var entry: [String: JSONValue] = [
            "seed": .string(advice.technique),
            "seed_models": .array(advice.models.map { .string($0.rawValue) }),
            "ranked_by": .string(ranking == .wallTime ? "wall_s" : "lateness_p99_s"),
            "figures": .object(Dictionary(uniqueKeysWithValues: figures.map { ($0.key.rawValue, .number($0.value)) })),
        ]
        if let verdict {
            entry["winner"] = .string(verdict.winner.rawValue)
            entry["speedup"] = verdict.speedup.isFinite ? .number(verdict.speedup) : .null
            entry["agrees_with_seed"] = .bool(advice.recommends(verdict.winner))
            entry["seed_agreement"] = .string(
                verdict.agreement(with: advice, figures: figures, ranking: ranking).rawValue)
            entry["runner_up"] = verdict.runnerUp.map { .string($0.rawValue) } ?? .null
            entry["margin"] = verdict.margin.map { $0.isFinite ? .number($0) : .null } ?? .null
        }
        if let note { entry["note"] = .string(note.en) }
        return .object(entry)
    }
}

/// How a scenario's result reads in the table.
struct TableRow {
    var number: Int
    var scenario: any Scenario
    var language: Language
    /// The longest note that fits the terminal, when the table is redrawn in place.
    var noteWidth: Int?

    /// Every column's width but the note's, wide enough for any cell.
    static let widths = [2, 26, 11, 11, 11, 11, 15, 19]

    /// The room left for notes on a terminal `columns` wide, or nil if it is too little to be worth it.
    static func noteWidth(terminal columns: Int?) -> Int? {
        guard let columns else { return nil }
        let room = columns - widths.reduce(0, +) - 2 * widths.count - 1
        return room >= 20 ? room : nil
    }

    func cells(_ result: ScenarioResult) -> [String] {
        let modelCells = Model.allCases.map { model -> String in
            if let figure = result.figures[model] {
                let time = Duration.seconds(figure).timeDescription
                return result.ranking == .tickLateness ? "\(time) p99" : time
            }
            if result.running == model { return "…" }
            return result.models.contains(model) ? "" : "—"
        }
        var winner = ""
        var seed = scenario.advice.technique
        if let verdict = result.verdict {
            winner = "\(verdict.winner.rawValue) \(verdict.speedupText)"
            seed =
                verdict.agreement(with: scenario.advice, figures: result.figures, ranking: result.ranking).mark + " "
                + seed
        }
        var note = result.note?.text(language) ?? ""
        if let noteWidth, note.count > noteWidth { note = note.prefix(noteWidth - 1) + "…" }
        return [String(number), scenario.title.text(language)] + modelCells + [winner, seed, note]
    }
}

/// The terminal standard output goes to.
enum Terminal {
    /// Its width in columns, if it is a terminal.
    static var columns: Int? {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }
}
