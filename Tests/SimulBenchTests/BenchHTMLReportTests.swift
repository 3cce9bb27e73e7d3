import Foundation
import Testing

@testable import SimulBench

/// The bench report's chart of a suite's models against each other: one scale for all, Python's beside ours, and
/// a log scale, said on the chart, where the values span more than 20×.
@Suite struct BenchHTMLReportTests {
    static func row(_ suite: String, _ name: String, _ impl: String, _ value: Double) -> BenchResult {
        BenchResult(suite: suite, case: name, impl: impl, metric: "wall", value: value, unit: "s")
    }

    static func report(_ rows: [BenchResult]) -> BenchReport {
        BenchReport(machine: BenchMachine(cpus: 2, os: "Linux", swift: "6.3"), results: rows)
    }

    /// The models chart's bars, in order: their names and lengths.
    static func bars(_ page: String) throws -> [(name: String, width: Double)] {
        try page.matches(
            of: #/<rect class="model-bar" x="[\d.]+" y="[\d.]+" width="(?<w>[\d.]+)"[^>]*><title>(?<name>[^<:]*): /#
        ).map { (name: String($0.output.name), width: try #require(Double(String($0.output.w)))) }
    }

    /// The cpu suite on two cores: within 20×, so linear.
    static let cpu = [
        row("cpu", "primes-sequential", "simul", 2.0), row("cpu", "primes-threads", "simul", 1.0),
        row("cpu", "primes-processes", "simul", 1.1), row("cpu", "primes-async", "simul", 1.05),
        row("cpu", "primes-sequential", "python", 16), row("cpu", "primes-threads", "python-concurrent.futures", 17),
        row("cpu", "primes-processes", "python-concurrent.futures", 9),
    ]

    @Test func barsAreInProportionOnTheLinearScale() throws {
        let page = BenchHTMLReport.render(Self.report(Self.cpu))
        let bars = try Self.bars(page)
        #expect(
            bars.map(\.name) == [
                "sequential · simul", "sequential · python", "threads · simul", "threads · python-concurrent.futures",
                "processes · simul", "processes · python-concurrent.futures", "async · simul",
            ])
        let values = [2.0, 16, 1.0, 17, 1.1, 9, 1.05]
        for (bar, value) in zip(bars, values) {
            #expect(abs(bar.width - value / 17 * BenchHTMLReport.modelsWidth) <= 1, "\(bar.name)")
        }
        #expect(!page.contains("log scale"))
        #expect(page.contains("cpu: the models side by side"))
    }

    @Test func valuesSpanningMoreThan20TimesAreOnALogScaleThatSaysSo() throws {
        let rows = [
            Self.row("io", "wikipics-sequential", "simul", 4.2), Self.row("io", "wikipics-threads", "simul", 0.43),
            Self.row("io", "wikipics-async", "simul", 0.15),
            Self.row("io", "wikipics-sequential", "python-urllib", 4.3),
            Self.row("io", "wikipics-async", "python-aiohttp", 0.5),
            BenchResult(
                suite: "io", case: "wikipics-ideal-speedup", impl: "simul", metric: "speedup", value: 9.8, unit: "x"),
        ]
        let page = BenchHTMLReport.render(Self.report(rows))
        #expect(page.components(separatedBy: "log scale").count == 2)
        let bars = try Self.bars(page)
        let expected = [
            ("sequential · simul", 4.2), ("sequential · python-urllib", 4.3), ("threads · simul", 0.43),
            ("async · simul", 0.15), ("async · python-aiohttp", 0.5),
        ]
        #expect(bars.map(\.name) == expected.map(\.0))
        // From 0.1 s to 10 s: two decades over the axis.
        for (bar, (_, value)) in zip(bars, expected) {
            let position = (log10(value) + 1) / 2 * BenchHTMLReport.modelsWidth
            #expect(abs(bar.width - position) <= 1, "\(bar.name)")
        }
        let ticks = page.matches(of: #/<text class="tick"[^>]*>(?<t>[^<]*)</#).map { String($0.output.t) }
        #expect(ticks == ["0.1", "1", "10"])
    }

    @Test func aSuiteWithoutModelsHasNoModelsChart() {
        let rows = [Self.row("queue", "sqlite-throughput", "simul", 3000)]
        #expect(!BenchHTMLReport.render(Self.report(rows)).contains("the models side by side"))
    }

    @Test func namesAreEscaped() throws {
        let rows = [
            Self.row("<b>cpu</b>", "primes-sequential", "<script>x</script>", 2),
            Self.row("<b>cpu</b>", "primes-threads", "simul", 1),
        ]
        let page = BenchHTMLReport.render(Self.report(rows))
        #expect(!page.contains("<script>"))
        #expect(!page.contains("<b>"))
        #expect(page.contains("&lt;b&gt;cpu&lt;/b&gt;: the models side by side"))
        #expect(try Self.bars(page).map(\.name).contains("sequential · &lt;script&gt;x&lt;/script&gt;"))
    }
}
