import Foundation
import Simul
import SimulJSON
import SimulTasks

/// The seed's "Wikipedia pictures" demo: download pictures one after another, with threads, and with async tasks,
/// and time each way like `%%time`.
///
/// Downloading is I/O bound: the CPU waits for the network almost all the time, so many downloads in flight at once
/// finish in about the time of the slowest one. The pictures come from the demo's own throttled server on
/// 127.0.0.1 (``LocalHTTPServer``), or from real URLs with `--urls`.
///
/// ```swift
/// var options = DemoOptions()
/// options.quick = true
/// let report = try await Wikipics().run(in: DemoContext(options: options) { print($0) })
/// print(report.summary["ideal_speedup"] ?? .null)
/// ```
public struct Wikipics: Demo {
    public static let name = "wikipics"

    /// Pictures in quick mode.
    public static let quickImages = 4
    /// Bytes per picture in quick mode.
    public static let quickImageSize = 200_000

    /// Creates the demo.
    public init() {}

    /// Starts the image server (unless `--urls` names real ones), downloads under every model, and reports.
    /// - Returns: a run per model with every picture's name and byte count, and the speedups in the summary.
    /// - Throws: ``WikipicsError`` for an unreadable or empty `--urls` file or an unwritable `--gallery` page; a
    ///   download that fails is a failed row instead.
    public func run(in context: DemoContext) async throws -> DemoReport {
        let options = context.options
        if let path = options.galleryFile { try Self.checkWritable(path) }
        context.say(
            "Downloading pictures is I/O bound: the CPU spends most of the time waiting for the network. "
                + "We download them three ways (one after another, with threads, and with async tasks) "
                + "and time each like %%time.",
            "Baixar imagens é uma tarefa I/O bound: a CPU passa a maior parte do tempo esperando a rede. "
                + "Vamos baixá-las de três jeitos (uma depois da outra, com threads e com tarefas assíncronas) "
                + "e medir cada um como o %%time."
        )
        if let file = options.urlsFile {
            let sources = try Self.readURLList(file)
            context.say(
                "Downloading the \(sources.count) URLs in \(file).", "Baixando as \(sources.count) URLs de \(file)."
            )
            return try await run(sources, timeout: .seconds(60), context: context)
        }
        let count = options.quick ? min(options.images, Self.quickImages) : options.images
        let size = options.quick ? min(options.imageSize, Self.quickImageSize) : options.imageSize
        let server = try await PictureServer.start(count: count, size: size, bytesPerSecond: options.rate)
        let perPicture = Double(size) / Double(options.rate)
        context.say(
            "Our own image server at \(server.server.baseURL) plays a distant Wikipedia: each connection gets at "
                + "most \(Self.grouped(options.rate)) bytes/s, so each of the \(count) pictures of "
                + "\(Self.grouped(size)) bytes takes about \(Self.seconds(perPicture)). It runs in this process, "
                + "so the CPU times below include its thread.",
            "Nosso servidor de imagens em \(server.server.baseURL) faz o papel de uma Wikipédia distante: cada "
                + "conexão recebe no máximo \(Self.grouped(options.rate)) bytes/s, então cada uma das \(count) "
                + "imagens de \(Self.grouped(size)) bytes leva uns \(Self.seconds(perPicture)). Ele roda neste "
                + "processo, então os tempos de CPU abaixo incluem a thread dele."
        )
        // Generous: a slow machine must not turn a slow download into a failure.
        let timeout = Duration.seconds(max(30, 4 * perPicture))
        do {
            let report = try await run(server.sources, timeout: timeout, context: context)
            try await server.shutdown()
            return report
        } catch {
            try? await server.shutdown()
            throw error
        }
    }

