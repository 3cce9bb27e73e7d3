/// Why the wikipics demo could not run or finish: a problem with a file it was given or asked to write.
///
/// A download that fails is not one of these: it shows as a failed row and the demo goes on.
public struct WikipicsError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Hashable {
        case unreadableURLList(path: String, reason: String)
        case emptyURLList(path: String)
        case galleryNotWritten(path: String, reason: String)
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    /// The `--urls` file could not be read.
    public static func unreadableURLList(_ path: String, reason: String) -> WikipicsError {
        WikipicsError(.unreadableURLList(path: path, reason: reason))
    }

    /// The `--urls` file has no URL in it.
    public static func emptyURLList(_ path: String) -> WikipicsError { WikipicsError(.emptyURLList(path: path)) }

    /// The `--gallery` page could not be written.
    public static func galleryNotWritten(_ path: String, reason: String) -> WikipicsError {
        WikipicsError(.galleryNotWritten(path: path, reason: reason))
    }

    public var description: String {
        switch code {
        case .unreadableURLList(let path, let reason): "cannot read the URL list '\(path)': \(reason)"
        case .emptyURLList(let path): "the URL list '\(path)' has no URLs (one per line; # starts a comment)"
        case .galleryNotWritten(let path, let reason): "cannot write the gallery '\(path)': \(reason)"
        }
    }
}
