import Foundation
import Simul
import Testing

@testable import SimulDemos

/// The kinds of drawing beyond cakes' and primes' bars: wikipics' downloads split into waiting and working, and
/// Polgár's boards, whose simultaneous exhibition is drawn again on its own axis.
extension TimelinePageTests {
    static let wikipics = DemoReport(
        demo: "wikipics",
        runs: [
            run(
                "sequential", wall: 0.7,
                [
                    WorkSpan(lane: "main", label: "Ada.png", start_s: 0, end_s: 0.33, cpu_s: 0.03),
                    WorkSpan(lane: "main", label: "Grace.png", start_s: 0.34, end_s: 0.68, cpu_s: 0.1),
                ]),
            run(
                "threads", wall: 0.36,
                [
                    WorkSpan(lane: "thread 1", label: "Ada.png", start_s: 0.001, end_s: 0.34, cpu_s: 0.2),
                    WorkSpan(lane: "thread 2", label: "Grace.png", start_s: 0.002, end_s: 0.35, cpu_s: 0.004),
                ]),
            run("async", wall: 0.35, [span("task 1", "Ada.png", 0, 0.34), span("task 2", "Grace.png", 0, 0.345)]),
        ])

    /// Three boards, two moves each: one board after another, then Polgár walking around the room.
    static let polgar = DemoReport(
        demo: "polgar",
        runs: [
            run(
                "sequential", wall: 1.2,
                (0..<6).map { move in
                    span("board \(move / 2 + 1)", "move \(move % 2 + 1)", Double(move) * 0.2, Double(move) * 0.2 + 0.1)
                }),
            run(
                "async", wall: 0.08,
                (0..<6).map { move in
                    let start = Double(move) * 0.01
                    return span("board \(move % 3 + 1)", "move \(move / 3 + 1)", start, start + 0.01)
                }),
        ])

    @Test func downloadsAreSplitIntoWaitingAndWorkingOnTheSharedAxis() throws {
        let page = TimelinePage.render([Self.wikipics], language: .en)
        let svgs = page.matches(of: #/<svg [^>]*>(?<body>.*?)<\/svg>/#.dotMatchesNewlines()).map {
            String($0.output.body)
        }
        let timelines = try Self.timelines(page)
        try #require(svgs.count == 3 && timelines.count == 3)
        let axis = try #require(timelines.first?.ticks)
        let origin = try #require(axis.first)
        let end = try #require(axis.last)
        let pixelsPerSecond = (end.x - origin.x) / end.seconds
        for (run, svg) in zip(Self.wikipics.runs, svgs) {
            let bars = try svg.matches(
                of:
                    #/<rect class="unit waiting" x="(?<x>[\d.]+)" y="[\d.]+" width="(?<w>[\d.]+)"[^>]*><title>(?<label>[^<:]*): [^<]*<\/title><\/rect>\s*<rect class="working" x="(?<wx>[\d.]+)" y="[\d.]+" width="(?<ww>[\d.]+)"/#
            ).map { bar in
                (
                    label: String(bar.output.label), x: try #require(Double(String(bar.output.x))),
                    width: try #require(Double(String(bar.output.w))),
                    workingX: try #require(Double(String(bar.output.wx))),
                    working: try #require(Double(String(bar.output.ww)))
                )
            }
            let spans = try #require(run.spans)
            #expect(bars.count == spans.count { $0.cpu_s != nil }, "\(run.model)")
            #expect(svg.components(separatedBy: #"class="working""#).count - 1 == bars.count, "\(run.model)")
            for bar in bars {
                let span = try #require(spans.first { $0.label == bar.label })
                let cpu = try #require(span.cpu_s)
                #expect(abs(bar.x - (origin.x + span.start_s * pixelsPerSecond)) <= 1, "\(run.model) \(span)")
                #expect(abs(bar.width - (span.end_s - span.start_s) * pixelsPerSecond) <= 1, "\(run.model) \(span)")
                #expect(bar.workingX == bar.x, "\(run.model) \(span): working starts with its bar")
                #expect(abs(bar.working - cpu * pixelsPerSecond) <= 1, "\(run.model) \(span)")
            }
        }
        #expect(try Self.timelines(page)[2].bars.count == 2, "async's downloads are plain bars")
        #expect(page.contains("Light: waiting (for the network); dark: working"))
        #expect(!TimelinePage.render([Self.cakes], language: .en).contains("Light: waiting"))
    }

    @Test func polgarHasALanePerBoardAndTheExhibitionAgainOnItsOwnAxis() throws {
        let timelines = try Self.timelines(TimelinePage.render([Self.polgar], language: .en))
        try #require(timelines.count == 3, "sequential, async on the shared axis, async on its own")
        let boards = ["board 1", "board 2", "board 3"]
        #expect(timelines.map(\.lanes) == [boards, boards, boards])
        #expect(timelines[0].ticks.map(\.x) == timelines[1].ticks.map(\.x))
        #expect(timelines[0].ticks.map(\.seconds) == [0, 0.2, 0.4, 0.6, 0.8, 1, 1.2], "a tick at the axis' end")
        let own = timelines[2]
        let origin = try #require(own.ticks.first)
        let end = try #require(own.ticks.last)
        #expect(end.seconds == 0.08, "the exhibition's own axis ends at its wall time, not the shared 1.2 s")
        let pixelsPerSecond = (end.x - origin.x) / end.seconds
        let spans = try #require(Self.polgar.runs[1].spans)
        #expect(own.bars.count == spans.count)
        for bar in own.bars {
            let lane = own.lanes[Int(bar.y / TimelinePage.laneHeight)]
            let span = try #require(spans.first { $0.lane == lane && $0.label == bar.label }, "\(lane) \(bar.label)")
            #expect(abs(bar.x - (origin.x + span.start_s * pixelsPerSecond)) <= 1, "\(span)")
            #expect(abs(bar.width - (span.end_s - span.start_s) * pixelsPerSecond) <= 1, "\(span)")
        }
        let portuguese = try Self.timelines(TimelinePage.render([Self.polgar], language: .pt))
        #expect(portuguese[0].lanes == ["tabuleiro 1", "tabuleiro 2", "tabuleiro 3"])
    }
}
