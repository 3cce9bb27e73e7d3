import Foundation
import Simul
import SimulJSON
import Testing

@testable import SimulDemos

/// `simul demo --html`'s page, rendered from fixed timings and read back as a browser would: bars on the demo's
/// shared axis, a lane per worker that ran, and every name from the run escaped.
@Suite struct TimelinePageTests {
    static func run(_ model: String, wall: Double, _ spans: [WorkSpan]) -> ModelRun {
        ModelRun(
            model: model, times: CPUTimes(user: .milliseconds(10), system: .milliseconds(2), wall: .seconds(wall)),
            spans: spans)
    }

    static func span(_ lane: String, _ label: String, _ start: Double, _ end: Double) -> WorkSpan {
        WorkSpan(lane: lane, label: label, start_s: start, end_s: end)
    }

    static let cakes = DemoReport(
        demo: "cakes",
        runs: [
            run("sequential", wall: 0.41, [span("main", "chocolate", 0, 0.2), span("main", "carrot", 0.2, 0.4)]),
            run(
                "threads", wall: 0.21,
                [span("thread 1", "chocolate", 0.001, 0.201), span("thread 2", "carrot", 0.002, 0.203)]),
            run(
                "processes", wall: 0.23,
                [span("pid 4242", "chocolate", 0.02, 0.22), span("pid 4243", "carrot", 0.021, 0.222)]),
            run("async", wall: 0.2, [span("task 1", "chocolate", 0, 0.2), span("task 2", "carrot", 0, 0.2)]),
        ])

    static let primes = DemoReport(
        demo: "primes",
        runs: [
            run(
                "sequential", wall: 2.4,
                [
                    span("main", "17_596_380_345_407", 0, 0.6), span("main", "8_796_093_022_208", 0.6, 0.6),
                    span("main", "13_194_139_533_299", 0.6, 1.5), span("main", "17_592_186_044_399", 1.5, 2.4),
                ]),
            run(
                "threads", wall: 1.3,
                [
                    span("thread 1", "17_596_380_345_407 #1", 0, 0.3),
                    span("thread 2", "13_194_139_533_299 #1", 0, 0.45),
                    span("thread 1", "17_592_186_044_399 #1", 0.3, 0.75),
                    span("thread 2", "13_194_139_533_299 #2", 0.45, 0.9),
                    span("thread 1", "17_592_186_044_399 #2", 0.75, 1.2),
                    span("thread 2", "17_596_380_345_407 #2", 0.9, 1.25),
                ]),
            run(
                "processes", wall: 1.45,
                [
                    span("pid 900", "17_596_380_345_407 #1", 0.1, 0.4),
                    span("pid 901", "13_194_139_533_299 #1", 0.11, 0.56),
                    span("pid 900", "17_592_186_044_399 #1", 0.4, 0.85),
                    span("pid 901", "13_194_139_533_299 #2", 0.56, 1.01),
                    span("pid 900", "17_592_186_044_399 #2", 0.85, 1.3),
                    span("pid 901", "17_596_380_345_407 #2", 1.01, 1.4),
                ]),
            run(
                "async", wall: 1.28,
                [
                    span("thread 1", "17_596_380_345_407 #1", 0, 0.3),
                    span("thread 2", "13_194_139_533_299 #1", 0, 0.45),
                    span("thread 1", "17_592_186_044_399 #1", 0.3, 1.2),
                    span("thread 2", "13_194_139_533_299 #2", 0.45, 1.27),
                ]),
        ])

    /// What the page draws for one model: its lanes' names, its bars and its axis ticks.
    struct Timeline {
        struct Bar {
            var label: String
            var x: Double
            var y: Double
            var width: Double
        }

        var lanes: [String]
        var bars: [Bar]
        var ticks: [(x: Double, seconds: Double)]
    }

