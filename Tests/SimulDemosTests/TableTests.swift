import Foundation
import Simul
import SimulDemos
import SimulJSON
import SimulTestSupport
import Testing

@Suite(.timeLimit(.minutes(3)))
struct TableTests {
    /// Quick sizes, and process-pool workers from the `simul` binary next to the test bundle.
    static var settings: TableSettings {
        var processes = ProcessPoolConfiguration()
        processes.workerExecutable = simulExecutable
        processes.maxWorkers = 2
        return TableSettings(quick: true, processes: processes)
    }

    @Test(arguments: DecisionTable.scenarios.map(\.key))
    func everyModelProducesTheSameResult(key: String) async throws {
        let scenario = try #require(DecisionTable.scenarios.first { $0.key == key })
        let fixture = try await scenario.prepare(Self.settings)
        var outcomes: [Model: Outcome] = [:]
        do {
            for model in scenario.models { outcomes[model] = try await fixture.run(model) }
        } catch {
            try? await fixture.tearDown()
            throw error
        }
        try await fixture.tearDown()
        #expect(outcomes.count == scenario.models.count)
        let sequential = try #require(outcomes[.sequential])
        #expect(!sequential.check.isEmpty)
        for (model, outcome) in outcomes {
            #expect(outcome.check == sequential.check, "\(key)/\(model.rawValue)")
        }
        if scenario.ranking == .tickLateness {
            #expect(outcomes.values.allSatisfy { $0.lateness != nil })
        }
    }

    @Test func mathsCountsThePrimes() async throws {
        // π(10⁶) = 78 498; the quick maths row counts the primes below a million.
        let fixture = try await DecisionTable.scenarios.first { $0.key == "maths" }!.prepare(Self.settings)
        #expect(try await fixture.run(.async).check.hasPrefix("primes=78498 "))
        try await fixture.tearDown()
    }

    @Test func theRowsFollowTheSeed() {
        let scenarios = DecisionTable.scenarios
        #expect(scenarios.count == 10)
        #expect(Set(scenarios.map(\.key)).count == 10)
        #expect(
            scenarios.map(\.advice.technique) == [
                "asyncio", "multiprocessing", "threading", "threading", "multiprocessing", "asyncio/threading",
                "multiprocessing", "asyncio", "multiprocessing", "asyncio",
            ])
        for scenario in scenarios {
            #expect(scenario.models.first == .sequential)
            #expect(scenario.advice.models.allSatisfy(scenario.models.contains))
        }
    }
}

@Suite struct VerdictTests {
    @Test func theLowestFigureWins() throws {
        let verdict = try #require(
            Verdict.judge([.sequential: 1.2, .threads: 0.4, .processes: 0.6, .async: 0.3]))
        #expect(verdict.winner == .async)
        #expect(abs(verdict.speedup - 4) < 1e-12)
        #expect(verdict.runnerUp == .threads)
        #expect(abs(verdict.margin! - 0.4 / 0.3) < 1e-12)
        #expect(!verdict.isCloseCall)
        #expect(verdict.speedupText == "4.0×")
    }

    @Test func aTieGoesToTheSimplerModel() throws {
        let verdict = try #require(Verdict.judge([.async: 0.5, .processes: 0.5, .threads: 0.5, .sequential: 1]))
        #expect(verdict.winner == .threads)
        #expect(verdict.runnerUp == .processes)
        #expect(verdict.margin == 1)
        #expect(verdict.isCloseCall)
        #expect(verdict.speedup == 2)
    }

    @Test func sequentialCanWin() throws {
        let verdict = try #require(Verdict.judge([.sequential: 0.25, .processes: 0.875]))
        #expect(verdict == Verdict(winner: .sequential, speedup: 1, runnerUp: .processes, margin: 3.5))
    }

    @Test func edgeCases() throws {
        #expect(Verdict.judge([.threads: 1, .async: 2]) == nil)
        #expect(Verdict.judge([:]) == nil)
        #expect(Verdict.judge([.sequential: 2]) == Verdict(winner: .sequential, speedup: 1))
        let instant = try #require(Verdict.judge([.sequential: 2, .threads: 0]))
        #expect(instant.speedup == .infinity)
        #expect(instant.speedupText == "∞×")
    }

    @Test func theSeedAgreesTiesOrDiffers() throws {
        let figures: [Model: Double] = [.sequential: 1, .threads: 0.20, .processes: 0.5, .async: 0.21]
        let verdict = try #require(Verdict.judge(figures))
        func agreement(_ models: [Model]) -> Verdict.Agreement {
            verdict.agreement(with: SeedAdvice(models, Phrase("", "")), figures: figures, ranking: .wallTime)
        }
        #expect(agreement([.threads]) == .agrees)
        #expect(agreement([.async]) == .ties)
        #expect(agreement([.async, .threads]) == .agrees)
        #expect(agreement([.processes]) == .differs)
        #expect(agreement([.processes]).mark == "✗")
    }

    @Test func framesLateByLessThanAFrameAreATie() {
        #expect(Ranking.tickLateness.isTie(0.012, with: 0.0002))
        #expect(!Ranking.tickLateness.isTie(0.020, with: 0.0002))
        #expect(!Ranking.wallTime.isTie(0.003, with: 0.0002))
        #expect(Ranking.wallTime.isTie(1.05, with: 1))
        #expect(!Ranking.wallTime.isTie(1.2, with: 1))
    }

    @Test(arguments: [(1.0, "1.0×"), (1.94, "1.9×"), (9.94, "9.9×"), (9.96, "10×"), (48.4, "48×"), (1234.5, "1234×")])
    func ratios(ratio: Double, text: String) {
        #expect(Verdict.ratioText(ratio) == text)
    }

    @Test func latenessPercentilesAreNearestRank() {
        let samples = (1...100).map { Double($0) / 1000 }.shuffled()
        let lateness = Lateness(samples: samples)
        #expect(lateness.p50 == 0.050)
        #expect(lateness.p99 == 0.099)
        #expect(lateness.max == 0.100)
        #expect(lateness.ticks == 100)
        #expect(Lateness(samples: [0.5]).p99 == 0.5)
    }
}

