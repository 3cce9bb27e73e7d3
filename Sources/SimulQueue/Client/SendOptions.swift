public import Foundation
import SimulJSON

/// How to send one task: where, when, how urgent, and what follows it.
public struct SendOptions: Sendable {
    /// The queue; by default the route table's, else `celery`.
    public var queue: String?
    /// Run no sooner than this many seconds from now.
    public var countdown: Double?
    /// Run no sooner than this time.
    public var eta: Date?
    /// Do not run after this time: the task becomes REVOKED.
    public var expires: Date?
    /// 0 to 9, lower first (Redis's order).
    public var priority: Int?
    /// The task id; a new one by default.
    public var taskId: String?
    /// Tasks to run with the result on success.
    public var link: [Signature] = []
    /// Tasks to run with the task id on failure.
    public var linkError: [Signature] = []
    /// Kill the task after this many seconds.
    public var hardTimeLimit: Double?
    /// Ask the task to stop after this many seconds.
    public var softTimeLimit: Double?

    /// Options with the defaults.
    public init(
        queue: String? = nil, countdown: Double? = nil, eta: Date? = nil, expires: Date? = nil, priority: Int? = nil,
        taskId: String? = nil
    ) {
        self.queue = queue
        self.countdown = countdown
        self.eta = eta
        self.expires = expires
        self.priority = priority
        self.taskId = taskId
    }

    /// The options in Celery's signature spelling.
    var signatureOptions: [String: JSONValue] {
        var options: [String: JSONValue] = [:]
        if let queue { options["queue"] = .string(queue) }
        if let countdown { options["countdown"] = .number(countdown) }
        if let eta { options["eta"] = .string(ISODate.format(eta)) }
        if let expires { options["expires"] = .string(ISODate.format(expires)) }
        if let priority { options["priority"] = .integer(Int64(priority)) }
        if let taskId { options["task_id"] = .string(taskId) }
        if let hardTimeLimit { options["time_limit"] = .number(hardTimeLimit) }
        if let softTimeLimit { options["soft_time_limit"] = .number(softTimeLimit) }
        if !link.isEmpty, let value = try? JSONValue(encoding: link) { options["link"] = value }
        if !linkError.isEmpty, let value = try? JSONValue(encoding: linkError) { options["link_error"] = value }
        return options
    }
}
