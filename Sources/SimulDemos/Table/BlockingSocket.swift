import Foundation

#if canImport(Glibc)
    import Glibc

    private let systemSend = Glibc.send
#elseif canImport(Darwin)
    import Darwin

    private let systemSend = Darwin.send
#endif

/// A blocking TCP connection to 127.0.0.1: what a thread, a worker process or a sequential loop talks through, as
/// Python's `socket` and `requests` do.
final class BlockingSocket {
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    private var start = 0

    /// Connects to `port` on 127.0.0.1.
    init(port: Int) throws {
        #if canImport(Glibc)
            descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw SocketError("socket", errno) }
        var noDelay: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            throw SocketError("connect to 127.0.0.1:\(port)", code)
        }
    }

    deinit { close(descriptor) }

    /// Sends every byte.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { systemSend(descriptor, $0.baseAddress, $0.count, 0) }
            if sent < 0 {
                if errno == EINTR { continue }
                throw SocketError("send", errno)
            }
            offset += sent
        }
    }

    /// Reads up to and including the next `\n`, and returns the line without it; nil at the end of the stream.
    func readLine() throws -> [UInt8]? {
        var scanned = 0  // bytes after `start` known to hold no newline
        while true {
            if let newline = buffer[(start + scanned)...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[start..<newline])
                consume(upTo: newline + 1)
                return line
            }
            scanned = buffer.count - start
            guard try fill() else { return nil }
        }
    }

    /// Reads until `delimiter`, returning what came before it; nil at the end of the stream.
    func read(until delimiter: [UInt8]) throws -> [UInt8]? {
        while true {
            if let range = firstRange(of: delimiter) {
                let head = Array(buffer[start..<range.lowerBound])
                consume(upTo: range.upperBound)
                return head
            }
            guard try fill() else { return nil }
        }
    }

    /// Reads exactly `count` bytes.
    func read(count: Int) throws -> [UInt8] {
        while buffer.count - start < count {
            guard try fill() else { throw SocketError("read: the connection closed early", 0) }
        }
        let bytes = Array(buffer[start..<start + count])
        consume(upTo: start + count)
        return bytes
    }

    /// Reads everything until the peer closes.
    func readToEnd() throws -> [UInt8] {
        while try fill() {}
        let bytes = Array(buffer[start...])
        consume(upTo: buffer.count)
        return bytes
    }

    private func firstRange(of delimiter: [UInt8]) -> Range<Int>? {
        guard buffer.count - start >= delimiter.count else { return nil }
        var index = start
        while index + delimiter.count <= buffer.count {
            if buffer[index] == delimiter[0], buffer[index..<index + delimiter.count].elementsEqual(delimiter) {
                return index..<index + delimiter.count
            }
            index += 1
        }
        return nil
    }

    private func consume(upTo index: Int) {
        start = index
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
    }

    /// Reads more into the buffer; false at the end of the stream.
    private func fill() throws -> Bool {
        if start > 0, start > buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        while true {
            let received = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if received < 0, errno == EINTR { continue }
            if received < 0 { throw SocketError("recv", errno) }
            buffer.append(contentsOf: chunk[0..<received])
            return received > 0
        }
    }
}

/// A failed socket call, with the system's reason.
struct SocketError: Error, CustomStringConvertible {
    var description: String

    init(_ call: String, _ code: Int32) {
        description = code == 0 ? call : "\(call): \(String(cString: strerror(code)))"
    }
}
