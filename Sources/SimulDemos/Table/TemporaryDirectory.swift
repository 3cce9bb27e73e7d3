import Foundation

/// A temporary directory, removed on request.
struct TemporaryDirectory: Sendable {
    let path: String

    init(prefix: String) throws {
        path = NSTemporaryDirectory() + "\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func path(for name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
