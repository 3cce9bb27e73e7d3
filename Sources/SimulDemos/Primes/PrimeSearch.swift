import SimulTasks
import Synchronization

/// Splits the search for least prime factors into pieces that several workers can share, and settles each number
/// as soon as its answer is certain.
///
/// Scheduling whole numbers first-in-first-out tops out at 1.64× on two cores for the seed's sample: one number
/// carries a quarter of the work. Cutting every number's trial range into pieces of similar size lets both cores
/// stay busy to the end. A number is settled once the piece holding its least factor and every piece below it
/// are done, or once all its pieces found nothing (a prime); its other pieces are then skipped.
final class PrimeSearch: Sendable {
    /// One slice of one number's trial divisors.
    struct Piece: Sendable, Hashable {
        var number: Int
        var index: Int
        var n: UInt64
        var start: UInt64
        var end: UInt64
    }

    private struct Progress {
        var found: [Int: UInt64] = [:]
        var done: Set<Int> = []
        var settled: UInt64?
    }

    let numbers: [UInt64]
    /// The pieces, lowest slices of every number first, so small factors are found early.
    let pieces: [Piece]
    private let pieceCounts: [Int]
    private let progress: Mutex<[Progress]>

    /// - Parameters:
    ///   - numbers: the numbers to factor.
    ///   - piecesPerWorker: about how many pieces each worker should get, all numbers together.
    ///   - workers: how many workers will share them.
    init(numbers: [UInt64], workers: Int, piecesPerWorker: Int = 48) {
        self.numbers = numbers
        var progress = [Progress](repeating: Progress(), count: numbers.count)
        let ends = numbers.map(Primes.squareRoot)
        let total = ends.reduce(0) { $0 + Double($1) }
        let pieceLength = max(1_000, UInt64(total / Double(max(1, workers * piecesPerWorker))))
        var byNumber: [[Piece]] = []
        for (number, n) in numbers.enumerated() {
            if n < 4 || n % 2 == 0 || n % 3 == 0 {
                progress[number].settled = n < 4 ? n : (n % 2 == 0 ? 2 : 3)
                byNumber.append([])
                continue
            }
            var slices: [Piece] = []
            var start: UInt64 = 5
            while start <= ends[number] {
                let end = min(ends[number], start + pieceLength - 1)
                slices.append(Piece(number: number, index: slices.count, n: n, start: start, end: end))
                start = end + 1
            }
            if slices.isEmpty { progress[number].settled = n }
            byNumber.append(slices)
        }
        pieceCounts = byNumber.map(\.count)
        let depth = byNumber.map(\.count).max() ?? 0
        pieces = (0..<depth).flatMap { index in byNumber.compactMap { index < $0.count ? $0[index] : nil } }
        self.progress = Mutex(progress)
    }

    /// The numbers settled before any piece runs (even numbers, multiples of 3, tiny numbers).
    var settledUpFront: [(number: Int, factor: UInt64)] {
        progress.withLock { progress in
            progress.indices.compactMap { index in progress[index].settled.map { (index, $0) } }
        }
    }

    /// Whether a piece is still worth running.
    func isNeeded(_ piece: Piece) -> Bool {
        progress.withLock { progress in
            guard progress[piece.number].settled == nil else { return false }
            let lowestFound = progress[piece.number].found.keys.min() ?? .max
            return piece.index < lowestFound
        }
    }

    /// Records a piece's result (nil: no divisor in its slice).
    /// - Returns: the number's least prime factor if this settled it.
    func record(_ piece: Piece, factor: UInt64?) -> UInt64? {
        progress.withLock { progress in
            var state = progress[piece.number]
            guard state.settled == nil else { return nil }
            state.done.insert(piece.index)
            if let factor { state.found[piece.index] = factor }
            let lowest = state.found.keys.min()
            let needed = lowest ?? pieceCounts[piece.number] - 1
            if (0...needed).allSatisfy(state.done.contains) {
                state.settled = lowest.map { state.found[$0]! } ?? piece.n
            }
            progress[piece.number] = state
            return state.settled
        }
    }

    /// The least prime factor of every number, once all are settled.
    var results: [UInt64?] { progress.withLock { $0.map(\.settled) } }
}
