public import Simul

/// The process tasks of the decision table's scenarios.
public enum TableTasks {
    /// Registers every one of them; ``DemoTasks/register(in:)`` calls this.
    public static func register(in registry: inout TaskRegistry) {
        registry.register(FetchItem.self)
        registry.register(DigestFile.self)
        registry.register(Download.self)
        registry.register(CountPrimes.self)
        registry.register(BilateralBand.self)
        registry.register(Scrape.self)
        registry.register(ShardGradient.self)
        registry.register(ChatClient.self)
        registry.register(RunQueries.self)
    }
}
