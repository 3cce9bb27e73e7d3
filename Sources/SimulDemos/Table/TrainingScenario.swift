import Foundation
import Simul
import SimulJSON
import Synchronization

/// Row 7, "Machine Learning training": full-batch gradient descent of a logistic regression, data-parallel: each
/// step, every shard's gradient is computed on its own, then summed in shard order and applied.
struct TrainingScenario: Scenario {
    let key = "training"
    let title = Phrase("ML training", "Treino de Machine Learning")
    let advice = SeedAdvice([.processes], Phrase("CPU-bound, use every core", "CPU-bound, usar todos cores"))

    func size(quick: Bool) -> Dataset {
        quick
            ? Dataset(samples: 32_000, features: 16, shards: 8, steps: 60)
            : Dataset(samples: 160_000, features: 32, shards: 8, steps: 120)
    }

    var workload: Phrase {
        let data = size(quick: false)
        return Phrase(
            "\(data.steps) gradient-descent steps of a logistic regression on \(data.samples) × \(data.features) "
                + "samples, in \(data.shards) shards",
            "\(data.steps) passos de gradiente de uma regressão logística sobre \(data.samples) × "
                + "\(data.features) amostras, em \(data.shards) partes")
    }

    func prepare(_ settings: TableSettings) async throws -> any ScenarioFixture {
        let data = size(quick: settings.quick)
        return Fixture(data: data, shards: (0..<data.shards).map(data.shard), settings: settings)
    }

    func note(_ verdict: Verdict, figures: [Model: Double]) -> Phrase {
        cpuBoundNote(verdict, extra: Phrase("a round trip per step", "uma ida e volta por passo"))
    }

    struct Fixture: ScenarioFixture {
        let data: Dataset
        let shards: [Shard]
        let settings: TableSettings

        func run(_ model: Model) async throws -> Outcome {
            let data = data
            let shards = shards
            var weights = [Double](repeating: 0, count: data.features)
            var loss = 0.0
            switch model {
            case .sequential:
                (weights, loss) = try await Pools.onOneThread {
                    var weights = [Double](repeating: 0, count: data.features)
                    var loss = 0.0
                    for _ in 0..<data.steps {
                        let gradients = shards.map { $0.gradient(weights) }
                        (weights, loss) = data.step(weights, gradients)
                    }
                    return (weights, loss)
                }
            case .threads:
                try await Pools.withThreads(settings.cpuThreads) { pool in
                    for _ in 0..<data.steps {
                        let current = weights
                        (weights, loss) = data.step(
                            weights, try await Pools.map(shards, on: pool) { $0.gradient(current) })
                    }
                }
            case .processes:
                try await Pools.withProcesses(settings.processes) { pool in
                    for _ in 0..<data.steps {
                        let inputs = (0..<data.shards).map { ShardStep(data: data, shard: $0, weights: weights) }
                        (weights, loss) = data.step(weights, try await Pools.map(inputs, on: pool, ShardGradient.self))
                    }
                }
            case .async:
                for _ in 0..<data.steps {
                    let current = weights
                    let gradients = try await shards.concurrentMap(maxConcurrency: shards.count) {
                        $0.gradient(current)
                    }
                    (weights, loss) = data.step(weights, gradients)
                }
            }
            var crc = CRC32()
            for weight in weights { crc.update(integer: weight.bitPattern) }
            let accuracy = shards.reduce(0) { $0 + $1.correct(weights) }
            return Outcome(
                check: "loss=\(loss) correct=\(accuracy) weights=\(crc)",
                details: ["loss": .number(loss), "accuracy": .number(Double(accuracy) / Double(data.samples))])
        }

        func tearDown() async throws {}
    }
}

/// The generated data set and the training schedule.
struct Dataset: Codable, Sendable, Hashable {
    var samples: Int
    var features: Int
    var shards: Int
    var steps: Int
    var learningRate = 2.0

    /// The true weights the labels come from.
    var truth: [Double] {
        var random = SplitMix64(seed: 0x7EA)
        return (0..<features).map { _ in random.nextUnit() * 4 - 2 }
    }

    /// Shard `index`: its samples, generated from their indices alone.
    func shard(_ index: Int) -> Shard {
        let range = (samples * index / shards)..<(samples * (index + 1) / shards)
        let truth = truth
        var inputs = [Double](repeating: 0, count: range.count * features)
        var labels = [Double](repeating: 0, count: range.count)
        for (row, sample) in range.enumerated() {
            var random = SplitMix64(seed: UInt64(sample) &* 0x9E37_79B9)
            var dot = 0.0
            for feature in 0..<features {
                let value = random.nextUnit() * 2 - 1
                inputs[row * features + feature] = value
                dot += value * truth[feature]
            }
            labels[row] = random.nextUnit() < 1 / (1 + exp(-dot)) ? 1 : 0
        }
        return Shard(features: features, inputs: inputs, labels: labels)
    }

    /// The weights after one step, and the mean loss before it, from every shard's `[gradient…, loss]`.
    func step(_ weights: [Double], _ gradients: [[Double]]) -> ([Double], Double) {
        var total = [Double](repeating: 0, count: features + 1)
        for gradient in gradients { for index in total.indices { total[index] += gradient[index] } }
        let next = weights.indices.map { weights[$0] - learningRate * total[$0] / Double(samples) }
        return (next, total[features] / Double(samples))
    }
}

/// A shard of samples, row-major.
struct Shard: Sendable {
    var features: Int
    var inputs: [Double]
    var labels: [Double]

    /// The summed log-loss gradient over the shard, with the summed loss appended.
    func gradient(_ weights: [Double]) -> [Double] {
        var gradient = [Double](repeating: 0, count: features + 1)
        inputs.withUnsafeBufferPointer { inputs in
            weights.withUnsafeBufferPointer { weights in
                gradient.withUnsafeMutableBufferPointer { gradient in
                    for row in labels.indices {
                        let x = inputs.baseAddress! + row * features
                        var dot = 0.0
                        for feature in 0..<features { dot += x[feature] * weights[feature] }
                        let p = 1 / (1 + exp(-dot))
                        let error = p - labels[row]
                        for feature in 0..<features { gradient[feature] += error * x[feature] }
                        gradient[features] -= labels[row] == 1 ? log(max(p, 1e-12)) : log(max(1 - p, 1e-12))
                    }
                }
            }
        }
        return gradient
    }

    /// How many samples the weights classify right.
    func correct(_ weights: [Double]) -> Int {
        labels.indices.reduce(0) { count, row in
            var dot = 0.0
            for feature in 0..<features { dot += inputs[row * features + feature] * weights[feature] }
            return count + ((dot > 0) == (labels[row] == 1) ? 1 : 0)
        }
    }
}

/// One shard's step for a worker.
struct ShardStep: Codable, Sendable {
    var data: Dataset
    var shard: Int
    var weights: [Double]
}

/// The worker side of the training row: a shard's gradient. Each worker generates a shard the first time it sees
/// it, and keeps it, as a worker process would load its part of the data once.
struct ShardGradient: ProcessTask {
    static let name = "table.shard-gradient"

    private static let cache = Mutex<[ShardKey: Shard]>([:])

    private struct ShardKey: Hashable {
        var data: Dataset
        var shard: Int
    }

    static func run(_ input: ShardStep) -> [Double] {
        let key = ShardKey(data: input.data, shard: input.shard)
        let shard =
            cache.withLock { $0[key] }
            ?? {
                let shard = input.data.shard(input.shard)
                cache.withLock { $0[key] = shard }
                return shard
            }()
        return shard.gradient(input.weights)
    }
}
