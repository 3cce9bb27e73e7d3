/// Which queue each task goes to, by name or glob pattern, as Celery's `task_routes` says: `simul.*` → `simul`.
///
/// A worker uses it for the messages it sends (the next step of a chain, a callback, a chord body), since those
/// carry no queue; a client uses it for what it sends. Clients and workers that share a Redis with Python Celery
/// need the same routes as the Python side.
///
/// ```swift
/// let routes = try TaskRoutes(["pytasks.*=celery", "simul.*=simul"])
/// routes.queue(for: "simul.add")   // "simul"
/// ```
public struct TaskRoutes: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    /// The rules in order: the first whose pattern matches a task name wins.
    public private(set) var rules: [(pattern: String, queue: String)]

    /// Routes from `pattern`-`queue` pairs, tried in order; `*` in a pattern matches any run of characters.
    public init(_ rules: [(pattern: String, queue: String)] = []) {
        self.rules = rules
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements.map { (pattern: $0.0, queue: $0.1) })
    }

    /// Routes written as `PATTERN=QUEUE`, as the command line takes them.
    /// - Throws: ``QueueError/invalidArgument(_:)`` for a rule without `=`, or with an empty side.
    public init(parsing texts: [String]) throws {
        self.init(
            try texts.map { text in
                let sides = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard sides.count == 2, !sides[0].isEmpty, !sides[1].isEmpty else {
                    throw QueueError.invalidArgument("a route is TASK=QUEUE, such as 'simul.*=simul', got '\(text)'")
                }
                return (pattern: String(sides[0]), queue: String(sides[1]))
            })
    }

    /// The queue of the first rule that matches `task`; `nil` if none does.
    public func queue(for task: String) -> String? {
        rules.first { Self.matches(task[...], $0.pattern[...]) }?.queue
    }

    public static func == (lhs: TaskRoutes, rhs: TaskRoutes) -> Bool {
        lhs.rules.elementsEqual(rhs.rules) { $0.pattern == $1.pattern && $0.queue == $1.queue }
    }

    private static func matches(_ name: Substring, _ pattern: Substring) -> Bool {
        guard let star = pattern.firstIndex(of: "*") else { return name == pattern }
        let prefix = pattern[..<star]
        guard name.hasPrefix(prefix) else { return false }
        let rest = pattern[pattern.index(after: star)...]
        var start = name.index(name.startIndex, offsetBy: prefix.count)
        while true {
            if matches(name[start...], rest) { return true }
            guard start < name.endIndex else { return false }
            start = name.index(after: start)
        }
    }
}
