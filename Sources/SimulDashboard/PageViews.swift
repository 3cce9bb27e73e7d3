// The values the templates render (see `Template`), one view per page and a few rows they share. They hold text and
// numbers only, already formatted; the templates escape every one of them. They share a file, against the rule of
// one type per file, because each is a few fields read by one template and they are read together with it.
//
// Mustache looks a name it does not find (or finds `nil`) up in the enclosing views, so rows and forms hold no
// optionals, and a page's optional fields have names that no enclosing view (`Document`) uses.

/// A whole page: what the layout shows around the page's own view, `page`.
struct Document<Page: Sendable>: Sendable {
    var title: String
    /// The path the dashboard is mounted at, empty at the root: the prefix of every link the templates write.
    var base: String
    var navigation: [NavigationLink]
    /// The logout form, when the viewer is signed in.
    var logout: ActionForm?
    /// Whether actions are on and the viewer is not signed in, so the page offers to log in.
    var mayLogIn: Bool
    /// Whether the dashboard has no token, so actions are off for everyone.
    var actionsOff: Bool
    var page: Page
}

/// One section in the header.
struct NavigationLink: Sendable {
    var path: String
    var title: String
    /// Whether it is the section shown.
    var here: Bool
}

/// A button that posts an action with its hidden fields and the CSRF token.
struct ActionForm: Sendable {
    struct Field: Sendable {
        var name: String
        var value: String
    }

    /// The path it posts to.
    var action: String
    var fields: [Field]
    var label: String
    var danger: Bool
    var csrf: String
}

/// A link to a task's page.
struct TaskLink: Sendable {
    /// The percent-encoded path.
    var href: String
    var label: String
}

/// `/`: the headline numbers, the throughput chart, tasks by state, queues and workers.
struct OverviewPage: Sendable {
    struct Card: Sendable {
        var label: String
        var value: Int
        var link: String
    }

    struct StateCount: Sendable {
        var state: String
        var count: Int
    }

    var cards: [Card]
    var chart: ThroughputChart
    var states: [StateCount]
    var queues: [QueueRow]
    /// Always `false`: the overview's queue table has no purge buttons.
    var queueActions: Bool
    var workers: [WorkerRow]
}

/// The throughput chart: stacked bars, successes under failures, drawn as inline SVG. Coordinates are text with one
/// decimal.
struct ThroughputChart: Sendable {
    struct Bar: Sendable {
        var x: String
        var y: String
        var width: String
        var height: String
        var fill: String
        var count: Int
        /// `succeeded` or `failed`.
        var outcome: String
    }

    var width: Int
    var height: Int
    var slotSeconds: Int
    /// How far back the chart reaches.
    var minutes: Int
    /// The tallest bar's count, the top of the scale.
    var peak: Int
    var left: String
    var right: String
    var top: String
    var baseline: String
    var peakY: String
    var labelY: String
    var nowX: String
    var bars: [Bar]
}

/// A worker in the workers table.
struct WorkerRow: Sendable {
    var hostname: String
    /// The task list filtered to this worker.
    var tasksLink: String
    /// `online` or `offline`.
    var status: String
    var software: String
    var pool: String
    var concurrency: String
    var processed: String
    var active: String
    /// The first few tasks it runs now.
    var activeTasks: [TaskLink]
    var load: String
    var heartbeat: String
}

/// A queue in the queues table.
struct QueueRow: Sendable {
    var name: String
    var waiting: Int
    /// Shown where the table has `queueActions`.
    var purge: ActionForm
}

/// `/workers`.
struct WorkersPage: Sendable {
    var workers: [WorkerRow]
}

/// `/tasks`: the filters, one page of tasks and the links to the pages beside it.
struct TaskListPage: Sendable {
    struct StateOption: Sendable {
        var value: String
        var label: String
        var selected: Bool
    }

    var stateOptions: [StateOption]
    var nameFilter: String
    var workerFilter: String
    var idFilter: String
    var tasks: [TaskRow]
    /// `4 tasks, page 1 of 1`.
    var summary: String
    /// The previous page's path and query, when there is one.
    var newer: String?
    /// The next page's path and query, when there is one.
    var older: String?
}

/// A task in the task list; texts are cut to fit a row.
struct TaskRow: Sendable {
    var href: String
    var id: String
    var name: String
    var state: String
    var args: String
    var outcome: String
    var worker: String
    var received: String
    var runtime: String
}

/// `/tasks/{id}`: everything known of one task; `nil` shows as a dash.
struct TaskDetailPage: Sendable {
    struct TimelineRow: Sendable {
        var state: String
        var at: String
    }

    var id: String
    var name: String?
    var state: String
    var worker: String?
    var queue: String?
    var retries: String?
    var runtime: String?
    var args: String?
    var kwargs: String?
    var result: String?
    var traceback: String?
    var parent: TaskLink?
    var root: TaskLink?
    var children: [TaskLink]
    var timeline: [TimelineRow]
    /// Revoke and terminate, while the task is not finished and actions are on.
    var actions: [ActionForm]
}

/// `/queues`.
struct QueuesPage: Sendable {
    var queues: [QueueRow]
    /// Whether the rows have purge buttons.
    var queueActions: Bool
}

/// `/dead-letters`.
struct DeadLettersPage: Sendable {
    struct Row: Sendable {
        var id: Int64
        var at: String
        var queue: String
        var task: String
        var taskId: String
        var reason: String
        var replay: ActionForm
    }

    var letters: [Row]
    /// Whether the rows, and the page, have replay buttons.
    var letterActions: Bool
    var replayAll: ActionForm
}

/// `/login`.
struct LoginPage: Sendable {
    /// Why the last attempt failed.
    var error: String?
    var csrf: String
}

/// An error page.
struct ErrorPage: Sendable {
    var message: String
    /// Whether to offer the login page (on a 401).
    var logInLink: Bool
}
