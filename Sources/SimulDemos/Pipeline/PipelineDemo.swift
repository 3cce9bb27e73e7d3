import Foundation
import Simul
import SimulJSON

/// Seed 001's pipeline: query the data (2 s), process it (2 s), and write a log (2 s). Processing needs the data,
/// so no model can beat query + process = 4 s: that dependency is the floor. Writing the log depends on nothing.
public struct PipelineDemo: Demo {
    public static let name = "pipeline"

    /// Creates the demo.
    public init() {}

    public func run(in context: DemoContext) async throws -> DemoReport {
        let step: Double = context.options.quick ? 0.3 : 2
        let graph = StepGraph(steps: [
            .init(name: "query", portuguese: "consulta_dados", seconds: step, after: []),
            .init(name: "process", portuguese: "processa_dados", seconds: step, after: ["query"]),
            .init(name: "log", portuguese: "grava_log", seconds: step, after: []),
        ])
        context.say(
            "query → process, and log: each step waits \(step) s (a database, a file, an API).",
            "consulta → processa, e grava log: cada etapa espera \(step) s (banco, arquivo, API)."
        )
        let say: @Sendable (String) -> Void = { name in
            let step = graph.step(name)
            context.say("  \(step.name)...", "  \(step.portuguese)...")
        }
        let label: @Sendable (String) -> String = { name in
            context.options.language == .pt ? graph.step(name).portuguese : name
        }
        var report = DemoReport(demo: Self.name)

        context.say("\nsequential (seed: 6 s):", "\nsequencial (seed: 6 s):")
        report.runs.append(
            await context.measure("sequential") { recorder in
                for step in graph.steps {
                    say(step.name)
                    recorder.time(label(step.name), lane: "main") { blockingWait(step.seconds) }
                }
            }.run
        )

        context.say(
            "\nthreads, the seed's ThreadPoolExecutor code (seed: 4 s):", "\nthreads, o código do seed (seed: 4 s):")
        let pool = ThreadPool()
        report.runs.append(
            try await context.measure("threads") { recorder in
                let query = pool.submit {
                    say("query")
                    recorder.timeOnThread(label("query")) { blockingWait(step) }
                    return "data"
                }
                _ = try await query.value
                let process = pool.submit {
                    say("process")
                    recorder.timeOnThread(label("process")) { blockingWait(step) }
                }
                let log = pool.submit {
                    say("log")
                    recorder.timeOnThread(label("log")) { blockingWait(step) }
                }
                try await process.value
                try await log.value
            }.run
        )
        await pool.shutdown()

        context.say(
            "\nasync, as a dependency graph: every step starts as soon as what it needs is done:",
            "\nasync, como grafo de dependências: cada etapa começa assim que o que ela precisa termina:"
        )
        report.runs.append(
            try await context.measure("async-graph") { recorder in
                try await graph.run { step in
                    say(step.name)
                    let task = graph.steps.firstIndex { $0.name == step.name }! + 1
                    try await recorder.time(label(step.name), lane: "task \(task)") {
                        try await Task.sleep(for: .seconds(step.seconds))
                    }
                }
            }.run
        )

        let path = graph.criticalPath()
        let floor = path.reduce(0) { $0 + $1.seconds }
        report.summary["critical_path"] = .array(path.map { .string($0.name) })
        report.summary["floor_s"] = .number(floor)
        context.say(
            "\nThe floor is the critical path \(path.map(\.name).joined(separator: " → ")) = \(floor) s: "
                + "process cannot start before query ends, whatever the model. Only log can overlap.",
            "\nO piso é o caminho crítico \(path.map(\.portuguese).joined(separator: " → ")) = \(floor) s: "
                + "processa não começa antes de consulta terminar, em qualquer modelo. Só o log pode sobrepor."
        )
        return report
    }
}

/// Steps with dependencies, run as soon as their dependencies finish.
struct StepGraph: Sendable {
    struct Step: Sendable {
        var name: String
        var portuguese: String
        var seconds: Double
        var after: [String]
    }

    let steps: [Step]

    func step(_ name: String) -> Step { steps.first { $0.name == name }! }

    /// Runs every step in a task of its own once the steps it depends on have finished.
    func run(_ body: @escaping @Sendable (Step) async throws -> Void) async throws {
        var done: Set<String> = []
        var started: Set<String> = []
        try await withThrowingTaskGroup(of: String.self) { group in
            func startReady() {
                for step in steps where !started.contains(step.name) && step.after.allSatisfy(done.contains) {
                    started.insert(step.name)
                    group.addTask {
                        try await body(step)
                        return step.name
                    }
                }
            }
            startReady()
            while let finished = try await group.next() {
                done.insert(finished)
                startReady()
            }
        }
        precondition(done.count == steps.count, "the step graph has a cycle")
    }

    /// The longest chain of dependent steps: no schedule can finish sooner.
    func criticalPath() -> [Step] {
        var memo: [String: [Step]] = [:]
        func longest(to name: String) -> [Step] {
            if let known = memo[name] { return known }
            let step = self.step(name)
            let before = step.after.map(longest(to:)).max { total($0) < total($1) } ?? []
            memo[name] = before + [step]
            return before + [step]
        }
        return steps.map { longest(to: $0.name) }.max { total($0) < total($1) } ?? []
    }

    private func total(_ path: [Step]) -> Double { path.reduce(0) { $0 + $1.seconds } }
}
