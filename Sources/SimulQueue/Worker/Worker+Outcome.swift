import Foundation
import Simul
import SimulJSON
import Logging
import Tracing

extension Worker {
    /// Stores the outcome and sends what follows from it, acknowledging the message in the same batch.
    /// - Parameter sends: messages the task itself sends on success (Celery's built-in canvas tasks).
    /// - Returns: the outcome stored: a failure the task retries on is a retry, a retry past its limit a failure.
    func finish(_ job: Job, _ outcome: Outcome, task: RegisteredTask?, runtime: Double, sends: [TaskMessage] = [])
        async -> Outcome
    {
        let message = job.message
        var commit = BrokerCommit(ack: [job.delivery.tag])
        var results: [TaskResult] = []
        var outcome = outcome
        if case .failure(let error) = outcome, task?.options.retriesAutomatically(error.type) == true {
            outcome = .retry(RetryRequest(countdown: nil, maxRetries: nil, cause: error))
        }
        var exhausted = false
        if case .retry(let request) = outcome {
            let limit = request.maxRetries ?? task?.options.maxRetries ?? 3
            if message.retries >= limit {
                exhausted = true
                outcome = .failure(
                    request.cause
                        ?? TaskError(
                            type: "MaxRetriesExceededError",
                            message:
                                "Can't retry \(message.task)[\(message.id)] args:\(JSONValue.array(message.args).jsonText) kwargs:\(JSONValue.object(message.kwargs).jsonText)",
                            module: "celery.exceptions"))
            }
        }
        if case .retry(let request) = outcome, let countdown = request.countdown {
            do {
                _ = try Seconds.check(countdown, "the retry countdown")
            } catch {
                outcome = .failure(TaskError(type: "ValueError", message: "\(error)"))
            }
        }
        if exhausted, task?.options.deadLetterWhenRetriesRunOut == true, case .failure(let error) = outcome {
            // Kept for a replay, in place of the acknowledgement.
            commit.ack = []
            commit.deadLetter.append(
                (job.delivery, "retries ran out after \(message.retries): \(error.type): \(error.message)"))
            recordDeadLetter(job.delivery)
        }
        recordFinished(message, queue: job.delivery.queue, outcome: outcome, runtime: runtime)
        var result: TaskResult
        switch outcome {
        case .success(let value):
            result = TaskResult(taskId: message.id, status: .success, result: value)
            commit.send += outgoing(sends)
            result.children += sends.map { Self.childTuple($0.id) }
            if let next = message.chain.last {
                result.children += await dispatch(
                    next, args: [value], placement: .init(chain: Array(message.chain.dropLast())), parent: message,
                    commit: &commit, results: &results)
            }
            for callback in message.callbacks {
                result.children += await dispatch(
                    callback, args: [value], parent: message, commit: &commit, results: &results)
            }
            commit.events += taskEvent(
                "task-succeeded", message,
                [
                    "result": .string(value.jsonText), "runtime": .number(runtime),
                ])
        case .failure(let error):
            var error = error
            if error.traceback == nil { error.traceback = traceback(error, message) }
            result = .failure(taskId: message.id, error)
            for step in message.chain {
                guard let id = step.taskId else { continue }
                results.append(.failure(taskId: id, error))
            }
            for errback in message.errbacks {
                await dispatch(
                    errback, args: [.string(message.id)], parent: message, commit: &commit, results: &results)
            }
            commit.events += taskEvent(
                "task-failed", message,
                [
                    "exception": .string("\(error.type)('\(error.message)')"),
                    "traceback": .string(error.traceback ?? ""),
                ])
            logger.info("task \(message.task)[\(message.id)] failed: \(error)")
        case .retry(let request):
            let countdown =
                request.countdown
                ?? (task?.options.backoff ?? RetryBackoff()).delay(
                    afterRetries: message.retries,
                    random: Double.random(in: 0..<1))
            var again = message
            again.retries += 1
            again.eta = clock.now.addingTimeInterval(countdown)
            again.parentId = message.id
            again.deliveryTag = TaskID.make()
            again.redelivered = false
            again.lapsedLeases = 0
            commit.send += outgoing([again])
            let cause = request.cause
            result = TaskResult(
                taskId: message.id, status: .retry, result: cause?.resultValue ?? .null,
                traceback: "Retry in \(countdown)s" + (cause.map { ": \($0)" } ?? ""))
            commit.events += taskEvent(
                "task-retried", message,
                [
                    "exception": .string("Retry in \(countdown)s"), "traceback": .string(result.traceback ?? ""),
                ])
        case .interrupted:
            preconditionFailure("an interrupted task is put back, not finished")
        case .revoked(let reason):
            result = .failure(taskId: message.id, .revoked(reason))
            result.status = .revoked
            result.traceback = nil
            commit.events += taskEvent(
                "task-revoked", message,
                [
                    "terminated": .bool(reason == "terminated"), "expired": .bool(reason == "expired"),
                ])
        }
        result.groupId = message.groupId
        result.parentId = message.parentId
        result.name = message.task
        result.worker = configuration.name
        result.retries = message.retries
        result.queue = job.delivery.queue
        if let groupId = message.groupId, let body = message.chord, result.status.isReady {
            await joinChord(
                groupId, index: message.groupIndex ?? 0, part: result, body: body, parent: message,
                commit: &commit, results: &results)
        }
        if !(message.ignoreResult || task?.options.ignoreResult == true) { results.insert(result, at: 0) }
        committer.enqueue(results: results, commit: commit, tracedBy: ServiceContext.current)
        return outcome
    }

