import Foundation
import SimulJSON

/// The messages that applying a signature sends: Celery's canvases unrolled as Celery's own `apply_async` unrolls
/// them, so a canvas written in Swift or in Python runs the same on any worker.
///
/// A plain signature is one message. A chain sends its first step with the others, reversed, in `embed.chain`; a
/// step that belongs to a group or a chord carries `group_id`, `group_index` and `chord` in its options until it is
/// sent. A group sends its members under one group id, a group among them flattened into it (a group followed by
/// more steps becomes a chord, as Celery's `group | task` does). A chord flattens the groups in its header as
/// Celery does, records the header's size, then sends the header with the body in `embed.chord`;
/// what follows the chord rides in the body's `chain` option. Partial arguments (the parent's result) go first in
/// the arguments of each task that starts the canvas, unless it is immutable.
struct CanvasPlan {
    /// The messages to send, in order.
    var messages: [TaskMessage] = []
    /// The chords whose headers this plan sends, and their sizes: record them before sending.
    var chordSizes: [(groupId: String, size: Int)] = []

    /// Where a signature sits: the group or chord header it belongs to, and what runs after it.
    struct Placement {
        var groupId: String?
        var groupIndex: Int?
        var chord: Signature?
        /// What runs after it, next step last.
        var chain: [Signature] = []
    }

    private let route: (String) -> String
    private let parent: TaskMessage?
    private let now: Date

    /// A plan for messages sent by `parent` (none for a client), routed by `route` when a signature names no queue.
    init(route: @escaping (String) -> String, parent: TaskMessage?, now: Date) {
        self.route = route
        self.parent = parent
        self.now = now
    }

    /// Adds what applying `signature` with `partialArgs` first sends.
    /// - Throws: ``MessageError`` naming what is wrong: a canvas whose parts are not signatures, an unknown
    ///   `subtask_type`, a group that ends a chain inside a chord's header, or a message option out of range.
    mutating func add(_ signature: Signature, args partialArgs: [JSONValue], placement: Placement = Placement())
        throws(MessageError)
    {
        let own = try Self.placement(in: signature)
        let placement = Placement(
            groupId: placement.groupId ?? own.groupId, groupIndex: placement.groupIndex ?? own.groupIndex,
            chord: placement.chord ?? own.chord, chain: placement.chain + own.chain)
        switch signature.subtaskType {
        case nil, "xmap", "xstarmap", "chunks":
            try addTask(signature, args: partialArgs, placement: placement)
        case "chain":
            try addChain(signature, args: partialArgs, placement: placement)
        case "group":
            let members = try Self.signatures(signature.kwargs["tasks"], "kwargs.tasks", of: signature)
            if let body = placement.chain.last {
                try addChord(
                    members, groupId: signature.taskId, body: body, bodyId: nil, args: partialArgs,
                    placement: Placement(
                        groupId: placement.groupId, groupIndex: placement.groupIndex, chord: placement.chord,
                        chain: Array(placement.chain.dropLast())))
                return
            }
            // A chord's header has its groups flattened already (addChord): this one ends a chain in a header,
            // where Celery's join would wait on the chord's id for results stored under the group's own.
            guard placement.chord == nil else { throw Self.groupEndingAChainInAHeader(signature) }
            let groupId = signature.taskId ?? TaskID.make()
            for (index, member) in try Self.flattened(members, of: signature).enumerated() {
                try add(member, args: partialArgs, placement: Placement(groupId: groupId, groupIndex: index))
            }
        case "chord":
            let (header, groupId) = try Self.header(of: signature)
            guard let bodyValue = signature.kwargs["body"], bodyValue != .null else {
                throw MessageError("a chord needs kwargs.body, a signature", taskName: signature.task)
            }
            try addChord(
                header, groupId: groupId, body: try Self.signature(bodyValue, "kwargs.body", of: signature),
                bodyId: signature.taskId, args: partialArgs, placement: placement)
        case let other?:
            throw MessageError(
                "unknown canvas type '\(other)' (expected chain, group, chord, xmap, xstarmap or chunks)",
                taskName: signature.task)
        }
    }

