import Foundation

/// A query parameter that counts something (a page number, a page size, a limit), read once where it enters: a whole
/// number inside a stated range, or a ``BadRequest`` that names the parameter, the range and the value sent.
///
/// The ranges keep every later computation small: `page` × `per_page` stays far below `Int.max`, so a hostile URL
/// such as `/tasks?page=184467440737095518` is a 400, never an arithmetic trap that ends the process.
package struct CountParameter: Sendable, Equatable {
    /// The name in the query string.
    package let name: String
    /// The values accepted.
    package let range: ClosedRange<Int>
    /// The value when the parameter is absent or empty.
    package let defaultValue: Int

    /// The task list's page, 1-based. A million pages is far past the tasks the monitor keeps (10,000), so a page
    /// past the end is simply empty, and the cap keeps `(page - 1) * per_page` small.
    package static let page = CountParameter(name: "page", range: 1...1_000_000, defaultValue: 1)
    /// The task list's page size.
    package static let perPage = CountParameter(name: "per_page", range: 1...500, defaultValue: 50)
    /// How many dead letters to show, newest first.
    package static let limit = CountParameter(name: "limit", range: 1...1_000, defaultValue: 200)
    /// How many updates `/events` sends before it ends the stream. `/events` reads it only when it is present:
    /// without it the stream does not end.
    package static let max = CountParameter(name: "max", range: 1...1_000_000, defaultValue: 1_000_000)

    /// Every count parameter some route takes: a route refuses the ones it does not take, so a wrong name is a clear
    /// 400 instead of a value silently ignored.
    package static let all: [CountParameter] = [.page, .perPage, .limit, .max]

    /// The longest value quoted back in an error; longer ones are cut with `…`.
    static let quotedLength = 40

    /// The value in `parameters`, checked.
    /// - Returns: the default when the parameter is absent or blank.
    /// - Throws: ``BadRequest`` when the value is not a whole number in ``range`` (negative, zero where that is
    ///   invalid, too large for `Int`, or not a number at all).
    package func read(from parameters: [String: String]) throws(BadRequest) -> Int {
        guard let text = Self.text(name, in: parameters) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw BadRequest(
                "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), "
                    + "got '\(Self.quoted(text))'")
        }
        return value
    }

    /// Whether `parameters` carries this parameter with a non-blank value.
    package func isPresent(in parameters: [String: String]) -> Bool {
        Self.text(name, in: parameters) != nil
    }

    /// Refuses the count parameters that `path` does not take.
    /// - Parameters:
    ///   - parameters: the request's query.
    ///   - path: the route, for the message.
    ///   - accepted: the count parameters the route takes.
    /// - Throws: ``BadRequest`` naming the first parameter the route does not take and the ones it does.
    package static func refuseOthers(
        in parameters: [String: String], path: String, accepting accepted: [CountParameter]
    ) throws(BadRequest) {
        for parameter in all where !accepted.contains(parameter) && parameter.isPresent(in: parameters) {
            let names = accepted.map(\.name)
            let takes =
                names.count <= 1
                ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names[names.count - 1]
            throw BadRequest("\(parameter.name) does not apply to \(path), which takes \(takes)")
        }
    }

    static func text(_ name: String, in parameters: [String: String]) -> String? {
        guard let value = parameters[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    static func quoted(_ text: String) -> String {
        text.count <= quotedLength ? text : String(text.prefix(quotedLength)) + "…"
    }
}
