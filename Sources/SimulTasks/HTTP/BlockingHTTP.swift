import Dispatch
package import Foundation
import Simul
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Blocking HTTP GET, the way Python's `urllib.request.urlopen` does it: for `simul.fetch`, and for the demos'
/// sequential and threads models.
///
/// Plain `http` URLs (the demo's own server) go through a small socket client here, not `URLSession`, for two
/// reasons. First, it is what the demo is about: the calling thread itself blocks in `recv` while the bytes
/// trickle in, as a Python thread does, so a pool of N threads really is N downloads in flight. A synchronous
/// wrapper around `URLSession` would only park the thread on a semaphore while libcurl does the I/O on a thread
/// of its own, and the threads model would be measuring that hidden thread. Second, `URLSession` on Linux caps
/// connections per host (6 by default) and costs a libcurl handle per request, which would blur the figures.
/// A `https` URL (a real Wikipedia picture from `--urls`) needs TLS, which is no job for a demo's socket client, so
/// those go to `URLSession` with the calling thread waiting for the result.
package enum BlockingHTTP {
    /// Downloads `url`, following up to `redirects` redirects.
    /// - Parameters:
    ///   - url: an `http` or `https` URL.
    ///   - timeout: the most the whole download may take.
    ///   - redirects: how many redirects to follow.
    /// - Returns: the body of a 2xx response.
    /// - Throws: a ``DownloadError``: an error status, a refused connection, a timeout, or a bad reply.
    package static func get(_ url: String, timeout: Duration, redirects: Int = 5) throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        var current = url
        for _ in 0...redirects {
            let components = try validated(current)
            guard components.scheme?.lowercased() == "http", var host = components.host else {
                return try foundationGet(current, timeout: timeout)
            }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            var target = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
            if let query = components.percentEncodedQuery { target += "?" + query }
            let port = components.port ?? 80
            let hostHeader = (host.contains(":") ? "[\(host)]" : host) + (components.port.map { ":\($0)" } ?? "")
            let reply = try exchange(
                host: host, port: port, hostHeader: hostHeader, target: target, deadline: deadline, timeout: timeout
            )
            if [301, 302, 303, 307, 308].contains(reply.status), let location = reply.location,
                let next = URL(string: location, relativeTo: URL(string: current))?.absoluteString
            {
                current = next
                continue
            }
            guard (200..<300).contains(reply.status) else { throw DownloadError.status(reply.status) }
            return reply.body
        }
        throw DownloadError.badResponse("more than \(redirects) redirects")
    }

    /// The parts of `url`, if it is an `http` or `https` URL with a host.
    /// - Throws: ``DownloadError/invalidURL(_:)`` otherwise.
    package static func validated(_ url: String) throws -> URLComponents {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { throw DownloadError.invalidURL(url) }
        return components
    }

    /// A parsed reply.
    struct Reply {
        var status: Int
        var location: String?
        var body: [UInt8]
    }

    /// One request on a fresh connection, closed afterwards (`Connection: close`, as `urllib` sends).
    static func exchange(
        host: String, port: Int, hostHeader: String, target: String, deadline: ContinuousClock.Instant,
        timeout: Duration
    ) throws -> Reply {
        let socket = try connect(host: host, port: port, timeout: timeout)
        defer { close(socket) }
        let request =
            "GET \(target) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: simul-wikipics/1.0\r\n"
            + "Accept: */*\r\nConnection: close\r\n\r\n"
        try send(Array(request.utf8), on: socket, timeout: timeout)

        var reader = SocketReader(socket: socket, deadline: deadline, timeout: timeout)
        let headEnd = try reader.readHead()
        guard let head = String(bytes: reader.buffer[..<headEnd], encoding: .isoLatin1) else {
            throw DownloadError.badResponse("unreadable header")
        }
        let lines = head.components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw DownloadError.badResponse("not an HTTP/1 status line: \(lines[0].prefix(40))")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let bodyStart = headEnd + 4
        let chunked = headers["transfer-encoding"]?.lowercased().contains("chunked") == true
        var body: [UInt8]
        if !chunked, let lengthText = headers["content-length"] {
            guard let length = Int(lengthText), length >= 0 else {
                throw DownloadError.badResponse("Content-Length '\(lengthText)'")
            }
            try reader.read(until: bodyStart + length)
            guard reader.buffer.count >= bodyStart + length else {
                let got = reader.buffer.count - bodyStart
                throw DownloadError.badResponse("the connection closed after \(got) of \(length) bytes")
            }
            body = Array(reader.buffer[bodyStart..<(bodyStart + length)])
        } else {
            try reader.read(until: .max)
            body = Array(reader.buffer[bodyStart...])
            if chunked { body = try dechunk(body) }
        }
        return Reply(status: status, location: headers["location"], body: body)
    }

    /// Decodes a `Transfer-Encoding: chunked` body.
    static func dechunk(_ data: [UInt8]) throws -> [UInt8] {
        var body: [UInt8] = []
        var index = 0
        while true {
            guard let lineEnd = data[index...].firstRange(of: [13, 10])?.lowerBound,
                let sizeText = String(bytes: data[index..<lineEnd], encoding: .isoLatin1),
                let size = Int(sizeText.split(separator: ";")[0].trimmingCharacters(in: .whitespaces), radix: 16)
            else { throw DownloadError.badResponse("malformed chunk") }
            index = lineEnd + 2
            if size == 0 { return body }
            guard index + size <= data.count else { throw DownloadError.badResponse("truncated chunk") }
            body += data[index..<(index + size)]
            index += size + 2
        }
    }

    private static func connect(host: String, port: Int, timeout: Duration) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let list else {
            throw DownloadError.connection("cannot resolve \(host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(list) }
        var failure: Int32 = 0
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let info = entry?.pointee {
            entry = info.ai_next
            // CLOEXEC: a process pool may spawn workers meanwhile, and they must not inherit our connections.
            let socket = Glibc.socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
            guard socket >= 0 else {
                failure = errno
                continue
            }
            setTimeout(SO_SNDTIMEO, timeout, on: socket)  // on Linux this also bounds connect()
            setTimeout(SO_RCVTIMEO, timeout, on: socket)
            var noDelay: Int32 = 1
            setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(socket, info.ai_addr, info.ai_addrlen) == 0 { return socket }
            failure = errno
            close(socket)
        }
        throw systemError(failure, timeout: timeout)
    }

    private static func send(_ bytes: [UInt8], on socket: Int32, timeout: Duration) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { buffer in
                Glibc.send(socket, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw systemError(errno, timeout: timeout)
            }
            sent += count
        }
    }

    private static func setTimeout(_ option: Int32, _ timeout: Duration, on socket: Int32) {
        let (seconds, attoseconds) = timeout.components
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(socket, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    package static func systemError(_ code: Int32, timeout: Duration) -> DownloadError {
        switch code {
        case ECONNREFUSED: .refused
        case EAGAIN, EWOULDBLOCK, EINPROGRESS, ETIMEDOUT: .timedOut(timeout)
        default: .connection(String(cString: strerror(code)))
        }
    }

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 64
        return URLSession(configuration: configuration)
    }()

    /// A `URLSession` download, waited for on the calling thread: the `https` path.
    static func foundationGet(_ url: String, timeout: Duration) throws -> [UInt8] {
        guard let target = URL(string: url) else { throw DownloadError.invalidURL(url) }
        var request = URLRequest(url: target, timeoutInterval: timeout.seconds)
        // Wikimedia asks every client for a descriptive User-Agent.
        request.setValue("simul-wikipics/1.0 (a concurrency demo)", forHTTPHeaderField: "User-Agent")
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<[UInt8], DownloadError>?>(nil)
        let task = session.dataTask(with: request) { data, response, error in
            let result: Result<[UInt8], DownloadError>
            if let error {
                switch (error as? URLError)?.code {
                case .cannotConnectToHost?: result = .failure(.refused)
                case .timedOut?: result = .failure(.timedOut(timeout))
                default: result = .failure(.connection(error.localizedDescription))
                }
            } else if let status = (response as? HTTPURLResponse)?.statusCode, !(200..<300).contains(status) {
                result = .failure(.status(status))
            } else {
                result = .success(data.map { [UInt8]($0) } ?? [])
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + timeout.seconds) == .timedOut {
            task.cancel()
            throw DownloadError.timedOut(timeout)
        }
        return try outcome.withLock { $0 ?? .failure(.connection("no result")) }.get()
    }
}

/// Reads a socket into a growing buffer until a byte count, the end of the header, or the end of the stream.
private struct SocketReader {
    let socket: Int32
    let deadline: ContinuousClock.Instant
    let timeout: Duration
    var buffer: [UInt8] = []
    var ended = false
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)

    init(socket: Int32, deadline: ContinuousClock.Instant, timeout: Duration) {
        self.socket = socket
        self.deadline = deadline
        self.timeout = timeout
    }

    /// Reads until the blank line after the header; returns the index of its `\r\n\r\n`.
    mutating func readHead() throws -> Int {
        var searched = 0
        while true {
            if let end = buffer[max(0, searched - 3)...].firstRange(of: [13, 10, 13, 10])?.lowerBound { return end }
            searched = buffer.count
            guard buffer.count < 64 * 1024 else { throw DownloadError.badResponse("header over 64 KiB") }
            guard try receive() > 0 else {
                throw DownloadError.badResponse(buffer.isEmpty ? "empty reply" : "the connection closed in the header")
            }
        }
    }

    /// Reads until the buffer holds `count` bytes or the stream ends.
    mutating func read(until count: Int) throws {
        if count != .max { buffer.reserveCapacity(count) }
        while buffer.count < count, try receive() > 0 {}
    }

    private mutating func receive() throws -> Int {
        guard !ended else { return 0 }
        guard ContinuousClock.now < deadline else { throw DownloadError.timedOut(timeout) }
        while true {
            let socket = socket
            let count = scratch.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw BlockingHTTP.systemError(errno, timeout: timeout)
            }
            if count == 0 { ended = true }
            buffer += scratch[0..<count]
            return count
        }
    }
}
