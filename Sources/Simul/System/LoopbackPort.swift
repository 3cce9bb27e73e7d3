import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback TCP port that nothing listens on now: bind port 0 on 127.0.0.1, read the port the kernel chose,
/// close. For servers this package starts itself (a benchmark's or a test's `redis-server`) that cannot bind
/// port 0 and report back.
package enum LoopbackPort {
    /// Why no port could be had.
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// A port that was free a moment ago.
    /// - Throws: ``Failure`` naming the call that failed and its errno.
    package static func free() throws -> Int {
        let (descriptor, port) = try bound()
        close(descriptor)
        return port
    }

    /// A TCP socket bound to a free loopback port and not listening, so a connection to it is refused until the
    /// caller closes the descriptor.
    /// - Throws: ``Failure`` naming the call that failed and its errno.
    package static func bound() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else {
            let failure = Failure(description: "bind() failed: errno \(errno)")
            close(descriptor)
            throw failure
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }
}
