import Foundation
import Simul
import SimulJSON
import SimulTasks
import SimulTestSupport
import Testing

@testable import SimulDemos

/// A demo context that prints nothing, with the `simul` binary (which registers the demo tasks) as its pool worker.
func quietContext(quick: Bool = true) -> DemoContext {
    var options = DemoOptions()
    options.quick = quick
    options.narrate = false
    options.processPool.workerExecutable = simulExecutable
    return DemoContext(options: options) { _ in }
}

@Suite(.timeLimit(.minutes(2))) struct PrimesDemoTests {
    @Test(arguments: PrimeModel.allCases)
    func everyModelFindsTheSameFactors(model: PrimeModel) async throws {
        var configuration = ProcessPoolConfiguration()
        configuration.workerExecutable = simulExecutable
        let numbers = PrimeSample.quickNumbers
        let settled = SettledLog()
        let recorder = SpanRecorder()
        let factors = try await model.factor(numbers, configuration: configuration, recorder: recorder) {
            settled.add($0, $1)
        }
        #expect(factors == numbers.map(Primes.leastPrimeFactor))
        #expect(
            factors == [
                4_194_301, 2, 13_194_139_533_299, 17_592_186_044_399, 2_097_143, 6_597_069_766_631, 2, 4_194_301,
            ])
        #expect(settled.all.sorted { $0.0 < $1.0 }.map(\.1) == factors)
        let spans = recorder.spans
        #expect(spans.allSatisfy { 0 <= $0.start_s && $0.start_s <= $0.end_s })
        let lanes = Set(spans.map(\.lane))
        switch model {
        case .sequential:
            #expect(spans.map(\.label) == numbers.map(PrimeSample.grouped))
            #expect(lanes == ["main"])
        case .threads:
            #expect(lanes.allSatisfy { $0.hasPrefix("thread ") })
            #expect((1...SystemInfo.availableCPUs).contains(lanes.count))
        case .async:
            // The threads of Swift's global executor, which on Linux is Dispatch's: it may add threads beyond the
            // CPU count while other tests' work blocks some, so only their kind is certain.
            #expect(!lanes.isEmpty && lanes.allSatisfy { $0.hasPrefix("thread ") })
        case .processes:
            #expect(lanes.allSatisfy { $0.hasPrefix("pid ") && $0 != "pid \(getpid())" })
            #expect((1...SystemInfo.availableCPUs).contains(lanes.count))
        }
    }

    @Test func theSeedsTableIsWhatTheSequentialCodeComputes() {
        // Only the cheap rows: the others take seconds and are checked by `simul demo primes`.
        for n in [36_028_797_018_963_968, 54_043_195_528_445_952] as [UInt64] {
            #expect(Primes.leastPrimeFactor(n) == PrimeSample.leastPrimeFactors[n])
        }
    }

    @Test func aSearchSettlesOnlyWhenEveryLowerPieceIsDone() throws {
        // 1_000_003 × 1_000_033: the factor lies in the last piece, so every piece must report first.
        let n: UInt64 = 1_000_003 * 1_000_033
        let search = PrimeSearch(numbers: [n], workers: 2, piecesPerWorker: 4)
        let pieces = search.pieces
        #expect(pieces.count >= 4)
        for piece in pieces.dropLast() {
            let factor = Primes.leastFactor(of: n, from: piece.start, through: piece.end)
            #expect(search.record(piece, factor: factor) == nil)
        }
        let last = try #require(pieces.last)
        #expect(
            search.record(last, factor: Primes.leastFactor(of: n, from: last.start, through: last.end)) == 1_000_003)
    }

    @Test func aFactorInAnEarlyPieceMakesTheLaterOnesUnneeded() throws {
        let n: UInt64 = 1_009 * 1_000_000_007
        let search = PrimeSearch(numbers: [n], workers: 2, piecesPerWorker: 4)
        let first = try #require(search.pieces.first)
        #expect(search.record(first, factor: 1_009) == 1_009)
        #expect(search.pieces.dropFirst().allSatisfy { !search.isNeeded($0) })
    }

    @Test func groupsDigitsLikeTheSeed() {
        #expect(PrimeSample.grouped(72_057_596_722_278_677) == "72_057_596_722_278_677")
        #expect(PrimeSample.grouped(2) == "2")
        #expect(PrimeSample.grouped(1_000) == "1_000")
    }
}

