import Foundation

/// Reads a page's tags the way a browser's tokenizer splits them (HTML Living Standard, §13.2.5: tag names,
/// attribute names, quoted and unquoted values, raw-text elements) and lists what no dashboard page should hold:
/// an element or an attribute that none of its templates writes, a script other than the dashboard's own, or a URL
/// that leaves the dashboard (`javascript:`, `data:`, another host).
///
/// Text that escaped correctly never forms a tag or an attribute here, so any hostile value that broke out of its
/// text or its quotes shows up as an unknown element or attribute.
struct HTMLAudit {
    /// One start tag.
    struct Tag {
        var name: String
        var attributes: [(name: String, value: String)]
        /// The text up to its end tag, for raw-text elements (`script`, `style`, `title`, `textarea`).
        var rawText: String?
    }

    /// The elements the templates write.
    static let elements: Set<String> = [
        "html", "head", "meta", "title", "link", "script", "body", "header", "main", "h1", "h2", "a", "span", "div",
        "p", "table", "tr", "th", "td", "svg", "line", "text", "rect", "form", "input", "button", "label", "select",
        "option", "dl", "dt", "dd", "pre", "br", "code", "i",
    ]

    /// The attributes the templates write, lowercased as the tokenizer reads them.
    static let attributes: Set<String> = [
        "lang", "charset", "name", "content", "rel", "href", "src", "defer", "class", "id", "method", "action", "type",
        "value", "selected", "size", "autocomplete", "viewbox", "role", "aria-label", "xmlns", "x", "y", "x1", "y1",
        "x2", "y2", "width", "height", "fill", "stroke", "data-base",
    ]

    /// The dashboard's one script tag.
    static let script = #"<script src="/assets/dashboard.js" defer></script>"#

    /// Every problem in `html`, one line each; empty for a sound page.
    static func problems(in html: String) -> [String] {
        var problems: [String] = []
        for tag in tags(in: html) {
            if !elements.contains(tag.name) { problems.append("an element <\(tag.name)>") }
            for (name, value) in tag.attributes {
                if !attributes.contains(name) { problems.append("an attribute '\(name)' on <\(tag.name)>") }
                if ["href", "src", "action"].contains(name) && !isLocal(value) {
                    problems.append("a URL that leaves the dashboard: \(name)=\"\(value)\" on <\(tag.name)>")
                }
            }
            let source = tag.attributes.first(where: { $0.name == "src" })?.value
            if tag.name == "script" && (source != "/assets/dashboard.js" || tag.rawText != "") {
                problems.append("a script that is not the dashboard's: \(tag.attributes) \(tag.rawText ?? "")")
            }
        }
        let scripts = html.lowercased().components(separatedBy: "<script").count - 1
        let own = html.components(separatedBy: script).count - 1
        if scripts != own || own > 1 { problems.append("\(scripts) '<script' in the text, \(own) of them ours") }
        return problems
    }

    /// The page's start tags with their attributes' names, one line each: what a value that broke out of its text
    /// or its quotes would change, whatever names it chose.
    static func skeleton(of html: String) -> [String] {
        tags(in: html).map { ([$0.name] + $0.attributes.map(\.name)).joined(separator: " ") }
    }

    /// Whether a URL, as the browser reads it (entities decoded, tabs, newlines and outer blanks removed), stays on
    /// the dashboard: a path from its root.
    static func isLocal(_ url: String) -> Bool {
        let cleaned = String(String.UnicodeScalarView(url.unicodeScalars.filter { $0 != "\t" && $0 != "\n" }))
            .trimmingCharacters(in: .whitespacesAndNewlines.union(.controlCharacters))
        return cleaned.hasPrefix("/") && !cleaned.hasPrefix("//") && !cleaned.hasPrefix("/\\")
    }

