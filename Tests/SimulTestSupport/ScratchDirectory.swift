import Foundation

/// A new directory under the temporary directory, for broker files; ``remove()`` deletes it.
public struct ScratchDirectory: Sendable {
    public let path: String

    public init() throws {
        let name = "simul-tests-\(UUID().uuidString)"
        path = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The path of `name` in the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
