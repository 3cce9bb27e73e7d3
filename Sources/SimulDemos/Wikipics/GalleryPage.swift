import Foundation

/// The `--gallery` page: one self-contained HTML file with every picture inside it as a `data:` URI, so opening it
/// loads nothing from anywhere.
enum GalleryPage {
    /// One picture on the page.
    struct Item {
        var name: String
        var data: [UInt8]?
        var failure: String?
    }

    /// The page.
    /// - Parameters:
    ///   - title: the heading.
    ///   - items: the pictures, in order.
    ///   - language: the language of the few words on the page.
    static func html(title: String, items: [Item], language: Language) -> String {
        let figures = items.enumerated().map { index, item -> String in
            let caption = "(\(index + 1)) \(escape(item.name))"
            guard let data = item.data else {
                let reason = escape(item.failure ?? (language == .pt ? "sem dados" : "no data"))
                return "<figure class=\"failed\"><div class=\"missing\">✗ \(reason)</div>"
                    + "<figcaption>\(caption)</figcaption></figure>"
            }
            let size = "\(Wikipics.grouped(data.count)) bytes"
            guard let type = mediaType(of: data) else {
                let note = language == .pt ? "não é uma imagem" : "not a picture"
                return "<figure><div class=\"missing\">\(note)</div>"
                    + "<figcaption>\(caption)<br>\(size)</figcaption></figure>"
            }
            return "<figure><img alt=\"\(escape(item.name))\" src=\"data:\(type);base64,"
                + Data(data).base64EncodedString() + "\"><figcaption>\(caption)<br>\(size)</figcaption></figure>"
        }
        return """
            <!DOCTYPE html>
            <html lang="\(language.rawValue)">
            <head>
            <meta charset="utf-8">
            <title>\(escape(title))</title>
            <style>
            body { font-family: system-ui, sans-serif; background: #1b1d23; color: #e8e8e8; margin: 2rem; }
            h1 { font-weight: 500; }
            main { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 1.5rem; }
            figure { margin: 0; background: #262932; border-radius: 8px; padding: .75rem; }
            img { width: 100%; height: auto; border-radius: 4px; display: block; }
            figcaption { margin-top: .5rem; font-size: .9rem; overflow-wrap: anywhere; }
            .missing { height: 160px; display: flex; align-items: center; justify-content: center; color: #ff8080; }
            </style>
            </head>
            <body>
            <h1>\(escape(title))</h1>
            <main>
            \(figures.joined(separator: "\n"))
            </main>
            </body>
            </html>

            """
    }

    /// The media type of a picture file, from its first bytes.
    static func mediaType(of data: [UInt8]) -> String? {
        if data.starts(with: PNGEncoder.signature) { return "image/png" }
        if data.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if data.starts(with: Array("GIF8".utf8)) { return "image/gif" }
        if data.count >= 12, data.starts(with: Array("RIFF".utf8)), Array(data[8..<12]) == Array("WEBP".utf8) {
            return "image/webp"
        }
        let start = String(decoding: data.prefix(256), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if start.hasPrefix("<svg") || (start.hasPrefix("<?xml") && start.contains("<svg")) { return "image/svg+xml" }
        return nil
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
