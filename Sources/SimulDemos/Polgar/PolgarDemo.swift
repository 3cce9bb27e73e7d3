import Foundation
import Simul
import SimulJSON

/// Seed 003's simultaneous exhibition: Judit Polgár plays 20 opponents, 30 moves a game; she takes 5 s a move and
/// each opponent 55 s. One game after another takes 10 h. Walking from board to board, she keeps every opponent
/// thinking while she plays elsewhere.
///
/// The games run as async tasks on a clock scaled down (a simulated second lasts `scale`⁻¹ of a real one). Polgár
/// herself is an `AsyncSemaphore` with one permit: she serves the boards first come, first served.
public struct PolgarDemo: Demo {
    public static let name = "polgar"

    /// Creates the demo.
    public init() {}

    struct Exhibition: Sendable {
        var boards = 20
        var moves = 30
        var polgarMove = 5.0
        var opponentMove = 55.0
        /// Simulated seconds per real second.
        var scale: Double

        var sequentialSeconds: Double { Double(boards * moves) * (polgarMove + opponentMove) }

        /// One round of the room, or one opponent's move, whichever is longer, per move.
        var simultaneousSeconds: Double {
            Double(moves) * max(Double(boards) * polgarMove, polgarMove + opponentMove)
        }
    }

    public func run(in context: DemoContext) async throws -> DemoReport {
        let exhibition = Exhibition(scale: context.options.quick ? 50_000 : 20_000)
        let clock = ScaledClock(scale: exhibition.scale)
        context.say(
            "20 boards, 30 moves each: Polgár 5 s a move, each opponent 55 s. Clock scaled 1:\(Int(exhibition.scale)).",
            "20 tabuleiros, 30 lances cada: Pólgar 5 s por lance, cada adversário 55 s. Relógio 1:\(Int(exhibition.scale))."
        )
        var report = DemoReport(demo: Self.name)

        // Each of Polgár's moves is a unit of work, on its board's lane.
        let (_, sequential) = try await context.measure("sequential") { recorder in
            clock.restart()
            var now = 0.0
            for board in 1...exhibition.boards {
                for move in 1...exhibition.moves {
                    now += exhibition.polgarMove
                    try await recorder.time("move \(move)", lane: "board \(board)") {
                        try await clock.sleep(until: now)
                    }
                    now += exhibition.opponentMove
                    try await clock.sleep(until: now)
                }
            }
        }
        report.runs.append(sequential)

        // Polgár is one player: a semaphore with one permit, handed to the boards first come, first served.
        let polgar = AsyncSemaphore(value: 1)
        let polgarFreeAt = LockedClockTime()
        let (_, simultaneous) = try await context.measure("async") { recorder in
            clock.restart()
            _ = try await (1...exhibition.boards).concurrentMap(maxConcurrency: exhibition.boards) { board in
                var now = 0.0
                for move in 1...exhibition.moves {
                    try await polgar.withPermit {
                        now = polgarFreeAt.advance(from: now, by: exhibition.polgarMove)
                        try await recorder.time("move \(move)", lane: "board \(board)") {
                            try await clock.sleep(until: now)
                        }
                    }
                    now += exhibition.opponentMove
                    try await clock.sleep(until: now)
                }
            }
        }
        report.runs.append(simultaneous)

        let rows: [(String, String, Double, Double)] = [
            ("one game after another", "partidas sequenciais", sequential.wall_s, exhibition.sequentialSeconds),
            ("simultaneous (async)", "simultâneas (async)", simultaneous.wall_s, exhibition.simultaneousSeconds),
        ]
        context.say("\n", "\n")
        let table = LiveTable(
            context,
            header: context.options.language == .pt
                ? ["exibição", "real", "simulado", "esperado"] : ["exhibition", "real", "simulated", "expected"],
            rows: [], widths: [24, 8, 12, 12]
        )
        for (english, portuguese, real, expected) in rows {
            table.append([
                context.options.language == .pt ? portuguese : english, String(format: "%.2f s", real),
                Self.clock(real * exhibition.scale), Self.clock(expected),
            ])
        }
        report.summary["simulated_sequential_s"] = .number(sequential.wall_s * exhibition.scale)
        report.summary["simulated_async_s"] = .number(simultaneous.wall_s * exhibition.scale)
        report.summary["scale"] = .number(exhibition.scale)
        context.say(
            "\nThe seed says 20 min, counting a round of the room as 20 × 5 s = 40 s; 20 × 5 s is 100 s, so 30 rounds "
                + "take 50 min. Either way, one player serves 20 games in the time of 2.",
            "\nO seed diz 20 min, contando uma volta como 20 × 5 s = 40 s; mas 20 × 5 s são 100 s, e 30 voltas "
                + "levam 50 min. De todo modo, uma jogadora atende 20 partidas no tempo de 2."
        )
        return report
    }

    /// A clock that runs `scale` times faster than the real one. Each player keeps its own simulated time and
    /// sleeps until an absolute deadline, so the latency of each wake-up does not add up over 1,200 moves.
    final class ScaledClock: Sendable {
        let scale: Double
        private let origin = LockedValueBox(ContinuousClock.now)
        private let timers = TimerQueue(resolution: .microseconds(50))

        init(scale: Double) { self.scale = scale }

        /// Simulated time 0 is now.
        func restart() { origin.set(.now) }

        /// Sleeps until `simulated` seconds after the restart.
        func sleep(until simulated: Double) async throws {
            try await timers.sleep(until: origin.get() + .seconds(simulated / scale))
        }
    }

    /// When Polgár is free again, in simulated seconds.
    final class LockedClockTime: Sendable {
        private let freeAt = LockedValueBox(0.0)

        /// Polgár plays a move on a board ready at `ready`: she starts when both are free.
        /// - Returns: when the move ends.
        func advance(from ready: Double, by move: Double) -> Double {
            freeAt.update { freeAt in
                freeAt = max(freeAt, ready) + move
                return freeAt
            }
        }
    }

    /// `10 h 0 min`, `50 min 3 s`.
    static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        let (hours, minutes, rest) = (total / 3600, total % 3600 / 60, total % 60)
        if hours > 0 { return "\(hours) h \(minutes) min" }
        return minutes > 0 ? "\(minutes) min \(rest) s" : "\(rest) s"
    }
}
