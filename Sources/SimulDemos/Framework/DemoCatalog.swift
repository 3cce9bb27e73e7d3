/// Every demo `simul demo` can run, in the order it runs them.
public enum DemoCatalog {
    /// The seed demos, run when no name is given.
    public static let seedDemos: [any Demo] = [
        CakesDemo(), PipelineDemo(), Wikipics(), PrimesDemo(), PolgarDemo(), QueueDemo(), DecisionTable(),
    ]

    /// Extra demos that run only by name.
    public static let extras: [any Demo] = [Tour()]

    /// Every demo's name.
    public static var names: [String] { (seedDemos + extras).map { type(of: $0).name } }

    /// The demo called `name`.
    public static func demo(named name: String) -> (any Demo)? {
        (seedDemos + extras).first { type(of: $0).name == name }
    }
}
