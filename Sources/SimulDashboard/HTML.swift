import Foundation
import Mustache

/// How the dashboard's pages escape text. The templates (see ``Template``) escape every `{{value}}` with
/// ``escape(_:)``, through ``ContentType``; URLs built from outside data are percent-encoded with
/// ``queryComponent(_:)`` before they reach a template.
package enum HTML {
    /// The name the templates' `CONTENT_TYPE` pragma gives ``ContentType``.
    static let contentTypeName = "SIMUL_HTML"

    /// Mustache's escaping for the dashboard's templates: ``HTML/escape(_:)``.
    ///
    /// swift-mustache's own HTML escaping (2.1.1) compares whole `Character`s, so a quote followed by a combining mark
    /// (`"\u{301}`), one grapheme cluster, is not a quote to it and passes through unescaped, closing the attribute
    /// it sits in. This one looks at Unicode scalars, as a browser's parser does.
    struct ContentType: MustacheContentType {
        func escapeText(_ text: String) -> String { HTML.escape(text) }
    }

    /// `text` with `&`, `<`, `>`, `"` and `'` escaped, scalar by scalar, safe inside elements and quoted attributes.
    package static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// A query-string or path component: everything but unreserved characters percent-encoded.
    package static func queryComponent(_ text: String) -> String {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        var encoded = ""
        for byte in text.utf8 {
            if unreserved.contains(byte) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += String(format: "%%%02X", byte)
            }
        }
        return encoded
    }
}
