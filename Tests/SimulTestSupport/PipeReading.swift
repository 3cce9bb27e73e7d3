public import Foundation
import Glibc

extension FileHandle {
    /// Everything up to the end of the stream, blocking. Unlike `readDataToEndOfFile()`, which traps on any read
    /// error in swift-corelibs-foundation, a read interrupted by a signal (`EINTR`, as a child's exit can cause on a
    /// loaded machine) is retried, and any other error is thrown.
    public func readAll() throws -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fileDescriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                data.append(contentsOf: buffer[..<count])
            } else if count == 0 {
                return data
            } else if errno != EINTR {
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
        }
    }
}
