import Foundation

/// HTML text built by the dashboard's pages. Everything that did not come from the dashboard's own code goes in
/// through ``escape(_:)``: task arguments, results and tracebacks are data from whoever sent the task.
package enum HTML {
    /// `text` with `&`, `<`, `>`, `"` and `'` escaped, safe inside elements and quoted attributes.
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

    /// `text` cut to `limit` characters with an ellipsis, then escaped.
    package static func escape(_ text: String, limit: Int) -> String {
        escape(text.count > limit ? String(text.prefix(limit)) + "…" : text)
    }

    /// A query-string component: everything but unreserved characters percent-encoded.
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
