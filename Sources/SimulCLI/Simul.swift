import ArgumentParser

@main
struct SimulCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "simul")
}
