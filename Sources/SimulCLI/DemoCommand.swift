import ArgumentParser
import Foundation
import SimulDemos

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the demos and time every concurrency model, like %%time.",
        discussion: """
            With no name, runs them all. Available: \(DemoCommand.available.joined(separator: ", ")).
            Examples:
              simul demo
              simul demo tour --quick
              simul demo --json > runs.json
            """
    )

    static let available = ["tour"]

    @Argument(help: "The demos to run (default: all).")
    var names: [String] = []

    @Flag(help: "Print one JSON object per demo instead of narration.")
    var json = false

    @Flag(help: "Smaller, faster runs.")
    var quick = false

    func run() async throws {
        try checkNames(names, kind: "demo", available: Self.available)
        let json = json
        let tour = Tour(quick: quick) { line in if !json { print(line) } }
        let report = try await tour.run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
    }
}