    /// The start tags of `html`, in order.
    static func tags(in html: String) -> [Tag] {
        let text = Array(html.unicodeScalars)
        var tags: [Tag] = []
        var index = 0
        func isSpace(_ scalar: Unicode.Scalar) -> Bool { [" ", "\t", "\n", "\r", "\u{0C}"].contains(scalar) }
        func isLetter(_ scalar: Unicode.Scalar) -> Bool { scalar.isASCII && scalar.properties.isAlphabetic }
        func lowered(_ scalar: Unicode.Scalar) -> String { String(scalar).lowercased() }
        func find(_ needle: String, from start: Int) -> Int {
            let pattern = Array(needle.unicodeScalars)
            var at = start
            while at + pattern.count <= text.count {
                if (0..<pattern.count).allSatisfy({ lowered(text[at + $0]) == String(pattern[$0]) }) { return at }
                at += 1
            }
            return text.count
        }
        while index < text.count {
            guard text[index] == "<", index + 1 < text.count else {
                index += 1
                continue
            }
            if text[index + 1] == "!" || text[index + 1] == "?" {
                // A comment runs to `-->`, a doctype or a bogus comment to `>`.
                let isComment = find("<!--", from: index) == index
                let end = isComment ? find("-->", from: index + 4) + 3 : find(">", from: index) + 1
                index = min(end, text.count)
                continue
            }
            let closing = text[index + 1] == "/"
            var at = index + (closing ? 2 : 1)
            guard at < text.count, isLetter(text[at]) else {
                index += 1
                continue
            }
            var tag = Tag(name: "", attributes: [])
            while at < text.count, !isSpace(text[at]), text[at] != "/", text[at] != ">" {
                tag.name += lowered(text[at])
                at += 1
            }
            while at < text.count {
                while at < text.count, isSpace(text[at]) || text[at] == "/" { at += 1 }
                if at >= text.count { break }
                if text[at] == ">" {
                    at += 1
                    break
                }
                // The first character of a name may be `=`; after it, `=` ends the name.
                var name = lowered(text[at])
                at += 1
                while at < text.count, !isSpace(text[at]), !["/", ">", "="].contains(text[at]) {
                    name += lowered(text[at])
                    at += 1
                }
                while at < text.count, isSpace(text[at]) { at += 1 }
                var value = ""
                if at < text.count, text[at] == "=" {
                    at += 1
                    while at < text.count, isSpace(text[at]) { at += 1 }
                    if at < text.count, text[at] == "\"" || text[at] == "'" {
                        let quote = text[at]
                        at += 1
                        while at < text.count, text[at] != quote {
                            value.unicodeScalars.append(text[at])
                            at += 1
                        }
                        at += 1
                    } else {
                        while at < text.count, !isSpace(text[at]), text[at] != ">" {
                            value.unicodeScalars.append(text[at])
                            at += 1
                        }
                    }
                }
                tag.attributes.append((name, decode(value)))
            }
            index = min(at, text.count)
            if !closing {
                if ["script", "style", "title", "textarea"].contains(tag.name) {
                    let end = find("</\(tag.name)", from: index)
                    tag.rawText = String(String.UnicodeScalarView(text[index..<end]))
                    index = end
                }
                tags.append(tag)
            }
        }
        return tags
    }

    /// An attribute value with its character references decoded: the five that escaping writes and numeric ones.
    static func decode(_ value: String) -> String {
        var decoded = ""
        var rest = Substring(value)
        while let ampersand = rest.firstIndex(of: "&") {
            decoded += String(rest[..<ampersand])
            rest = rest[ampersand...]
            guard let semicolon = rest.firstIndex(of: ";") else { break }
            let name = rest[rest.index(after: ampersand)..<semicolon]
            let named = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'"]
            var scalar: Unicode.Scalar?
            if let text = named[String(name)] {
                scalar = text.unicodeScalars.first
            } else if name.hasPrefix("#x") || name.hasPrefix("#X") {
                scalar = UInt32(name.dropFirst(2), radix: 16).flatMap { Unicode.Scalar($0) }
            } else if name.hasPrefix("#") {
                scalar = UInt32(name.dropFirst()).flatMap { Unicode.Scalar($0) }
            }
            if let scalar {
                decoded.unicodeScalars.append(scalar)
                rest = rest[rest.index(after: semicolon)...]
            } else {
                decoded += "&"
                rest = rest.dropFirst()
            }
        }
        return decoded + String(rest)
    }
}
