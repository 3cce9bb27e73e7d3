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
    package var page = 1
    package var perPage = 50

    package static let maxPerPage = 500

    package init() {}

    /// Reads and checks the query parameters.
    /// - Throws: ``BadRequest`` naming the parameter that is wrong.
    package init(_ parameters: [String: String]) throws {
        func text(_ key: String) -> String? {
            guard let value = parameters[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }
        if let state = text("state") {
            guard let known = TaskState(rawValue: state.uppercased()) else {
                throw BadRequest(
                    "unknown state '\(state)' (use \(TaskState.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            self.state = known
        }
        name = text("name")
        worker = text("worker")
        id = text("id")
        if let page = text("page") {
            guard let number = Int(page), number >= 1 else {
                throw BadRequest("page must be a whole number >= 1, got '\(page)'")
            }
            self.page = number
        }
        if let perPage = text("per_page") {
            guard let number = Int(perPage), (1...Self.maxPerPage).contains(number) else {
                throw BadRequest("per_page must be a whole number from 1 to \(Self.maxPerPage), got '\(perPage)'")
            }
            self.perPage = number
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

    /// The query as URL parameters, joined with `&amp;` for an HTML attribute.
    package var queryString: String {
        var parts: [String] = []
        if let state { parts.append("state=\(state.rawValue)") }
        if let name { parts.append("name=\(HTML.queryComponent(name))") }
        if let worker { parts.append("worker=\(HTML.queryComponent(worker))") }
        if let id { parts.append("id=\(HTML.queryComponent(id))") }
        if perPage != 50 { parts.append("per_page=\(perPage)") }
        parts.append("page=\(page)")
        return parts.joined(separator: "&amp;")
    }

    /// The matching tasks, newest first, cut to this page.
    package func run(on cluster: ClusterState) -> TaskPage {
        let matching = cluster.tasks.values.filter(matches).sorted {
            let (a, b) = ($0.updated ?? .distantPast, $1.updated ?? .distantPast)
            return a != b ? a > b : $0.id < $1.id
        }
        let pageCount = max(1, (matching.count + perPage - 1) / perPage)
        let start = min(matching.count, (page - 1) * perPage)
        let slice = matching[start..<min(matching.count, start + perPage)]
        return TaskPage(query: self, tasks: slice.map(TaskView.init), total: matching.count, pageCount: pageCount)
    }
}

/// One page of the task list.
package struct TaskPage: Codable, Sendable, Equatable {
    package var query: TaskQuery
    package var tasks: [TaskView]
    package var total: Int
    package var pageCount: Int

    enum CodingKeys: String, CodingKey {
        case tasks, total, page
        case pageCount = "pages"
        case perPage = "per_page"
    }

    init(query: TaskQuery, tasks: [TaskView], total: Int, pageCount: Int) {
        self.query = query
        self.tasks = tasks
        self.total = total
        self.pageCount = pageCount
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tasks = try container.decode([TaskView].self, forKey: .tasks)
        total = try container.decode(Int.self, forKey: .total)
        pageCount = try container.decode(Int.self, forKey: .pageCount)
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

/// A request the dashboard cannot serve as asked: a 400 with this message.
package struct BadRequest: Error, Equatable {
    package var message: String
    package init(_ message: String) { self.message = message }
}
