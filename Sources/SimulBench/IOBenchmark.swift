import Foundation
import Simul
import SimulDemos
import Synchronization

/// The `io` suite: the wikipics downloads (sequential, threads, async) against the demo's throttled image server on
/// 127.0.0.1, and with ``runPython(python:)`` the seed's Python versions against the same server.
///
/// Every case's figure is the best wall time of `repetitions` runs. The suite also reports the ideal speedup:
/// sequential wall ÷ the longest single download, which is what downloading everything at once would give.
///
/// ```swift
/// let suite = IOBenchmark(BenchSettings(quick: false, repetitions: 3))
/// var results = try await suite.run { print("… \($0)") }
/// results += try suite.runPython()
/// IOBenchmark.summary(results).forEach { print($0) }
/// await suite.shutdown()
/// ```
public struct IOBenchmark: BenchSuite {
    /// The stable case names, in the order they run.
    public static let cases = ["wikipics-sequential", "wikipics-threads", "wikipics-async"]
    /// The case of the ideal-speedup row (metric `speedup`, unit `x`).
    public static let idealSpeedupCase = "wikipics-ideal-speedup"

    /// How much the suite measures, and which Redis it uses.
    public let settings: BenchSettings
    /// How many pictures: 10, or 4 when quick (the demo's defaults).
    public var images: Int { quick ? 4 : 10 }
    /// Bytes per picture: 500 KB, or 200 KB when quick.
    public var imageSize: Int { quick ? 200_000 : 500_000 }
    /// The server's throttle per connection: the seed's 1.2 MB/s.
    public var bytesPerSecond: Int { 1_200_000 }

    private let shared = SharedServer()

    /// Creates the suite; the image server starts with the first run and serves both ours and Python's.
    /// - Parameter settings: quick is 4 pictures of 200 KB instead of 10 of 500 KB; each case runs `repetitions`
    ///   times and the best run counts.
    public init(_ settings: BenchSettings = BenchSettings()) {
        self.settings = settings
    }

    /// Runs the Simul side of every case.
    /// - Parameter progress: told about each case as it starts.
    /// - Returns: a wall-time row per case, then the ideal speedup.
    /// - Throws: ``Failure`` if a download fails; the server's error if it cannot start.
    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> [BenchResult] {
        let server = try await shared.server(images: images, size: imageSize, bytesPerSecond: bytesPerSecond)
        let downloader = PictureDownloader(timeout: timeout)
        var results: [BenchResult] = []
        var idealSpeedup = 0.0
        for model in DownloadModel.allCases {
            let name = "wikipics-\(model.rawValue)"
            progress(name)
            var best = Double.infinity
            for _ in 0..<max(1, repetitions) {
                let start = ContinuousClock.now
                let outcomes = try await downloader.run(model, server.sources)
                let wall = (ContinuousClock.now - start).seconds
                if let failed = outcomes.first(where: { $0.failure != nil }), let failure = failed.failure {
                    throw Failure(description: "\(name): \(failed.name) failed: \(failure)")
                }
                if wall < best {
                    best = wall
                    if model == .sequential, let longest = outcomes.map(\.seconds).max(), longest > 0 {
                        idealSpeedup = wall / longest
                    }
                }
            }
            results.append(
                BenchResult(suite: "io", case: name, impl: "simul", metric: "wall", value: best, unit: "s")
            )
        }
        results.append(
            BenchResult(
                suite: "io", case: Self.idealSpeedupCase, impl: "simul", metric: "speedup", value: idealSpeedup,
                unit: "x"
            )
        )
        return results
    }

    /// Runs the same cases in Python against the same server: `urllib` sequentially and on a
    /// `ThreadPoolExecutor` (impl `python-urllib`), `aiohttp` for the async case (impl `python-aiohttp`).
    ///
    /// `aiohttp` comes from PyPI into a virtual environment the suite creates and then reuses
    /// (``PythonEnvironment``). The thread pool and `aiohttp` get as many downloads in flight as ours.
    /// - Parameter python: the interpreter that creates the environment.
    /// - Returns: the Python rows, with the Python ideal speedup.
    /// - Throws: ``PythonEnvironment/Failure`` or ``PythonPeer/Failure``, each one line.
    public func runPython(python: String = PythonPeer.defaultInterpreter) throws -> [BenchResult] {
        let interpreter = try PythonEnvironment(basePython: python).interpreter(with: ["aiohttp"])
        let server = try shared.serverBlocking(images: images, size: imageSize, bytesPerSecond: bytesPerSecond)
        let concurrency = min(server.sources.count, PictureDownloader.maxConcurrency)
        let arguments = ["\(max(1, repetitions))", "\(concurrency)", "\(timeout.seconds)"] + server.sources.map(\.url)
        return try PythonPeer(implementation: "python-urllib", python: interpreter).run(
            PythonIOScript.source, suite: "io", arguments: arguments
        ) { $0 == "wikipics-async" ? "python-aiohttp" : nil }
    }

