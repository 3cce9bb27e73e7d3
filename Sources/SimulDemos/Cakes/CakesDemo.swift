import Foundation
import Simul

/// Seeds 000 and 002's cakes: two cakes that each take a second in the oven. One after the other takes two
/// seconds; with threads, processes or async tasks they bake at the same time and take one.
public struct CakesDemo: Demo {
    public static let name = "cakes"

    static let cakes = [("chocolate", "chocolate"), ("carrot", "cenoura")]

    /// Creates the demo.
    public init() {}

    public func run(in context: DemoContext) async throws -> DemoReport {
        let oven: Double = context.options.quick ? 0.2 : 1
        context.say(
            "Two cakes, \(oven) s each in the oven: waiting, not computing.",
            "Dois bolos, \(oven) s cada no forno: espera, não cálculo."
        )
        @Sendable func start(_ cake: (String, String)) {
            context.say("Baking \(cake.0) cake...", "Fazendo bolo \(cake.1)...")
        }
        @Sendable func done(_ cake: (String, String)) {
            context.say("\(cake.0.capitalized) cake done!", "Bolo \(cake.1) feito!")
        }
        @Sendable func label(_ cake: (String, String)) -> String {
            context.options.language == .pt ? cake.1 : cake.0
        }

        var report = DemoReport(demo: Self.name)
        context.say("\nsequential:", "\nsequencial:")
        report.runs.append(
            await context.measure("sequential") { recorder in
                for cake in Self.cakes {
                    start(cake)
                    recorder.time(label(cake), lane: "main") { blockingWait(oven) }
                    done(cake)
                }
            }.run
        )

        context.say("\nthreads (ThreadPool):", "\nthreads (ThreadPool):")
        let threads = ThreadPool(maxWorkers: Self.cakes.count)
        report.runs.append(
            try await context.measure("threads") { recorder in
                let futures = Self.cakes.map { cake in
                    threads.submit {
                        start(cake)
                        recorder.timeOnThread(label(cake)) { blockingWait(oven) }
                        done(cake)
                    }
                }
                for future in futures { try await future.value }
            }.run
        )
        await threads.shutdown()

        context.say("\nprocesses (ProcessPool):", "\nprocessos (ProcessPool):")
        let processes = ProcessPool(context.options.processPool)
        _ = try await processes.run(DemoTasks.Bake.self, 0)  // start the workers before the clock does
        report.runs.append(
            try await context.measure("processes") { recorder in
                try await Self.cakes.concurrentMap(maxConcurrency: Self.cakes.count) { cake in
                    start(cake)
                    recorder.record(label(cake), try await processes.run(TimedTask<DemoTasks.Bake>.self, oven))
                    done(cake)
                }
            }.run
        )
        await processes.shutdown()

        context.say("\nasync (tasks):", "\nasync (tarefas):")
        report.runs.append(
            try await context.measure("async") { recorder in
                try await Array(Self.cakes.enumerated()).concurrentMap(maxConcurrency: Self.cakes.count) {
                    index, cake in
                    start(cake)
                    try await recorder.time(label(cake), lane: "task \(index + 1)") {
                        try await Task.sleep(for: .seconds(oven))
                    }
                    done(cake)
                }
            }.run
        )
        return report
    }
}