@Suite struct ScenarioResultTests {
    static func run(_ name: String, wall: Double) -> ModelRun {
        ModelRun(model: name, times: CPUTimes(user: .zero, system: .zero, wall: .seconds(wall)))
    }

    @Test func figuresVerdictAndSummary() throws {
        var result = ScenarioResult(key: "maths", ranking: .wallTime, models: [.sequential, .threads, .processes])
        try result.record(
            .sequential, outcome: Outcome(check: "primes=4"), run: Self.run("maths/sequential", wall: 1.8))
        #expect(result.verdict == nil)
        try result.record(.threads, outcome: Outcome(check: "primes=4"), run: Self.run("maths/threads", wall: 0.9))
        try result.record(.processes, outcome: Outcome(check: "primes=4"), run: Self.run("maths/processes", wall: 1.2))
        let verdict = try #require(result.verdict)
        #expect(verdict.winner == .threads)
        #expect(verdict.speedup == 2)
        #expect(result.runs.map(\.model) == ["maths/sequential", "maths/threads", "maths/processes"])
        #expect(result.runs[1].results == .object(["check": .string("primes=4")]))

        let advice = SeedAdvice([.processes], Phrase("CPU-bound", "CPU-bound"))
        guard case .object(let summary) = result.summary(advice: advice) else {
            Issue.record("the summary is not an object")
            return
        }
        #expect(summary["winner"] == .string("threads"))
        #expect(summary["speedup"] == .number(2))
        #expect(summary["seed"] == .string("multiprocessing"))
        #expect(summary["agrees_with_seed"] == .bool(false))
        #expect(summary["runner_up"] == .string("processes"))
    }

    @Test func modelsThatDisagreeAreAnError() throws {
        var result = ScenarioResult(key: "files", ranking: .wallTime, models: [.sequential, .async])
        try result.record(.sequential, outcome: Outcome(check: "lines=10"), run: Self.run("files/sequential", wall: 1))
        let error = #expect(throws: TableError.self) {
            try result.record(.async, outcome: Outcome(check: "lines=9"), run: Self.run("files/async", wall: 1))
        }
        #expect(error?.description == "files: async produced lines=9, sequential lines=10")
    }

    @Test func latenessRanksTheInterfaceRow() throws {
        var result = ScenarioResult(key: "gui", ranking: .tickLateness, models: [.sequential, .threads])
        let frozen = Lateness(samples: [0.001, 0.5])
        let smooth = Lateness(samples: [0.001, 0.002])
        try result.record(
            .sequential, outcome: Outcome(check: "x", lateness: frozen), run: Self.run("gui/sequential", wall: 1))
        try result.record(
            .threads, outcome: Outcome(check: "x", lateness: smooth), run: Self.run("gui/threads", wall: 2))
        #expect(result.figures == [.sequential: 0.5, .threads: 0.002])
        #expect(result.verdict?.winner == .threads)
        #expect(result.verdict?.speedup == 250)
        let error = #expect(throws: TableError.self) {
            var copy = result
            try copy.record(.threads, outcome: Outcome(check: "x"), run: Self.run("gui/threads", wall: 2))
        }
        #expect(error?.description == "gui: threads measured no tick lateness")
    }
}
