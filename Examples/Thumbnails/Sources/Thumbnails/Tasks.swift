import AsyncHTTPClient
import Foundation
import SimulQueue

/// An image this app keeps: a file and its size.
struct Image: Codable, Sendable {
    var path: String
    var width: Int
    var height: Int
}

/// Downloads a PGM image into the originals folder. It waits on the network, so it is an async task: the I/O
/// worker runs many at once on Swift's cooperative pool.
struct Download: QueueTask {
    static let name = "thumbnails.download"
    static let options = TaskOptions(queue: "thumbnails.io")
    struct Arguments: Codable, Sendable { var url: String }
    let folder: Folder

    func run(_ arguments: Arguments) async throws -> Image {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: arguments.url), timeout: .seconds(30))
        guard response.status == .ok else {
            throw TaskError.valueError("GET \(arguments.url) answered \(response.status)")
        }
        let body = try await response.body.collect(upTo: 1 << 26)
        let graymap = try Graymap.read(Data(body.readableBytesView), from: arguments.url)
        let path = try Folder.write(
            graymap, to: folder.originals, as: "\(TaskContext.current?.id ?? UUID().uuidString).pgm")
        return Image(path: path.path, width: graymap.width, height: graymap.height)
    }
}

/// Shrinks an image to a width. It keeps a CPU busy, so it is a blocking task for the CPU worker's processes pool,
/// where a crash takes down one child process, not the app. As a chain step it takes the image `Download` returned
/// (`ChainedArguments`): a Python client calls it as `resize(image, width=64)`.
struct Resize: BlockingQueueTask {
    static let name = "thumbnails.resize"
    static let options = TaskOptions(queue: "thumbnails.cpu")
    struct Size: Codable, Sendable { var width: Int }
    typealias Arguments = ChainedArguments<Image, Size>
    let folder: Folder

    func run(_ arguments: Arguments) throws -> Image {
        let width = arguments.rest.width
        guard (1...1024).contains(width) else { throw TaskError.valueError("width must be 1 to 1024, not \(width)") }
        let source = URL(filePath: arguments.input.path)
        guard source.deletingLastPathComponent().standardizedFileURL == folder.originals.standardizedFileURL else {
            throw TaskError.valueError("\(arguments.input.path) is not an original this app downloaded")
        }
        let thumbnail = try Graymap.read(try Data(contentsOf: source), from: source.path).scaled(toWidth: width)
        let path = try Folder.write(
            thumbnail, to: folder.thumbnails, as: "\(source.deletingPathExtension().lastPathComponent)-\(width).pgm")
        return Image(path: path.path, width: thumbnail.width, height: thumbnail.height)
    }
}

/// Makes thumbnails of many images: it starts a group of download-then-resize chains, one per URL, and returns the
/// group's id and each chain's, without waiting for them.
struct Gallery: QueueTask {
    static let name = "thumbnails.gallery"
    static let options = TaskOptions(queue: "thumbnails.io")
    struct Arguments: Codable, Sendable {
        var urls: [String]
        var width: Int
    }
    struct Output: Codable, Sendable {
        var group: String
        var thumbnails: [String]
    }

    func run(_ arguments: Arguments) async throws -> Output {
        guard let client = TaskContext.current?.client else {
            throw TaskError(type: "RuntimeError", message: "\(Self.name) sends tasks, so it runs in a worker only")
        }
        let chains = try arguments.urls.map { url in
            try TypedSignature(Download.self, .init(url: url)).then(Resize.self, .init(width: arguments.width))
        }
        let group = try await client.group(chains)
        return Output(group: group.id, thumbnails: group.untyped.results.map(\.id))
    }
}

/// Where the images go: `THUMBNAILS_FOLDER`, else `thumbnails-data` in the working directory.
struct Folder: Sendable {
    let originals: URL
    let thumbnails: URL

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let root = URL(filePath: environment["THUMBNAILS_FOLDER"] ?? "thumbnails-data", directoryHint: .isDirectory)
        originals = root.appending(path: "originals", directoryHint: .isDirectory)
        thumbnails = root.appending(path: "thumbnails", directoryHint: .isDirectory)
    }

    /// Writes `image` as `name` in `folder`, which it makes first if need be.
    static func write(_ image: Graymap, to folder: URL, as name: String) throws -> URL {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appending(path: name)
        try image.pgm.write(to: path, options: .atomic)
        return path
    }
}

extension TaskCatalog {
    /// This app's tasks.
    static func thumbnails(folder: Folder) -> TaskCatalog {
        var catalog = TaskCatalog()
        catalog.register(Download(folder: folder))
        catalog.register(Resize(folder: folder))
        catalog.register(Gallery())
        return catalog
    }
}

extension Graymap {
    /// The image in `data`, or a `ValueError` saying why it is not one.
    static func read(_ data: Data, from source: String) throws -> Graymap {
        do {
            return try Graymap(pgm: data)
        } catch {
            throw TaskError.valueError("\(source): \(error)")
        }
    }
}