    /// Reads every model's SVG timeline from the page, in order.
    static func timelines(_ page: String) throws -> [Timeline] {
        try page.matches(of: #/<svg [^>]*>(?<body>.*?)<\/svg>/#.dotMatchesNewlines()).map { svg in
            let body = String(svg.output.body)
            let lanes = body.matches(of: #/<text class="lane"[^>]*>(?<name>[^<]*)<\/text>/#).map {
                String($0.output.name)
            }
            let bars = try body.matches(
                of:
                    #/<rect class="unit" x="(?<x>[\d.]+)" y="(?<y>[\d.]+)" width="(?<w>[\d.]+)"[^>]*><title>(?<label>[^<]*): /#
            ).map { bar in
                Timeline.Bar(
                    label: String(bar.output.label), x: try #require(Double(String(bar.output.x))),
                    y: try #require(Double(String(bar.output.y))), width: try #require(Double(String(bar.output.w))))
            }
            let ticks = try body.matches(
                of: #/<line class="grid" x1="(?<x>[\d.]+)"[^>]*><\/line><text[^>]*>(?<t>[\d.]+) s</#
            )
            .map { tick in
                (x: try #require(Double(String(tick.output.x))), seconds: try #require(Double(String(tick.output.t))))
            }
            return Timeline(lanes: lanes, bars: bars, ticks: ticks)
        }
    }

    @Test(arguments: [cakes, primes])
    func barsLieOnTheDemosSharedAxisInProportionToTheirTimes(report: DemoReport) throws {
        let timelines = try Self.timelines(TimelinePage.render([report], language: .en))
        try #require(timelines.count == report.runs.count)
        let axis = try #require(timelines.first?.ticks)
        try #require(axis.count >= 3)
        let origin = try #require(axis.first)
        #expect(origin.seconds == 0)
        let end = try #require(axis.last)
        let pixelsPerSecond = (end.x - origin.x) / end.seconds
        let longest = report.runs.map(\.wall_s).max() ?? 0
        #expect(end.seconds >= longest)
        #expect(end.seconds < 2 * longest)
        for (run, timeline) in zip(report.runs, timelines) {
            #expect(timeline.ticks.map(\.x) == axis.map(\.x), "\(run.model) has its own axis")
            #expect(timeline.ticks.map(\.seconds) == axis.map(\.seconds))
            let spans = try #require(run.spans)
            #expect(timeline.bars.count == spans.count)
            for bar in timeline.bars {
                let span = try #require(spans.first { $0.label == bar.label }, "\(bar.label)")
                #expect(abs(bar.x - (origin.x + span.start_s * pixelsPerSecond)) <= 1, "\(run.model) \(span)")
                #expect(abs(bar.width - (span.end_s - span.start_s) * pixelsPerSecond) <= 1, "\(run.model) \(span)")
            }
        }
    }

    @Test(arguments: [cakes, primes])
    func lanesAreTheWorkersThatRan(report: DemoReport) throws {
        let timelines = try Self.timelines(TimelinePage.render([report], language: .en))
        let expected: [String: [String]] = [
            "sequential": ["main"], "threads": ["thread 1", "thread 2"], "async": ["task 1", "task 2"],
            "processes": report.demo == "cakes" ? ["pid 4242", "pid 4243"] : ["pid 900", "pid 901"],
        ]
        for (run, timeline) in zip(report.runs, timelines) {
            let lanes =
                report.demo == "primes" && run.model == "async" ? ["thread 1", "thread 2"] : expected[run.model]
            #expect(timeline.lanes == lanes, "\(run.model)")
            for bar in timeline.bars {
                let span = try #require(run.spans?.first { $0.label == bar.label })
                let row = Int(bar.y / TimelinePage.laneHeight)
                #expect(timeline.lanes[row] == span.lane, "\(run.model): \(bar.label) drawn on the wrong lane")
            }
        }
    }

    @Test func portugueseLabelsThePage() throws {
        let page = TimelinePage.render([Self.cakes], language: .pt)
        #expect(page.contains(#"<html lang="pt">"#))
        #expect(page.contains("aceleração sobre o sequencial"))
        #expect(page.contains("<th>usuário</th>"))
        #expect(page.contains("<td>410 ms</td>"))
        #expect(page.contains(">0,3 s</text>"))
        #expect(page.contains("<td>2,05×</td>"))
        let lanes = try Self.timelines(page).flatMap(\.lanes)
        #expect(lanes.contains("principal"))
        #expect(lanes.contains("tarefa 2"))
        #expect(!lanes.contains("main"))
    }

    @Test func theSpeedupIsOverSequential() {
        let page = TimelinePage.render([Self.primes], language: .en)
        #expect(page.contains("<th>speedup over sequential</th><td>1.00×</td>"))
        #expect(page.contains("<th>speedup over sequential</th><td>1.85×</td>"))
    }

    @Test func namesFromTheRunAreEscaped() {
        let hostile = DemoReport(
            demo: "<script>alert('demo')</script>",
            runs: [
                Self.run(
                    "\"><img src=x onerror=alert(1)>", wall: 1,
                    [Self.span("</svg><b>lane", "O'Brien & <i>cake</i>", 0, 0.5)])
            ])
        let page = TimelinePage.render([hostile], language: .en)
        for raw in ["<script", "<img", "<b>", "<i>", "O'Brien"] {
            #expect(!page.contains(raw), "\(raw) reached the page unescaped")
        }
        #expect(page.contains("&lt;script&gt;alert(&#39;demo&#39;)&lt;/script&gt;"))
        #expect(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"))
        #expect(page.contains("&lt;/svg&gt;&lt;b&gt;lane"))
        #expect(page.contains("O&#39;Brien &amp; &lt;i&gt;cake&lt;/i&gt;"))
    }

    @Test func aModelWithoutSpansGetsItsWallTimeAndANote() {
        var report = Self.cakes
        report.runs[1].spans = nil
        let page = TimelinePage.render([report], language: .en)
        #expect(page.components(separatedBy: "units of work not recorded for this model").count == 2)
    }
}

/// The decision table drawn as a chart from its summary: every model of a row on one scale, the seed's pick
/// marked, the winner named.
@Suite struct DecisionChartTests {
    static let table = DemoReport(
        demo: "table",
        runs: ["sequential", "threads", "async"].map { model in
            TimelinePageTests.run("download/\(model)", wall: 1, [])
        },
        summary: [
            "download": .object([
                "seed_models": .array([.string("threads"), .string("async")]),
                "ranked_by": .string("wall_s"),
                "figures": .object(["sequential": .number(4), "threads": .number(1), "async": .number(0.5)]),
                "winner": .string("async"),
                "speedup": .number(8),
            ])
        ])

    @Test func eachModelIsABarOnTheRowsScale() throws {
        let page = TimelinePage.render([Self.table], language: .en)
        let bars = page.matches(
            of: #/<rect class="(?<kind>unit|unit pick)" x="[\d.]+" y="[\d.]+" width="(?<w>[\d.]+)"/#)
        let widths = try bars.map { try #require(Double(String($0.output.w))) }
        try #require(widths.count == 3)
        #expect(abs(widths[0] - TimelinePage.plotWidth) <= 1)
        #expect(abs(widths[1] - TimelinePage.plotWidth / 4) <= 1)
        #expect(abs(widths[2] - TimelinePage.plotWidth / 8) <= 1)
        #expect(bars.map { String($0.output.kind) } == ["unit", "unit pick", "unit pick"])
        #expect(page.contains("download · winner: async (8.00× over sequential)"))
        #expect(page.contains("★ threads"))
        #expect(!page.contains("units of work not recorded"))
    }
}
