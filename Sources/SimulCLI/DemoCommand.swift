import ArgumentParser
import Foundation
import SimulCommands
import SimulDemos

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the seeds' demos and time every concurrency model, like %%time.",
        discussion: """
            With no name, runs every seed demo. Available: \(DemoCatalog.names.joined(separator: ", ")).
            Each demo runs its work sequentially and then with threads, processes and/or async, and prints \
            each model's CPU and wall times. Nothing needs the network: wikipics starts its own image server \
            on 127.0.0.1.
            Examples:
              simul demo
              simul demo primes --quick
              simul demo wikipics --images 20 --rate 600000 --gallery gallery.html
              simul demo --lang pt
              simul demo --json > runs.json
              simul demo cakes primes --html timelines.html
            """
    )

    @Argument(help: "The demos to run (default: every seed demo).")
    var names: [String] = []

    @Flag(help: "Print one JSON object per demo (one per line) instead of narration.")
    var json = false

    @Flag(help: "Smaller workloads, for a fast look.")
    var quick = false

    @Option(help: "Narration language: en or pt.")
    var lang = "en"

    @Option(parsing: .unconditional, help: "wikipics: how many images to download.")
    var images = 10

    @Option(parsing: .unconditional, help: "wikipics: bytes per generated image.")
    var size = 500_000

    @Option(parsing: .unconditional, help: "wikipics: server throttle per connection, in bytes per second.")
    var rate = 1_200_000

    @Option(help: "wikipics: download the URLs in this file (one per line) instead of the local server's.")
    var urls: String?

    @Option(help: "wikipics: write an HTML page showing the downloaded pictures.")
    var gallery: String?

    @Option(help: "Write one HTML page with each model's timeline: a lane per thread, process or task.")
    var html: String?

    func run() async throws {
        let demos = try selectedDemos()
        let options = try makeOptions()
        if let html { try Self.checkWritable(html) }
        let context = DemoContext(options: options) { text in print(text) }
        var reports: [DemoReport] = []
        for demo in demos {
            context.say("\n== \(type(of: demo).name)", "\n== \(type(of: demo).name)")
            let report = try await demo.run(in: context)
            reports.append(report)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            }
        }
        if let html {
            let page = TimelinePage.render(reports, language: options.language)
            do {
                try page.write(toFile: html, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError("cannot write the HTML page '\(html)': \(error.localizedDescription)")
            }
            context.say("\nTimelines: \(html)", "\nLinhas do tempo: \(html)")
        }
    }

    /// Refuses a page path that cannot be written, before any demo runs.
    static func checkWritable(_ path: String) throws {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard !isDirectory.boolValue else { throw CLIError("cannot write the HTML page '\(path)': a directory") }
            guard files.isWritableFile(atPath: path) else {
                throw CLIError("cannot write the HTML page '\(path)': permission denied")
            }
            return
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard files.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("cannot write the HTML page '\(path)': no such directory '\(directory)'")
        }
        guard files.isWritableFile(atPath: directory) else {
            throw CLIError("cannot write the HTML page '\(path)': permission denied on '\(directory)'")
        }
    }

    func selectedDemos() throws -> [any Demo] {
        try checkNames(names, kind: "demo", available: DemoCatalog.names)
        if names.isEmpty { return DemoCatalog.seedDemos.isEmpty ? DemoCatalog.extras : DemoCatalog.seedDemos }
        return names.compactMap(DemoCatalog.demo(named:))
    }

    func makeOptions() throws -> DemoOptions {
        guard let language = Language(rawValue: lang) else {
            throw CLIError("unknown language '\(lang)' (available: en, pt)")
        }
        guard images >= 1 else { throw CLIError("--images must be at least 1, got \(images)") }
        guard size >= 1 else { throw CLIError("--size must be at least 1 byte, got \(size)") }
        guard rate >= 1 else { throw CLIError("--rate must be at least 1 byte per second, got \(rate)") }
        if let urls, !FileManager.default.isReadableFile(atPath: urls) {
            throw CLIError("cannot read the URL list '\(urls)': no such file")
        }
        var options = DemoOptions()
        options.quick = quick
        options.language = language
        options.live = !json && isatty(STDOUT_FILENO) == 1
        options.narrate = !json
        options.images = images
        options.imageSize = size
        options.rate = rate
        options.urlsFile = urls
        options.galleryFile = gallery
        return options
    }
}
