import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A driver's working directory: `${TMPDIR:-/tmp}/NAME.XXXXXX`, made with `mkdtemp`, for its logs and scratch files.
package enum TemporaryDirectory {
    /// Makes a new directory whose name starts with `name`, and returns its path.
    /// - Throws: ``DriverError`` if it cannot be made.
    package static func make(_ name: String) throws -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/\(name).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw DriverError("cannot make a directory in \(base)") }
        return String(cString: made)
    }
}
