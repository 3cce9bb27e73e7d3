import Simul
import SimulJSON
import SimulTasks

/// Row 9, "Cálculos matemáticos": count the primes below a bound by trial division, in ranges.
struct MathsScenario: Scenario {
    let key = "maths"
    let title = Phrase("Maths (CPU-bound)", "Cálculos matemáticos")
    let advice = SeedAdvice([.processes], Phrase("CPU-bound, parallelism", "CPU-bound, paralelismo"))

    func bound(quick: Bool) -> UInt64 { quick ? 1_000_000 : 7_000_000 }

    var workload: Phrase {
        Phrase(
            "count the primes below \(bound(quick: false)) by trial division, in 64 ranges",
            "contar os primos abaixo de \(bound(quick: false)) por divisão, em 64 faixas")
    }

    func prepare(_ settings: TableSettings) async throws -> any ScenarioFixture {
        Fixture(ranges: PrimeTally.ranges(below: bound(quick: settings.quick), pieces: 64), settings: settings)
    }

    func note(_ verdict: Verdict, figures: [Model: Double]) -> Phrase {
        cpuBoundNote(verdict)
    }

    struct Fixture: ScenarioFixture {
        let ranges: [Range<UInt64>]
        let settings: TableSettings

        func run(_ model: Model) async throws -> Outcome {
            let ranges = ranges
            let tallies: [PrimeTally]
            switch model {
            case .sequential:
                tallies = try await Pools.onOneThread { ranges.map(PrimeTally.init) }
            case .threads:
                tallies = try await Pools.withThreads(settings.cpuThreads) { pool in
                    try await Pools.map(ranges, on: pool, PrimeTally.init)
                }
            case .processes:
                tallies = try await Pools.withProcesses(settings.processes) { pool in
                    try await Pools.map(ranges.map { [$0.lowerBound, $0.upperBound] }, on: pool, CountPrimes.self)
                        .map { PrimeTally(count: $0[0], sum: $0[1]) }
                }
            case .async:
                tallies = try await ranges.concurrentMap(maxConcurrency: ranges.count) { PrimeTally($0) }
            }
            let total = tallies.reduce(PrimeTally(count: 0, sum: 0), +)
            return Outcome(
                check: "primes=\(total.count) sum=\(total.sum)",
                details: ["primes": .unsigned(total.count), "sum": .unsigned(total.sum)])
        }

        func tearDown() async throws {}
    }
}

/// How many primes a range holds, and their sum (wrapping).
struct PrimeTally: Sendable, Equatable {
    var count: UInt64
    var sum: UInt64

    init(count: UInt64, sum: UInt64) {
        self.count = count
        self.sum = sum
    }

    /// Counts the primes in `range` by trial division over 6k±1, as the seed's primes example does.
    init(_ range: Range<UInt64>) {
        var count: UInt64 = 0
        var sum: UInt64 = 0
        for n in range where n >= 2 && Primes.leastPrimeFactor(n) == n {
            count += 1
            sum &+= n
        }
        self.init(count: count, sum: sum)
    }

    static func + (lhs: PrimeTally, rhs: PrimeTally) -> PrimeTally {
        PrimeTally(count: lhs.count + rhs.count, sum: lhs.sum &+ rhs.sum)
    }

    /// `[0, bound)` cut into `pieces` ranges of equal length; the later ones cost more.
    static func ranges(below bound: UInt64, pieces: Int) -> [Range<UInt64>] {
        let pieces = UInt64(pieces)
        return (0..<pieces).map { piece in (bound * piece / pieces)..<(bound * (piece + 1) / pieces) }
    }
}

/// The worker side of the maths row: `[lower, upper]` in, `[count, sum]` out, as raw integers.
struct CountPrimes: ProcessTask {
    static let name = "table.count-primes"

    static func run(_ input: [UInt64]) -> [UInt64] {
        let tally = PrimeTally(input[0]..<input[1])
        return [tally.count, tally.sum]
    }
}

/// The note of a CPU-bound row: Python needs processes to get round the GIL; Swift has none.
/// - Parameter extra: what else the processes pay in this row, if anything.
func cpuBoundNote(_ verdict: Verdict, extra: Phrase? = nil) -> Phrase {
    switch verdict.winner {
    case .threads, .async:
        let cost = extra ?? Phrase("spawn + IPC", "spawn + IPC")
        return Phrase(
            "no GIL: threads and tasks fill every core; processes pay \(cost.en)",
            "sem GIL: threads e tasks ocupam todos os núcleos; processos pagam \(cost.pt)")
    case .processes:
        return Phrase("agrees, but with no GIL threads do as well", "concorda, mas sem GIL threads rendem igual")
    case .sequential:
        return Phrase("too little work to pay for a pool", "trabalho pequeno demais para um pool")
    }
}
