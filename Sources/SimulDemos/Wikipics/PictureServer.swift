import Simul

/// The wikipics image server: a ``LocalHTTPServer`` that serves generated pictures at `/pictures/NAME.png`,
/// throttled per connection like a distant Wikipedia, and 404 for anything else.
package final class PictureServer: Sendable {
    /// The running server.
    package let server: LocalHTTPServer
    /// The pictures it serves, in order, with their URLs.
    package let sources: [PictureSource]

    private init(server: LocalHTTPServer, sources: [PictureSource]) {
        self.server = server
        self.sources = sources
    }

    /// Generates `count` pictures of `size` bytes and starts serving them.
    /// - Parameters:
    ///   - count: how many pictures.
    ///   - size: bytes per picture.
    ///   - bytesPerSecond: the throttle per connection; nil for none.
    package static func start(count: Int, size: Int, bytesPerSecond: Int?) async throws -> PictureServer {
        let pictures = try await Array(0..<count).concurrentMap(maxConcurrency: SystemInfo.availableCPUs) { index in
            (GeneratedPictures.name(at: index), GeneratedPictures.png(at: index, size: size))
        }
        let server = try await LocalHTTPServer.start(bytesPerSecond: bytesPerSecond, handler: handler(for: pictures))
        return PictureServer(server: server, sources: sources(pictures, server))
    }

    /// ``start(count:size:bytesPerSecond:)`` for synchronous callers.
    package static func startBlocking(count: Int, size: Int, bytesPerSecond: Int?) throws -> PictureServer {
        let pictures = (0..<count).map { (GeneratedPictures.name(at: $0), GeneratedPictures.png(at: $0, size: size)) }
        let server = try LocalHTTPServer.startBlocking(bytesPerSecond: bytesPerSecond, handler: handler(for: pictures))
        return PictureServer(server: server, sources: sources(pictures, server))
    }

    /// Stops the server.
    package func shutdown() async throws { try await server.shutdown() }

    /// Stops the server, for synchronous callers.
    package func shutdownBlocking() throws { try server.shutdownBlocking() }

    private static func handler(
        for pictures: [(String, [UInt8])]
    ) -> @Sendable (String, String) async -> HTTPResponse {
        let byPath = Dictionary(pictures.map { ("/pictures/\($0.0)", $0.1) }, uniquingKeysWith: { first, _ in first })
        return { method, path in
            guard method == "GET" || method == "HEAD", let bytes = byPath[path] else {
                return HTTPResponse(
                    status: 404, contentType: "text/plain; charset=utf-8", body: Array("not found\n".utf8))
            }
            return HTTPResponse(contentType: "image/png", body: bytes)
        }
    }

    private static func sources(_ pictures: [(String, [UInt8])], _ server: LocalHTTPServer) -> [PictureSource] {
        pictures.map { PictureSource(name: $0.0, url: "\(server.baseURL)/pictures/\($0.0)") }
    }
}
