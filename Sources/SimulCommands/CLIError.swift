/// A user's mistake or an environment problem, printed as one line (`Error: …`) with a non-zero exit.
package struct CLIError: Error, CustomStringConvertible {
    package var description: String

    package init(_ description: String) { self.description = description }
}

/// Checks names given on the command line against what exists.
package func checkNames(_ names: [String], kind: String, available: [String]) throws {
    for name in names where !available.contains(name) {
        throw CLIError("unknown \(kind) '\(name)' (available: \(available.joined(separator: ", ")))")
    }
}
