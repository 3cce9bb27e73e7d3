import Foundation
package import SimulQueue

/// The task list's filters and page, from `/tasks?state=&name=&worker=&id=&page=&per_page=`.
package struct TaskQuery: Sendable, Equatable {
    package var state: TaskState?
    /// A substring of the task name.
    package var name: String?
    /// A substring of the worker's hostname.
    package var worker: String?
    /// A prefix of the task id.
    package var id: String?
    /// 1-based.
    package var page = CountParameter.page.defaultValue
    package var perPage = CountParameter.perPage.defaultValue

    package init() {}

    /// Reads and checks the query parameters.
    /// - Parameters:
    ///   - parameters: the query string's fields.
    ///   - path: the route, named in the error for a count parameter it does not take.
    /// - Throws: ``BadRequest`` naming the parameter that is wrong: an unknown state, a `page` or `per_page` that is
    ///   not a whole number in its range (see ``CountParameter``), or a count parameter the task list does not take.
    package init(_ parameters: [String: String], path: String = "/tasks") throws(BadRequest) {
        func text(_ key: String) -> String? { CountParameter.text(key, in: parameters) }
        try CountParameter.refuseOthers(in: parameters, path: path, accepting: [.page, .perPage])
        page = try CountParameter.page.read(from: parameters)
        perPage = try CountParameter.perPage.read(from: parameters)
        if let state = text("state") {
            let known = TaskState(rawValue: state.uppercased())
            if !known.isCustom {
                self.state = known
            } else if Self.isFilterable(TaskState(rawValue: state)) {
                self.state = TaskState(rawValue: state)
            } else {
                throw BadRequest(
                    "unknown state '\(CountParameter.quoted(state))' "
                        + "(use \(TaskState.allCases.map(\.rawValue).joined(separator: ", ")), or a custom state's "
                        + "name, such as PROGRESS: at most 64 letters, digits, '_', '-' or '.', from a letter)")
            }
        }
        name = text("name")
        worker = text("worker")
        id = text("id")
    }

    /// Whether the filter takes `state`: Celery's states (in any case), and custom ones (as written, since a task
    /// may store any string) that are names: at most 64 ASCII letters, digits, `_`, `-` or `.`, from a letter.
    package static func isFilterable(_ state: TaskState) -> Bool {
        let scalars = state.rawValue.unicodeScalars
        guard let first = scalars.first, scalars.count <= 64, first.isASCII, first.properties.isAlphabetic else {
            return false
        }
        return scalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0))
        }
    }

    /// Whether `task` passes the filters.
    package func matches(_ task: ClusterState.TaskInfo) -> Bool {
        if let state, task.state != state { return false }
        if let name, !(task.name ?? "").localizedCaseInsensitiveContains(name) { return false }
        if let worker, !(task.worker ?? "").localizedCaseInsensitiveContains(worker) { return false }
        if let id, !task.id.lowercased().hasPrefix(id.lowercased()) { return false }
        return true
    }

    /// The same query on another page.
    package func with(page: Int) -> TaskQuery {
        var query = self
        query.page = page
        return query
    }

    /// The query as URL parameters, each percent-encoded, joined with `&` (a template escapes it for an attribute).
    package var queryString: String {
        var parts: [String] = []
        if let state { parts.append("state=\(state.rawValue)") }
        if let name { parts.append("name=\(HTML.queryComponent(name))") }
        if let worker { parts.append("worker=\(HTML.queryComponent(worker))") }
        if let id { parts.append("id=\(HTML.queryComponent(id))") }
        if perPage != CountParameter.perPage.defaultValue { parts.append("per_page=\(perPage)") }
        parts.append("page=\(page)")
        return parts.joined(separator: "&")
    }

    /// The matching tasks, newest first, cut to this page. A page past the end is empty.
    ///
    /// The arithmetic is checked even though ``init(_:path:)`` keeps `page` and `perPage` small: the fields are
    /// settable, and an overflow here would end the process.
    package func run(on cluster: ClusterState) -> TaskPage {
        let matching = cluster.tasks.values.filter(matches).sorted {
            let (a, b) = ($0.updated ?? .distantPast, $1.updated ?? .distantPast)
            return a != b ? a > b : $0.id < $1.id
        }
        let size = max(1, perPage)
        let pageCount = max(1, matching.count / size + (matching.count % size == 0 ? 0 : 1))
        let (offset, overflow) = (max(1, page) - 1).multipliedReportingOverflow(by: size)
        let start = overflow ? matching.count : min(matching.count, offset)
        let end = start + min(size, matching.count - start)
        let tasks = matching[start..<end].map(TaskView.init)
        let custom = Set(cluster.tasks.values.map(\.state).filter { $0.isCustom && Self.isFilterable($0) })
        return TaskPage(
            query: self, tasks: tasks, total: matching.count, pageCount: pageCount,
            customStates: custom.sorted { $0.rawValue < $1.rawValue })
    }
}

/// One page of the task list.
package struct TaskPage: Codable, Sendable, Equatable {
    package var query: TaskQuery
    package var tasks: [TaskView]
    package var total: Int
    package var pageCount: Int
    /// The custom states the filter offers besides Celery's: those of the tasks seen, by name. Not in the JSON.
    package var customStates: [TaskState]

    enum CodingKeys: String, CodingKey {
        case tasks, total, page
        case pageCount = "pages"
        case perPage = "per_page"
    }

    init(query: TaskQuery, tasks: [TaskView], total: Int, pageCount: Int, customStates: [TaskState]) {
        self.query = query
        self.tasks = tasks
        self.total = total
        self.pageCount = pageCount
        self.customStates = customStates
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tasks = try container.decode([TaskView].self, forKey: .tasks)
        total = try container.decode(Int.self, forKey: .total)
        pageCount = try container.decode(Int.self, forKey: .pageCount)
        customStates = []
        query = TaskQuery()
        query.page = try container.decode(Int.self, forKey: .page)
        query.perPage = try container.decode(Int.self, forKey: .perPage)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tasks, forKey: .tasks)
        try container.encode(total, forKey: .total)
        try container.encode(pageCount, forKey: .pageCount)
        try container.encode(query.page, forKey: .page)
        try container.encode(query.perPage, forKey: .perPage)
    }
}
