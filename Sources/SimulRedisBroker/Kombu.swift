import Foundation
import SimulJSON
import SimulQueue

/// kombu's Redis layout: the key names, priority lists and envelopes that Celery's Redis transport uses, so that
/// Python Celery clients, workers and Flower share one Redis with Simul (`docs/redis.md`).
///
/// With a global key prefix (kombu's `global_keyprefix`), every key and pub/sub channel begins with it, as kombu's
/// prefixed client writes them; result keys begin with Celery's result backend's form of it, which ends in `_`
/// unless it already ends in one of `:_-.`.
struct Kombu: Sendable {
    /// What every key and channel of the broker begins with.
    let prefix: String
    /// What every result key (and the channel it is published on) begins with.
    let resultPrefix: String

    /// kombu's layout with `prefix` (empty: none).
    init(prefix: String = "") {
        self.prefix = prefix
        resultPrefix = prefix.isEmpty || ":_-.".contains(prefix.last!) ? prefix : prefix + "_"
    }

    /// The separator inside binding members and priority list names.
    static let separator = "\u{06}\u{16}"
    /// The priority steps: each has its own list, and lower steps are served first.
    static let prioritySteps = [0, 3, 6, 9]
    var unackedIndex: String { prefix + "unacked_index" }
    var unacked: String { prefix + "unacked" }
    var unackedMutex: String { prefix + "unacked_mutex" }

    /// One of Simul's own keys, which Celery has no counterpart for: `simul.<name>`.
    func own(_ name: String) -> String { prefix + "simul." + name }

    /// The list that holds `queue`'s messages of `priority` (0 to 9): the queue's own list for 0 to 2, then one
    /// list per step.
    func listKey(_ queue: String, priority: Int) -> String {
        let step = Self.prioritySteps.last { $0 <= max(0, min(9, priority)) } ?? 0
        return prefix + (step == 0 ? queue : queue + Self.separator + String(step))
    }

    /// Every list of `queues`, in the order a consumer pops them: priority first, then the queues in turn.
    func listKeys(_ queues: [String]) -> [String] {
        Self.prioritySteps.flatMap { step in queues.map { listKey($0, priority: step) } }
    }

    /// The queue that a list belongs to.
    func queue(ofList key: String) -> String {
        let key = key.hasPrefix(prefix) ? key.dropFirst(prefix.count) : Substring(key)
        guard let range = key.range(of: Self.separator, options: .backwards) else { return String(key) }
        return String(key[..<range.lowerBound])
    }

    /// The binding set of an exchange, and the member that binds `queue` to it by `routingKey`.
    func bindingKey(_ exchange: String) -> String { prefix + "_kombu.binding.\(exchange)" }
    func permanentBindingKey(_ exchange: String) -> String { prefix + "_kombu.binding_permanent.\(exchange)" }
    static func bindingMember(routingKey: String, queue: String) -> String {
        routingKey + separator + separator + queue
    }

    /// A result's key, which is also the channel its result is published on.
    func resultKey(_ taskId: String) -> String { resultKeyPrefix + taskId }
    var resultKeyPrefix: String { resultPrefix + "celery-task-meta-" }

    /// A chord's keys: `.j` results, `.t` size change, `.s` size, `.d` parts seen, the group key, `.c` claim.
    func chordKeys(_ groupId: String) -> [String] {
        let base = resultPrefix + "celery-taskset-meta-\(groupId)"
        return [base + ".j", base + ".t", base + ".s", base + ".d", base, base + ".c"]
    }

    /// A fanout exchange's pub/sub channel in database `database`.
    func fanoutChannel(database: Int, exchange: String, routingKey: String = "") -> String {
        prefix + "/\(database).\(exchange)" + (routingKey.isEmpty ? "" : "/\(routingKey)")
    }

    /// An envelope as kombu writes it: the body as base64 JSON, with the delivery tag and delivery info that
    /// every Python consumer requires.
    static func envelope(
        body: JSONValue, headers: JSONValue, exchange: String, routingKey: String, deliveryMode: Int = 1,
        properties: [String: JSONValue] = [:]
    ) -> [UInt8] {
        var properties = properties
        properties["delivery_mode"] = .integer(Int64(deliveryMode))
        properties["delivery_info"] = ["exchange": .string(exchange), "routing_key": .string(routingKey)]
        properties["priority"] = 0
        properties["body_encoding"] = "base64"
        properties["delivery_tag"] = .string(TaskID.make())
        let envelope: JSONValue = [
            "body": .string(Data(body.jsonBytes).base64EncodedString()),
            "content-encoding": "utf-8", "content-type": "application/json",
            "headers": headers, "properties": .object(properties),
        ]
        return envelope.jsonBytes
    }

    /// The headers and decoded body of an envelope; `nil` if it is not one.
    static func open(_ bytes: some Collection<UInt8>) -> (headers: [String: JSONValue], body: JSONValue)? {
        guard let envelope = json(Data(bytes)), case .object(let fields) = envelope,
            let encoded = fields["body"]?.stringValue
        else { return nil }
        let raw: Data
        if fields["properties"]?["body_encoding"]?.stringValue == "base64" {
            guard let decoded = Data(base64Encoded: encoded) else { return nil }
            raw = decoded
        } else {
            raw = Data(encoded.utf8)
        }
        guard let body = json(raw) else { return nil }
        if case .object(let headers) = fields["headers"] { return (headers, body) }
        return ([:], body)
    }

    /// `data` parsed as JSON; `nil` if it is not JSON.
    static func json(_ data: Data) -> JSONValue? {
        try? JSONValue(parsing: data)
    }
}