    /// Adds the messages that applying `signature` with `args` sends to `commit`, recording the size of each chord
    /// it starts, and returns their result tuples. A signature that cannot be sent (a malformed canvas, a countdown
    /// of `1e300`) is not: its task id gets a FAILURE with the reason.
    @discardableResult
    func dispatch(
        _ signature: Signature, args: [JSONValue], placement: CanvasPlan.Placement = .init(), parent: TaskMessage,
        commit: inout BrokerCommit, results: inout [TaskResult]
    ) async -> [JSONValue] {
        var plan = CanvasPlan(route: route, parent: parent, now: clock.now)
        do {
            try plan.add(signature, args: args, placement: placement)
            for (groupId, size) in plan.chordSizes { try await backend.setChordSize(groupId, size: size) }
        } catch {
            let failure =
                (error as? MessageError).map { TaskError(type: "ValueError", message: $0.reason) }
                ?? TaskError(
                    type: "ChordError", message: "cannot record a chord's size: \(error)", module: "celery.exceptions")
            logger.warning("not sending \(signature.task) from \(parent.task)[\(parent.id)]: \(failure.message)")
            if let id = (error as? MessageError)?.taskId ?? signature.resultId {
                results.append(.failure(taskId: id, failure))
            }
            return []
        }
        commit.send += outgoing(plan.messages)
        return plan.messages.map { Self.childTuple($0.id) }
    }

    /// The queue for messages this worker sends for `task`.
    func route(_ task: String) -> String {
        configuration.routes.queue(for: task) ?? catalog[task]?.options.queue ?? "celery"
    }

    private func joinChord(
        _ groupId: String, index: Int, part: TaskResult, body: Signature, parent: TaskMessage,
        commit: inout BrokerCommit, results: inout [TaskResult]
    ) async {
        let parts: [TaskResult]?
        do {
            parts = try await backend.addChordPart(groupId, index: index, result: part)
        } catch {
            logger.error("cannot record chord part \(index) of group \(groupId): \(error)")
            return
        }
        guard let parts else { return }
        if let failed = parts.first(where: { $0.status != .success }) {
            let cause = failed.error.map { "\($0)" } ?? failed.status.rawValue
            let error = TaskError(
                type: "ChordError", message: "Dependency \(failed.taskId) raised \(cause)",
                module: "celery.exceptions")
            guard let bodyId = body.resultId else { return }
            results.append(.failure(taskId: bodyId, error))
            // Celery's chord_error_from_stack: the body's error callbacks run with the body's id.
            let errbacks = (try? body.options["link_error"]?.decode(as: [Signature].self)) ?? []
            for errback in errbacks {
                await dispatch(errback, args: [.string(bodyId)], parent: parent, commit: &commit, results: &results)
            }
            return
        }
        var call = body
        // The body's own group id is its chord's; one it keeps belongs to an outer chord it stands in for.
        if call.options["chord"] == nil { call.options["group_id"] = nil }
        await dispatch(call, args: [.array(parts.map(\.result))], parent: parent, commit: &commit, results: &results)
    }

    private func traceback(_ error: TaskError, _ message: TaskMessage) -> String {
        "Traceback (most recent call last):\n  worker \(configuration.name), task \(message.task)[\(message.id)]\n"
            + "\(error.type): \(error.message)\n"
    }

    private static func childTuple(_ id: String) -> JSONValue { [[.string(id), nil], nil] }
}
