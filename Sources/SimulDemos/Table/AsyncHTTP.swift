import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix

/// The async model's HTTP client: AsyncHTTPClient on NIO's shared event loops, as `aiohttp.ClientSession` is.
enum AsyncHTTP {
    /// Runs `body` with a client allowed `connections` connections to one host, and shuts it down after.
    static func withClient<Value>(connections: Int, _ body: (HTTPClient) async throws -> Value) async throws -> Value {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(30))
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        do {
            let value = try await body(client)
            try await client.shutdown()
            return value
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Fetches `url` and returns its body.
    /// - Throws: the client's error, or ``SocketError`` for a status other than 200.
    static func get(_ url: String, with client: HTTPClient, limit: Int = 64 << 20) async throws -> [UInt8] {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        guard response.status == .ok else { throw SocketError("GET \(url): status \(response.status.code)", 0) }
        var body = try await response.body.collect(upTo: limit)
        return body.readBytes(length: body.readableBytes) ?? []
    }
}