    private func run(_ sources: [PictureSource], timeout: Duration, context: DemoContext) async throws -> DemoReport {
        let options = context.options
        let downloader = PictureDownloader(timeout: timeout, keepData: options.galleryFile != nil)
        let concurrency = min(sources.count, PictureDownloader.maxConcurrency)
        var runs: [ModelRun] = []
        var longest = 0.0
        var gallery: [[UInt8]?] = Array(repeating: nil, count: sources.count)
        var failures: [String?] = Array(repeating: nil, count: sources.count)
        for model in DownloadModel.allCases {
            switch model {
            case .sequential:
                context.say(
                    "\nSequential download: one picture after another.",
                    "\nDownload sequencial: uma imagem depois da outra."
                )
            case .threads:
                context.say(
                    "\nDownload with threads: a ThreadPool of \(concurrency) threads, each one blocked on its own "
                        + "download.",
                    "\nDownload com threads: um ThreadPool de \(concurrency) threads, cada uma bloqueada no seu "
                        + "download."
                )
            case .async:
                context.say(
                    "\nAsync download: AsyncHTTPClient, at most \(concurrency) requests at once (concurrentMap), "
                        + "on one event loop per core.",
                    "\nDownload assíncrono: AsyncHTTPClient, no máximo \(concurrency) requisições ao mesmo tempo "
                        + "(concurrentMap), com um event loop por núcleo."
                )
            }
            let table = LiveTable(
                context,
                header: ["#", "bytes", options.language == .pt ? "imagem" : "picture"],
                rows: sources.indices.map { [Self.label($0, of: sources.count), "🕒", sources[$0].name] },
                widths: [0, 20, 0]
            )
            let (outcomes, run) = try await context.measure(model.rawValue, results: Self.results) { recorder in
                let outcomes = try await downloader.run(model, sources) { index, outcome in
                    Self.record(outcome, index: index, model: model, recorder: recorder)
                    table.update(index, Self.row(index, of: sources.count, outcome))
                }
                let total = outcomes.reduce(0) { $0 + $1.byteCount }
                context.say("TOTAL BYTES: \(Self.grouped(total))", "TOTAL DE BYTES: \(Self.grouped(total))")
                return outcomes
            }
            let busy = run.user_s + run.sys_s
            context.say(
                "  The CPU worked \(Self.seconds(busy)): \(Self.percent(busy, of: run.wall_s)) of the wall time.",
                "  A CPU trabalhou por \(Self.seconds(busy)): \(Self.percent(busy, of: run.wall_s)) do total."
            )
            runs.append(run)
            if model == .sequential { longest = outcomes.map(\.seconds).max() ?? 0 }
            for (index, outcome) in outcomes.enumerated() {
                if gallery[index] == nil, let data = outcome.data { gallery[index] = data }
                if let failure = outcome.failure { failures[index] = failure.description }
            }
        }

        let sequentialWall = runs[0].wall_s
        var summary: [String: JSONValue] = ["longest_download_s": .number(longest)]
        var speedups: [String] = []
        for run in runs.dropFirst() where run.wall_s > 0 {
            let speedup = sequentialWall / run.wall_s
            summary["speedup_\(run.model)"] = .number(speedup)
            speedups.append("\(run.model) \(Self.factor(speedup))")
        }
        if longest > 0 {
            let ideal = sequentialWall / longest
            summary["ideal_speedup"] = .number(ideal)
            context.say(
                "\nSpeedup over sequential: \(speedups.joined(separator: ", ")). Ideal: \(Self.factor(ideal)) "
                    + "(sequential wall \(Self.seconds(sequentialWall)) ÷ longest single download "
                    + "\(Self.seconds(longest))): with every download in flight at once, the whole takes as long as "
                    + "the slowest one.",
                "\nGanho sobre o sequencial: \(speedups.joined(separator: ", ")). Ideal: \(Self.factor(ideal)) "
                    + "(tempo sequencial \(Self.seconds(sequentialWall)) ÷ download individual mais longo "
                    + "\(Self.seconds(longest))): com todos os downloads ao mesmo tempo, o total leva o tempo do "
                    + "mais lento."
            )
        }
        context.say(
            "Threads and async tasks both suit concurrent I/O: while one download waits, the others go on.",
            "Threads e corrotinas funcionam bem para I/O concorrente: enquanto um download espera, os outros seguem."
        )
        if let path = options.galleryFile {
            let items = sources.indices.map {
                GalleryPage.Item(name: sources[$0].name, data: gallery[$0], failure: failures[$0])
            }
            let title = options.language == .pt ? "wikipics: imagens baixadas" : "wikipics: downloaded pictures"
            let page = GalleryPage.html(title: title, items: items, language: options.language)
            do {
                try Data(page.utf8).write(to: URL(fileURLWithPath: path))
            } catch {
                throw WikipicsError.galleryNotWritten(path, reason: error.localizedDescription)
            }
            let shown = gallery.count { $0 != nil }
            context.say(
                "Gallery: \(path) (\(shown) of \(sources.count) pictures, inside the page).",
                "Galeria: \(path) (\(shown) de \(sources.count) imagens, dentro da página)."
            )
        }
        return DemoReport(demo: Self.name, runs: runs, summary: summary)
    }