    private mutating func addTask(_ signature: Signature, args partialArgs: [JSONValue], placement: Placement)
        throws(MessageError)
    {
        var call = signature
        if !call.immutable { call.args = partialArgs + call.args }
        for key in Self.placementOptions { call.options[key] = nil }
        var message = try TaskMessage(call, queue: route(Self.routeName(of: call)), parent: parent, now: now)
        message.groupId = placement.groupId
        message.groupIndex = placement.groupIndex
        message.chord = placement.chord
        message.chain = placement.chain
        messages.append(message)
    }

    private mutating func addChain(_ signature: Signature, args partialArgs: [JSONValue], placement: Placement)
        throws(MessageError)
    {
        var steps = try Self.signatures(signature.kwargs["tasks"], "kwargs.tasks", of: signature)
        guard !steps.isEmpty else { return }
        // Celery's unchain_tasks: the chain's callbacks go to its last step, its error callbacks to every step.
        if let links = signature.options["link"], links != .null {
            steps[steps.count - 1].options["link"] = Self.concatenate(steps[steps.count - 1].options["link"], links)
        }
        if let errbacks = signature.options["link_error"], errbacks != .null {
            for index in steps.indices {
                steps[index].options["link_error"] = Self.concatenate(steps[index].options["link_error"], errbacks)
            }
        }
        for index in steps.indices.dropFirst() where steps[index].subtaskType == nil { _ = steps[index].freeze() }
        guard steps.count > 1 else {
            try add(steps[0], args: partialArgs, placement: placement)
            return
        }
        // The last step is the chain's result: it joins the group or chord the chain belongs to.
        var last = steps[steps.count - 1]
        if placement.chord != nil, last.subtaskType == "group" { throw Self.groupEndingAChainInAHeader(last) }
        if let groupId = placement.groupId { last.options["group_id"] = .string(groupId) }
        if let index = placement.groupIndex { last.options["group_index"] = .integer(Int64(index)) }
        if let chord = placement.chord { last.options["chord"] = chord.jsonValue }
        steps[steps.count - 1] = last
        try add(
            steps[0], args: partialArgs, placement: Placement(chain: placement.chain + steps.dropFirst().reversed()))
    }

    private mutating func addChord(
        _ header: [Signature], groupId: String?, body: Signature, bodyId: String?, args partialArgs: [JSONValue],
        placement: Placement
    ) throws(MessageError) {
        var body = body
        // Celery's chord keeps the id its body was frozen with; its own `task_id` is the header's group id.
        if body.subtaskType == nil { body.taskId = body.taskId ?? bodyId ?? TaskID.make() }
        let groupId = groupId ?? TaskID.make()
        // What follows the chord runs after its body, and the body stands for the chord in an outer group or chord.
        let followers = placement.chain + (try Self.placement(in: body).chain)
        if !followers.isEmpty { body.options["chain"] = .array(followers.map(\.jsonValue)) }
        if let outer = placement.groupId { body.options["group_id"] = .string(outer) }
        if let index = placement.groupIndex { body.options["group_index"] = .integer(Int64(index)) }
        if let chord = placement.chord { body.options["chord"] = chord.jsonValue }
        let header = try Self.unrolled(header)
        guard !header.isEmpty else {
            try add(body, args: [.array([])])
            return
        }
        chordSizes.append((groupId, header.count))
        for (index, member) in header.enumerated() {
            try add(member, args: partialArgs, placement: Placement(groupId: groupId, groupIndex: index, chord: body))
        }
    }

    /// A group's members with each group among them replaced by its own members, in order, as Celery's
    /// `group.apply_async` sends a group in a group (`group._prepared`): one group, one id.
    private static func flattened(_ members: [Signature], of owner: Signature) throws(MessageError) -> [Signature] {
        var tasks: [Signature] = []
        for member in members {
            if member.subtaskType == "group" {
                tasks += try flattened(signatures(member.kwargs["tasks"], "kwargs.tasks", of: member), of: member)
            } else {
                tasks.append(member)
            }
        }
        return tasks
    }