    /// Stops the image server; a later run starts a new one.
    public func shutdown() async {
        await shared.shutdown()
    }

    /// One line per implementation: each concurrent case's speedup over its own sequential case, and how close it
    /// comes to the ideal, such as `simul: threads 9.6× (0.97 of ideal 9.9×), async 9.7× (0.98 of ideal 9.9×)`; Python's
    /// `urllib` and `aiohttp` rows make one `python` line.
    /// - Parameter results: rows from ``run(progress:)`` and ``runPython(python:)``, among others.
    public static func summary(_ results: [BenchResult]) -> [String] {
        let rows = results.filter { $0.suite == "io" }
        var implementations: [String] = []
        for row in rows where row.case == cases[0] && !implementations.contains(row.impl) {
            implementations.append(row.impl)
        }
        return implementations.compactMap { implementation -> String? in
            guard let sequential = rows.first(where: { $0.case == cases[0] && $0.impl == implementation }) else {
                return nil
            }
            // Python's threads and async rows have their own impl names, and its ideal sits with its sequential row.
            let family = rows.filter { $0.impl == implementation || (implementation != "simul" && $0.impl != "simul") }
            let ideal = family.first { $0.case == idealSpeedupCase }?.value ?? 0
            let parts = cases.dropFirst().compactMap { name -> String? in
                guard let row = family.first(where: { $0.case == name }), row.value > 0 else { return nil }
                let speedup = sequential.value / row.value
                let short = name.replacingOccurrences(of: "wikipics-", with: "")
                let closeness = ideal > 0 ? String(format: " (%.2f of ideal %.1f×)", speedup / ideal, ideal) : ""
                return "\(short) \(String(format: "%.1f×", speedup))\(closeness)"
            }
            let label = implementation == "simul" ? "simul" : "python"
            return "\(label): " + parts.joined(separator: ", ")
        }
    }

    /// Why the suite could not measure.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Generous, so a slow machine never turns a slow download into a failure.
    private var timeout: Duration { .seconds(max(30, 4 * Double(imageSize) / Double(bytesPerSecond))) }
}

/// The image server shared by the Simul and Python runs of one ``IOBenchmark``; it stops when the benchmark goes
/// away, or on ``IOBenchmark/shutdown()``.
private final class SharedServer: Sendable {
    private let current = Mutex<PictureServer?>(nil)

    deinit {
        try? current.withLock { $0 }?.shutdownBlocking()
    }

    func server(images: Int, size: Int, bytesPerSecond: Int) async throws -> PictureServer {
        if let server = current.withLock({ $0 }) { return server }
        let started = try await PictureServer.start(count: images, size: size, bytesPerSecond: bytesPerSecond)
        return await keep(started)
    }

    func serverBlocking(images: Int, size: Int, bytesPerSecond: Int) throws -> PictureServer {
        if let server = current.withLock({ $0 }) { return server }
        let started = try PictureServer.startBlocking(count: images, size: size, bytesPerSecond: bytesPerSecond)
        let kept = current.withLock { current in
            if let current { return current }
            current = started
            return started
        }
        if kept !== started { try? started.shutdownBlocking() }
        return kept
    }

    func shutdown() async {
        let server = current.withLock { current in
            defer { current = nil }
            return current
        }
        try? await server?.shutdown()
    }

    /// Keeps `started` unless another caller won the race, in which case it stops `started`.
    private func keep(_ started: PictureServer) async -> PictureServer {
        let kept = current.withLock { current in
            if let current { return current }
            current = started
            return started
        }
        if kept !== started { try? await started.shutdown() }
        return kept
    }
}