@Suite(.timeLimit(.minutes(2))) struct SeedDemoTests {
    @Test func cakesRunsEveryModel() async throws {
        let report = try await CakesDemo().run(in: quietContext())
        #expect(report.runs.map(\.model) == ["sequential", "threads", "processes", "async"])
    }

    /// One span per cake in every model, inside the model's wall time, on the lanes of the workers that baked.
    @Test func cakesRecordsEachCakeOnItsWorkersLane() async throws {
        let report = try await CakesDemo().run(in: quietContext())
        for run in report.runs {
            let spans = try #require(run.spans, "\(run.model)")
            #expect(Set(spans.map(\.label)) == ["chocolate", "carrot"], "\(run.model)")
            for span in spans {
                #expect(0 <= span.start_s && span.start_s <= span.end_s && span.end_s <= run.wall_s, "\(span)")
            }
            let lanes = Set(spans.map(\.lane))
            switch run.model {
            case "sequential": #expect(lanes == ["main"])
            case "threads": #expect(lanes == ["thread 1", "thread 2"])
            case "processes":
                #expect(lanes.count == 2)
                #expect(lanes.allSatisfy { $0.hasPrefix("pid ") && $0 != "pid \(getpid())" }, "\(lanes)")
            default: #expect(lanes == ["task 1", "task 2"])
            }
        }
    }

    @Test func pipelineFindsTheCriticalPath() async throws {
        let report = try await PipelineDemo().run(in: quietContext())
        #expect(report.runs.map(\.model) == ["sequential", "threads", "async-graph"])
        #expect(report.summary["critical_path"] == .array([.string("query"), .string("process")]))
        #expect(report.summary["floor_s"] == .number(0.6))
        for run in report.runs {
            let spans = try #require(run.spans, "\(run.model)")
            #expect(Set(spans.map(\.label)) == ["query", "process", "log"], "\(run.model)")
            #expect(spans.allSatisfy { 0 <= $0.start_s && $0.start_s <= $0.end_s && $0.end_s <= run.wall_s })
            let query = try #require(spans.first { $0.label == "query" })
            let process = try #require(spans.first { $0.label == "process" })
            #expect(process.start_s >= query.end_s, "\(run.model) processed before the query ended")
        }
        #expect(report.run("sequential")?.spans?.map(\.lane) == ["main", "main", "main"])
        #expect(Set(report.run("async-graph")?.spans?.map(\.lane) ?? []) == ["task 1", "task 2", "task 3"])
    }

    @Test func polgarsScheduleIsTenHoursOrFiftyMinutes() async throws {
        let exhibition = PolgarDemo.Exhibition(scale: 1)
        #expect(exhibition.sequentialSeconds == 36_000)
        #expect(exhibition.simultaneousSeconds == 3_000)
        let report = try await PolgarDemo().run(in: quietContext())
        #expect(report.runs.map(\.model) == ["sequential", "async"])
        // Every one of Polgár's 600 moves is on its board's lane, within the run.
        for run in report.runs {
            let spans = try #require(run.spans, "\(run.model)")
            #expect(spans.count == 600, "\(run.model)")
            #expect(Set(spans.map(\.lane)) == Set((1...20).map { "board \($0)" }), "\(run.model)")
            #expect(Set(spans.map(\.label)) == Set((1...30).map { "move \($0)" }), "\(run.model)")
            #expect(spans.allSatisfy { 0 <= $0.start_s && $0.start_s <= $0.end_s && $0.end_s <= run.wall_s })
        }
        // One after another: board 2's first move comes after board 1's last.
        let sequential = try #require(report.run("sequential")?.spans)
        let firstBoardEnds = try #require(sequential.filter { $0.lane == "board 1" }.map(\.end_s).max())
        #expect(sequential.filter { $0.lane == "board 2" }.allSatisfy { $0.start_s >= firstBoardEnds })
        #expect(PolgarDemo.clock(36_000) == "10 h 0 min")
        #expect(PolgarDemo.clock(3_059) == "50 min 59 s")
    }

    @Test func polgarServesBoardsOneAtATime() {
        let polgar = PolgarDemo.LockedClockTime()
        #expect(polgar.advance(from: 0, by: 5) == 5)
        #expect(polgar.advance(from: 0, by: 5) == 10)
        #expect(polgar.advance(from: 70, by: 5) == 75)
    }

    @Test func reportsEncodeToTheDocumentedJSON() throws {
        var report = DemoReport(demo: "primes")
        report.runs.append(
            ModelRun(
                model: "threads", times: CPUTimes(user: .seconds(1), system: .zero, wall: .seconds(2)),
                results: .array([.object(["n": .unsigned(9), "lpf": .unsigned(3), "prime": .bool(false)])])
            )
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(report), as: UTF8.self)
        #expect(
            json
                == #"{"demo":"primes","runs":[{"model":"threads","results":[{"lpf":3,"n":9,"prime":false}],"sys_s":0,"user_s":1,"wall_s":2}],"summary":{}}"#
        )
        report.runs[0].spans = [WorkSpan(lane: "thread 1", label: "9 #1", start_s: 0.5, end_s: 1.5)]
        let withSpans = String(decoding: try encoder.encode(report), as: UTF8.self)
        #expect(withSpans.contains(#""spans":[{"end_s":1.5,"label":"9 #1","lane":"thread 1","start_s":0.5}]"#))
    }
}

final class SettledLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(Int, UInt64)] = []

    func add(_ index: Int, _ factor: UInt64) { lock.withLock { entries.append((index, factor)) } }

    var all: [(Int, UInt64)] { lock.withLock { entries } }
}
