/// A row's recommendation in seed 002's "Tabela de Decisão Rápida".
package struct SeedAdvice: Sendable, Equatable {
    /// The models the seed names, in its order.
    package var models: [Model]
    /// Its reason ("I/O-bound, alta escalabilidade").
    package var reason: Phrase

    package init(_ models: [Model], _ reason: Phrase) {
        self.models = models
        self.reason = reason
    }

    /// The seed's technique as Python names it: `asyncio`, `multiprocessing`, `threading`.
    package var technique: String {
        models.map { model in
            switch model {
            case .async: "asyncio"
            case .processes: "multiprocessing"
            case .threads: "threading"
            case .sequential: "sequential"
            }
        }.joined(separator: "/")
    }

    /// Whether `model` is one the seed recommends.
    package func recommends(_ model: Model) -> Bool { models.contains(model) }
}