    /// Records a download as a span: on `main` for sequential, on its thread for threads (`landed` runs on the
    /// thread that downloaded), on its task for async; with the thread's CPU time where it was measured.
    static func record(_ outcome: DownloadOutcome, index: Int, model: DownloadModel, recorder: SpanRecorder) {
        let lane =
            switch model {
            case .sequential: "main"
            case .threads: recorder.threadLane()
            case .async: "task \(index + 1)"
            }
        recorder.record(
            outcome.name, lane: lane, from: outcome.start, to: outcome.start + .seconds(outcome.seconds),
            cpu: outcome.cpuSeconds)
    }

    /// Fails early, before any download, if the gallery page could not be written.
    static func checkWritable(_ path: String) throws {
        let files = FileManager.default
        let folder = (path as NSString).deletingLastPathComponent
        var isFolder: ObjCBool = false
        if !folder.isEmpty, !files.fileExists(atPath: folder, isDirectory: &isFolder) || !isFolder.boolValue {
            throw WikipicsError.galleryNotWritten(path, reason: "no folder '\(folder)'")
        }
        let writable =
            files.fileExists(atPath: path)
            ? files.isWritableFile(atPath: path) : files.isWritableFile(atPath: folder.isEmpty ? "." : folder)
        guard writable else { throw WikipicsError.galleryNotWritten(path, reason: "permission denied") }
    }

    /// The sources in a `--urls` file: one URL a line; blank lines and lines starting with `#` are skipped.
    static func readURLList(_ path: String) throws -> [PictureSource] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw WikipicsError.unreadableURLList(path, reason: error.localizedDescription)
        }
        let urls = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !urls.isEmpty else { throw WikipicsError.emptyURLList(path) }
        return urls.map { url in
            let last = URL(string: url)?.lastPathComponent ?? ""
            let name = last.isEmpty || last == "/" ? url : (last.removingPercentEncoding ?? last)
            return PictureSource(name: name, url: url)
        }
    }

    /// A model's results: every picture's name and byte count (and error), and the total.
    static func results(_ outcomes: [DownloadOutcome]) -> JSONValue {
        let images = outcomes.map { outcome -> JSONValue in
            var image: [String: JSONValue] = [
                "name": .string(outcome.name), "bytes": .integer(Int64(outcome.byteCount)),
            ]
            if let failure = outcome.failure { image["error"] = .string(failure.description) }
            return .object(image)
        }
        let total = outcomes.reduce(0) { $0 + $1.byteCount }
        return .object(["images": .array(images), "total_bytes": .integer(Int64(total))])
    }

    static func row(_ index: Int, of count: Int, _ outcome: DownloadOutcome) -> [String] {
        let status = outcome.failure.map { "✗ \($0)" } ?? "\(grouped(outcome.byteCount)) bytes"
        return [label(index, of: count), status, outcome.name]
    }

    /// `( 1 )`, padded to the widest index, as the seed's gallery numbers its rows.
    static func label(_ index: Int, of count: Int) -> String {
        let number = String(index + 1)
        return "(" + String(repeating: " ", count: String(count).count - number.count + 1) + number + " )"
    }

    /// `5_086_950`: digits in groups of three, as Python's `f"{n:_}"`.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var groups: [Substring] = []
        var end = digits.endIndex
        while end > digits.startIndex {
            let start = digits.index(end, offsetBy: -3, limitedBy: digits.startIndex) ?? digits.startIndex
            groups.insert(digits[start..<end], at: 0)
            end = start
        }
        return (value < 0 ? "-" : "") + groups.joined(separator: "_")
    }

    private static func seconds(_ value: Double) -> String { Duration.seconds(value).timeDescription }

    private static func factor(_ value: Double) -> String { String(format: "%.1f×", value) }

    private static func percent(_ part: Double, of whole: Double) -> String {
        whole > 0 ? String(format: "%.0f%%", part / whole * 100) : "–"
    }
}
