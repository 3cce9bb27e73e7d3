import Foundation
import Simul
import Testing

@testable import SimulDemos
@testable import SimulTasks

@Suite(.timeLimit(.minutes(2))) struct LocalHTTPServerTests {
    static let body = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }

    static func start(bytesPerSecond: Int? = nil, latency: Duration = .zero) async throws -> LocalHTTPServer {
        try await LocalHTTPServer.start(bytesPerSecond: bytesPerSecond, latency: latency) { method, path in
            switch path {
            case "/bytes": HTTPResponse(body: body)
            case "/method": HTTPResponse(contentType: "text/plain", body: Array(method.utf8))
            case "/empty": HTTPResponse(status: 204, body: [])
            default: HTTPResponse(status: 404, contentType: "text/plain", body: Array("not found".utf8))
            }
        }
    }

    @Test func bindsLoopbackAndReportsItsPort() async throws {
        let server = try await Self.start()
        #expect(server.port > 0)
        #expect(server.baseURL == "http://127.0.0.1:\(server.port)")
        try await server.shutdown()
        try await server.shutdown()  // a second call does nothing
    }

    @Test func servesBytesAndNotFound() async throws {
        let server = try await Self.start()
        #expect(try BlockingHTTP.get(server.baseURL + "/bytes", timeout: .seconds(30)) == Self.body)
        #expect(try BlockingHTTP.get(server.baseURL + "/method", timeout: .seconds(30)) == Array("GET".utf8))
        #expect(throws: DownloadError.status(404)) {
            try BlockingHTTP.get(server.baseURL + "/missing", timeout: .seconds(30))
        }
        try await server.shutdown()
    }

    @Test(arguments: [nil, 400_000] as [Int?])
    func servesEveryClient(bytesPerSecond: Int?) async throws {
        let server = try await Self.start(bytesPerSecond: bytesPerSecond)
        let url = server.baseURL + "/bytes"
        #expect(try BlockingHTTP.get(url, timeout: .seconds(60)) == Self.body)
        #expect(try BlockingHTTP.foundationGet(url, timeout: .seconds(60)) == Self.body)
        let downloader = PictureDownloader(timeout: .seconds(60), keepData: true)
        for model in DownloadModel.allCases {
            let sources = (0..<3).map { PictureSource(name: "bytes \($0)", url: url) }
            let outcomes = try await downloader.run(model, sources)
            #expect(outcomes.map(\.data) == Array(repeating: Self.body, count: 3), "\(model)")
        }
        try await server.shutdown()
    }

    @Test func servesPythonKeepAliveCloseAndHead() async throws {
        let server = try await Self.start(bytesPerSecond: 1_000_000)
        let script = """
            import http.client, sys, urllib.request
            connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=60)
            sizes = []
            for path in ["/bytes", "/method", "/bytes"]:          # one connection, kept alive
                connection.request("GET", path)
                response = connection.getresponse()
                assert response.getheader("Connection") == "keep-alive"
                sizes.append(len(response.read()))
            connection.request("HEAD", "/bytes")
            response = connection.getresponse()
            assert response.getheader("Content-Length") == "100000", response.getheader("Content-Length")
            assert response.read() == b""
            connection.request("GET", "/empty")
            response = connection.getresponse()
            assert response.status == 204 and response.getheader("Content-Length") is None
            assert response.read() == b""
            connection.request("GET", "/bytes", headers={"Connection": "close"})
            response = connection.getresponse()
            assert response.getheader("Connection") == "close"
            sizes.append(len(response.read()))
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/nothing", timeout=60)
            except urllib.error.HTTPError as error:
                sizes.append(error.code)
            with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/bytes", timeout=60) as response:
                sizes.append(len(response.read()))
            print(*sizes)
            """
        let output = try runPython(script, String(server.port))
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "100000 3 100000 100000 404 100000")
        try await server.shutdown()
    }

    /// The throttled path with a latency: bytes arrive whole; how long they take is for the benchmarks.
    @Test func throttledResponsesArriveWhole() async throws {
        let server = try await Self.start(bytesPerSecond: 2_000_000, latency: .milliseconds(20))
        let url = server.baseURL + "/bytes"
        let client = ThreadPool(maxWorkers: 4)
        let downloads = (0..<4).map { _ in client.submit { try BlockingHTTP.get(url, timeout: .seconds(60)).count } }
        var sizes: [Int] = []
        for download in downloads { sizes.append(try await download.value) }
        await client.shutdown()
        #expect(sizes == [100_000, 100_000, 100_000, 100_000])
        try await server.shutdown()
    }

    @Test func chunksAreAFiftiethOfTheRate() {
        func chunk(_ rate: Int?) -> Int {
            LocalHTTPServer.chunkSize(bytesPerSecond: rate)
        }
        #expect(chunk(1_200_000) == 24_000)
        #expect(chunk(10) == 1)
        #expect(chunk(100_000_000) == 65_536)
        #expect(chunk(nil) == 65_536)
    }

    @Test func shutdownClosesOpenConnections() async throws {
        // A slow body is still being sent when the server shuts down; the client sees the connection close.
        let requested = AsyncStreamGate()
        let server = try await LocalHTTPServer.start(bytesPerSecond: 1_000) { _, _ in
            requested.open()
            return HTTPResponse(body: Self.body)
        }
        let client = ThreadPool(maxWorkers: 1)
        let url = server.baseURL + "/slow"
        let download = client.submit { try BlockingHTTP.get(url, timeout: .seconds(60)) }
        await requested.wait()
        try await server.shutdown()
        await #expect(throws: DownloadError.self) { try await download.value }
        await client.shutdown()
    }
}

/// Opens once; waiting after it opened returns at once.
final class AsyncStreamGate: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream()
    }

    func open() { continuation.finish() }

    func wait() async {
        for await _ in stream {}
    }
}
