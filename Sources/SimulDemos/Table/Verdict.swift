import Foundation

/// Which model won a scenario, and by how much: figures are lower-is-better (seconds of wall time, or of tick
/// lateness).
package struct Verdict: Sendable, Equatable {
    /// The model with the lowest figure; on a tie, the one first in model order (the simpler one).
    package var winner: Model
    /// The sequential figure over the winner's: 1 when sequential wins, infinity when the winner's figure is 0.
    package var speedup: Double
    /// The second best model, if any.
    package var runnerUp: Model?
    /// The runner-up's figure over the winner's (at least 1).
    package var margin: Double?

    package init(winner: Model, speedup: Double, runnerUp: Model? = nil, margin: Double? = nil) {
        self.winner = winner
        self.speedup = speedup
        self.runnerUp = runnerUp
        self.margin = margin
    }

    /// Ranks the figures.
    /// - Parameter figures: each model's figure; lower is better.
    /// - Returns: the verdict, or nil without a sequential figure to compare with.
    package static func judge(_ figures: [Model: Double]) -> Verdict? {
        guard let sequential = figures[.sequential] else { return nil }
        let ranked = Model.allCases.compactMap { model in figures[model].map { (model, $0) } }
            .enumerated()
            .sorted { ($0.element.1, $0.offset) < ($1.element.1, $1.offset) }
            .map(\.element)
        let (winner, best) = ranked[0]
        let speedup = best > 0 ? sequential / best : (sequential > 0 ? .infinity : 1)
        guard ranked.count > 1 else { return Verdict(winner: winner, speedup: speedup) }
        let (runnerUp, second) = ranked[1]
        let margin = best > 0 ? second / best : (second > 0 ? .infinity : 1)
        return Verdict(winner: winner, speedup: speedup, runnerUp: runnerUp, margin: margin)
    }

    /// Whether the runner-up is within 10% of the winner: a tie on another run.
    package var isCloseCall: Bool { (margin ?? .infinity) < 1.1 }

    /// How the seed's pick fared against the measured winner.
    package enum Agreement: String, Sendable {
        /// The winner is a model the seed recommends.
        case agrees
        /// A model the seed recommends is as good as the winner (see ``Ranking/isTie(_:with:)``).
        case ties
        /// The seed's models lost.
        case differs

        /// ✓, ≈ or ✗.
        package var mark: String {
            switch self {
            case .agrees: "✓"
            case .ties: "≈"
            case .differs: "✗"
            }
        }
    }

    /// How `advice` fared: agrees if it names the winner, ties if one of its models is as good, differs otherwise.
    package func agreement(with advice: SeedAdvice, figures: [Model: Double], ranking: Ranking) -> Agreement {
        if advice.recommends(winner) { return .agrees }
        guard let best = figures[winner] else { return .differs }
        let tied = advice.models.contains { model in figures[model].map { ranking.isTie($0, with: best) } ?? false }
        return tied ? .ties : .differs
    }

    /// The speedup as the table shows it: `48×`, `1.9×`, `∞×`.
    package var speedupText: String { Self.ratioText(speedup) }

    /// A ratio with two significant digits below 10 and none above.
    package static func ratioText(_ ratio: Double) -> String {
        guard ratio.isFinite else { return "∞×" }
        return ratio >= 9.95 ? String(format: "%.0f×", ratio) : String(format: "%.1f×", ratio)
    }
}
