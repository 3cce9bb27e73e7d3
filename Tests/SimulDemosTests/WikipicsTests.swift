import Foundation
import Simul
import SimulJSON
import SimulTasks
import Synchronization
import Testing

@testable import SimulDemos

@Suite(.timeLimit(.minutes(2))) struct WikipicsTests {
    /// A context that keeps every line it is given.
    final class Transcript: Sendable {
        private let lines = Mutex<[String]>([])
        var text: String { lines.withLock { $0.joined(separator: "\n") } }

        func context(_ configure: (inout DemoOptions) -> Void = { _ in }) -> DemoContext {
            var options = DemoOptions()
            options.quick = true
            options.rate = 20_000_000  // quick tests; the throttle itself is the benchmark's business
            configure(&options)
            return DemoContext(options: options) { line in self.lines.withLock { $0.append(line) } }
        }
    }

    static func images(_ run: ModelRun?) -> [(name: String, bytes: Int64, error: String?)] {
        guard case .object(let results)? = run?.results, case .array(let images)? = results["images"] else {
            return []
        }
        return images.compactMap { image in
            guard case .object(let fields) = image, case .string(let name)? = fields["name"],
                case .integer(let bytes)? = fields["bytes"]
            else { return nil }
            if case .string(let error)? = fields["error"] { return (name, bytes, error) }
            return (name, bytes, nil)
        }
    }

    static func total(_ run: ModelRun?) -> Int64? {
        guard case .object(let results)? = run?.results, case .integer(let total)? = results["total_bytes"] else {
            return nil
        }
        return total
    }

    @Test func isASeedDemo() {
        #expect(DemoCatalog.seedDemos.contains { type(of: $0).name == "wikipics" })
        #expect(DemoCatalog.demo(named: "wikipics") is Wikipics)
    }

    @Test func quickRunDownloadsEveryPictureUnderEveryModel() async throws {
        let transcript = Transcript()
        let report = try await Wikipics().run(in: transcript.context { $0.live = true })
        #expect(report.demo == "wikipics")
        #expect(report.runs.map(\.model) == ["sequential", "threads", "async"])
        let names = (0..<4).map(GeneratedPictures.name(at:))
        for run in report.runs {
            let images = Self.images(run)
            #expect(images.map(\.name) == names, "\(run.model)")
            #expect(images.map(\.bytes) == [200_000, 200_000, 200_000, 200_000], "\(run.model)")
            #expect(images.allSatisfy { $0.error == nil }, "\(run.model)")
            #expect(Self.total(run) == 800_000, "\(run.model)")
            // A span per download, within the run; the blocking models measured their threads' CPU time.
            let spans = try #require(run.spans, "\(run.model)")
            #expect(Set(spans.map(\.label)) == Set(names), "\(run.model)")
            #expect(spans.allSatisfy { 0 <= $0.start_s && $0.start_s <= $0.end_s && $0.end_s <= run.wall_s })
            #expect(spans.allSatisfy { ($0.cpu_s != nil) == (run.model != "async") }, "\(run.model)")
            #expect(spans.allSatisfy { ($0.cpu_s ?? 0) >= 0 }, "\(run.model)")
        }
        #expect(Set(report.run("sequential")?.spans?.map(\.lane) ?? []) == ["main"])
        #expect(Set(report.run("async")?.spans?.map(\.lane) ?? []) == ["task 1", "task 2", "task 3", "task 4"])
        let threadLanes = Set(report.run("threads")?.spans?.map(\.lane) ?? [])
        #expect(!threadLanes.isEmpty && threadLanes.isSubset(of: ["thread 1", "thread 2", "thread 3", "thread 4"]))
        for key in ["ideal_speedup", "speedup_threads", "speedup_async", "longest_download_s"] {
            #expect(report.summary[key] != nil, "\(key)")
        }
        let text = transcript.text
        #expect(text.contains("🕒"))
        #expect(text.contains("( 1 )         200_000 bytes  Ada_Lovelace.png"))
        #expect(text.contains("TOTAL BYTES: 800_000"))
        #expect(text.contains("Wall time:"))
        #expect(text.contains("Ideal:"))
    }

    @Test func narratesInPortuguese() async throws {
        let transcript = Transcript()
        _ = try await Wikipics().run(
            in: transcript.context {
                $0.language = .pt; $0.images = 2
            })
        #expect(transcript.text.contains("Download sequencial: uma imagem depois da outra."))
        #expect(transcript.text.contains("TOTAL DE BYTES: 400_000"))
    }

    @Test func failedDownloadsAreRowsAndTheDemoGoesOn() async throws {
        let server = try await PictureServer.start(count: 2, size: 30_000, bytesPerSecond: nil)
        // A port that is bound but not listening refuses connections, and no other test can take it meanwhile.
        let closed = try #require(BoundSocket())
        defer { closed.close() }
        let refusedURL = "http://127.0.0.1:\(closed.port)/Nobody_Home.png"
        let list = FileManager.default.temporaryDirectory.appendingPathComponent("simul-urls-\(UUID().uuidString)")
        let lines = [
            "# two pictures, a missing one, and a server that is gone", server.sources[0].url, "",
            server.server.baseURL + "/pictures/No_Such_Picture.png", refusedURL, "ftp://127.0.0.1/File.png",
            server.sources[1].url,
        ]
        try lines.joined(separator: "\n").write(to: list, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: list) }

        let transcript = Transcript()
        let report = try await Wikipics().run(in: transcript.context { $0.urlsFile = list.path })
        #expect(report.runs.count == 3)
        for run in report.runs {
            let images = Self.images(run)
            #expect(
                images.map(\.name) == [
                    "Ada_Lovelace.png", "No_Such_Picture.png", "Nobody_Home.png", "File.png", "Alan_Turing.png",
                ])
            #expect(images.map(\.bytes) == [30_000, 0, 0, 0, 30_000], "\(run.model)")
            let errors = images.map(\.error)
            #expect(errors == [nil, "HTTP 404", "connection refused", "not an http or https URL", nil], "\(run.model)")
            #expect(Self.total(run) == 60_000)
        }
        #expect(transcript.text.contains("✗ HTTP 404"))
        #expect(transcript.text.contains("✗ connection refused"))
        try await server.shutdown()
    }

    @Test func slowDownloadsTimeOutUnderEveryModel() async throws {
        let server = try await LocalHTTPServer.start(latency: .seconds(30)) { _, _ in HTTPResponse(body: [1, 2, 3]) }
        let downloader = PictureDownloader(timeout: .milliseconds(200))
        for model in DownloadModel.allCases {
            let outcomes = try await downloader.run(model, [PictureSource(name: "slow", url: server.baseURL + "/")])
            #expect(outcomes.map(\.failure) == [.timedOut(.milliseconds(200))], "\(model)")
            #expect(outcomes.first?.failure?.description == "timed out after 200 ms")
        }
        try await server.shutdown()
    }

    @Test func writesASelfContainedGallery() async throws {
        let page = FileManager.default.temporaryDirectory.appendingPathComponent(
            "simul-gallery-\(UUID().uuidString).html")
        defer { try? FileManager.default.removeItem(at: page) }
        let transcript = Transcript()
        _ = try await Wikipics().run(
            in: transcript.context {
                $0.galleryFile = page.path; $0.images = 2
            })
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(html.components(separatedBy: "src=\"data:image/png;base64,").count == 3)
        #expect(!html.contains("http://") && !html.contains("https://"))
        #expect(html.contains("Alan_Turing.png"))
        #expect(transcript.text.contains("Gallery: \(page.path) (2 of 2 pictures"))
    }

    @Test func anEmptyURLListIsRejected() async throws {
        let list = FileManager.default.temporaryDirectory.appendingPathComponent("simul-urls-\(UUID().uuidString)")
        try "# nothing here\n\n".write(to: list, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: list) }
        let error = await #expect(throws: WikipicsError.self) {
            try await Wikipics().run(in: Transcript().context { $0.urlsFile = list.path })
        }
        #expect(error?.description == "the URL list '\(list.path)' has no URLs (one per line; # starts a comment)")
    }

    @Test func anUnwritableGalleryIsAnError() async throws {
        let error = await #expect(throws: WikipicsError.self) {
            try await Wikipics().run(
                in: Transcript().context {
                    $0.galleryFile = "/nonexistent-dir/g.html"; $0.images = 1
                })
        }
        #expect(
            error?.description == "cannot write the gallery '/nonexistent-dir/g.html': no folder '/nonexistent-dir'")
    }

    @Test(arguments: [(0, "0"), (999, "999"), (1_000, "1_000"), (5_086_950, "5_086_950"), (-12_345, "-12_345")])
    func groupsDigitsLikePython(value: Int, expected: String) {
        #expect(Wikipics.grouped(value) == expected)
    }

    @Test func labelsLineUp() {
        #expect(Wikipics.label(0, of: 4) == "( 1 )")
        #expect(Wikipics.label(0, of: 10) == "(  1 )")
        #expect(Wikipics.label(9, of: 10) == "( 10 )")
    }
}

/// A TCP socket bound to a free loopback port without listening: connecting to it is refused.
struct BoundSocket {
    let descriptor: Int32
    let port: Int

    init?() {
        guard let (descriptor, port) = try? LoopbackPort.bound() else { return nil }
        self.descriptor = descriptor
        self.port = port
    }

    func close() { Glibc.close(descriptor) }
}