    /// A chord header's tasks, each group among them replaced by its members as Celery's `group._freeze_unroll`
    /// does: it takes tasks from the front of a work list and puts a group's members back at the front one by one
    /// (`deque.extendleft`), so they come out in reverse order: the header `[group(a, b), c]` runs as `[b, a, c]`,
    /// and the body gets the results in that order, whichever language unrolls it.
    private static func unrolled(_ header: [Signature]) throws(MessageError) -> [Signature] {
        var stack = Array(header.reversed())
        var tasks: [Signature] = []
        while let next = stack.popLast() {
            if next.subtaskType == "group" {
                stack += try signatures(next.kwargs["tasks"], "kwargs.tasks", of: next)
            } else {
                tasks.append(next)
            }
        }
        return tasks
    }

    /// A group that ends a chain in a chord's header would store its members' results under its own id while the
    /// chord waits on its header's: Celery counts them in the chord's size and then never joins it.
    private static func groupEndingAChainInAHeader(_ group: Signature) -> MessageError {
        MessageError(
            "a group at the end of a chain inside a chord's header cannot join the chord: end the chain with a task "
                + "after the group (a chord of its own), or list the group's tasks in the header",
            taskName: group.task)
    }

    /// The options that place a signature, which ``add(_:args:placement:)`` reads and sets itself.
    private static let placementOptions = ["group_id", "group_index", "chord", "chain"]

    private static func placement(in signature: Signature) throws(MessageError) -> Placement {
        let options = signature.options
        var placement = Placement()
        placement.groupId = options["group_id"]?.stringValue
        placement.groupIndex = options["group_index"]?.intValue
        if let chord = options["chord"], chord != .null {
            placement.chord = try Self.signature(chord, "options.chord", of: signature)
        }
        if let chain = options["chain"], chain != .null {
            placement.chain = try signatures(chain, "options.chain", of: signature)
        }
        return placement
    }

    /// The header's tasks and group id: a list of signatures, or a group signature, as Celery writes either.
    private static func header(of chord: Signature) throws(MessageError) -> ([Signature], String?) {
        let value = chord.kwargs["header"] ?? .null
        if case .object = value {
            let group = try signature(value, "kwargs.header", of: chord)
            return (try signatures(group.kwargs["tasks"], "kwargs.header.kwargs.tasks", of: chord), group.taskId)
        }
        return (try signatures(value, "kwargs.header", of: chord), nil)
    }

    /// The name that routes `signature`: for Celery's `celery.map`, `celery.starmap` and `celery.chunks`, the task
    /// they call, as Celery routes them.
    static func routeName(of signature: Signature) -> String {
        guard signature.task.hasPrefix("celery."), let inner = signature.kwargs["task"] else { return signature.task }
        return inner["task"]?.stringValue ?? inner.stringValue ?? signature.task
    }

    private static func signature(_ value: JSONValue, _ field: String, of owner: Signature) throws(MessageError)
        -> Signature
    {
        do {
            return try Signature(json: value)
        } catch {
            throw MessageError("\(owner.task): \(field) is not a signature: \(error.reason)", taskName: owner.task)
        }
    }

    private static func signatures(_ value: JSONValue?, _ field: String, of owner: Signature) throws(MessageError)
        -> [Signature]
    {
        guard let items = value?.arrayValue else {
            throw MessageError(
                "\(owner.task): \(field) must be a list of signatures, got \(value?.jsonText.prefix(100) ?? "nothing")",
                taskName: owner.task)
        }
        var signatures: [Signature] = []
        for item in items { signatures.append(try signature(item, field, of: owner)) }
        return signatures
    }

    private static func concatenate(_ existing: JSONValue?, _ more: JSONValue) -> JSONValue {
        .array((existing?.arrayValue ?? existing.map { $0 == .null ? [] : [$0] } ?? []) + (more.arrayValue ?? [more]))
    }
}
