import Foundation

/// A blocking HTTP/1.1 GET over ``BlockingSocket``, as `requests.get` is: one connection per request, the body read
/// by `Content-Length`, chunked encoding, or to the end of the stream.
enum BlockingHTTP {
    /// Fetches `path` from the server on 127.0.0.1:`port`.
    /// - Returns: the body.
    /// - Throws: ``SocketError`` on a network failure or a status other than 200.
    static func get(port: Int, path: String) throws -> [UInt8] {
        let socket = try BlockingSocket(port: port)
        try socket.send(Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8))
        guard let head = try socket.read(until: Array("\r\n\r\n".utf8)) else {
            throw SocketError("GET \(path): no response", 0)
        }
        let lines = String(decoding: head, as: UTF8.self).split(separator: "\r\n")
        let status = lines.first.map { $0.split(separator: " ") }.flatMap { $0.count > 1 ? Int($0[1]) : nil }
        guard status == 200 else {
            throw SocketError("GET \(path): status \(status.map(String.init) ?? "missing")", 0)
        }
        var length: Int?
        var chunked = false
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].lowercased()
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            if name == "content-length" { length = Int(value) }
            if name == "transfer-encoding", value.lowercased().contains("chunked") { chunked = true }
        }
        if chunked { return try readChunks(socket) }
        if let length { return try socket.read(count: length) }
        return try socket.readToEnd()
    }

    private static func readChunks(_ socket: BlockingSocket) throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            guard let sizeLine = try socket.read(until: Array("\r\n".utf8)),
                let size = Int(String(decoding: sizeLine, as: UTF8.self).split(separator: ";")[0], radix: 16)
            else { throw SocketError("a malformed chunk size", 0) }
            if size == 0 { return body }
            body += try socket.read(count: size)
            _ = try socket.read(count: 2)
        }
    }
}
