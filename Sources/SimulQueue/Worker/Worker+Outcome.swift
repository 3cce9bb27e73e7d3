import Foundation
import Simul
import SimulJSON
import Logging

extension Worker {
    /// Stores the outcome and sends what follows from it, acknowledging the message in the same batch.
    func finish(_ job: Job, _ outcome: Outcome, task: RegisteredTask?, runtime: Double) async {
        let message = job.message
        var commit = BrokerCommit(ack: [job.delivery.tag])
        var results: [TaskResult] = []
        var outcome = outcome
        if case .failure(let error) = outcome, task?.options.autoRetry == true,
            !["TypeError", "NotRegistered", "TimeLimitExceeded", "SoftTimeLimitExceeded"].contains(error.type)
        {
            outcome = .retry(RetryRequest(countdown: nil, maxRetries: nil, cause: error))
        }
        if case .retry(let request) = outcome {
            let limit = request.maxRetries ?? task?.options.maxRetries ?? 3
            if message.retries >= limit {
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
        recordFinished(message, queue: job.delivery.queue, outcome: outcome, runtime: runtime)
        var result: TaskResult
        switch outcome {
        case .success(let value):
            result = TaskResult(taskId: message.id, status: .success, result: value)
            if let next = message.chain.last,
                let id = send(
                    followUp(next, result: value), parent: message, chain: Array(message.chain.dropLast()),
                    commit: &commit, results: &results)
            {
                result.children.append(Self.childTuple(id))
            }
            for callback in message.callbacks {
                guard
                    let id = send(
                        followUp(callback, result: value), parent: message, commit: &commit,
                        results: &results)
                else { continue }
                result.children.append(Self.childTuple(id))
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
                var call = errback
                call.args = [.string(message.id)] + errback.args
                send(call, parent: message, commit: &commit, results: &results)
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
            commit.send.append(OutgoingMessage(again))
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
        committer.enqueue(results: results, commit: commit)
    }

    /// The next step of a chain or a callback: the parent's result first, unless immutable.
    private func followUp(_ signature: Signature, result: JSONValue) -> Signature {
        var call = signature
        if !signature.immutable { call.args = [result] + signature.args }
        return call
    }

    /// Adds the message that `call` sends to `commit`, and returns its task id. A call whose options are out of
    /// range (a countdown of `1e300`, say) is not sent: its task id gets a FAILURE with the reason.
    @discardableResult
    private func send(
        _ call: Signature, parent: TaskMessage, chain: [Signature] = [], commit: inout BrokerCommit,
        results: inout [TaskResult]
    ) -> String? {
        do {
            var message = try TaskMessage(call, queue: route(call.task), parent: parent, now: clock.now)
            message.chain = chain
            commit.send.append(OutgoingMessage(message))
            return message.id
        } catch {
            logger.warning("not sending \(call.task) from \(parent.task)[\(parent.id)]: \(error.reason)")
            if let id = error.taskId {
                results.append(.failure(taskId: id, TaskError(type: "ValueError", message: error.reason)))
            }
            return nil
        }
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
            if let id = body.taskId { results.append(.failure(taskId: id, error)) }
            return
        }
        var call = body
        call.args = [.array(parts.map(\.result))] + body.args
        call.options["group_id"] = nil
        send(call, parent: parent, commit: &commit, results: &results)
    }

    private func traceback(_ error: TaskError, _ message: TaskMessage) -> String {
        "Traceback (most recent call last):\n  worker \(configuration.name), task \(message.task)[\(message.id)]\n"
            + "\(error.type): \(error.message)\n"
    }

    private static func childTuple(_ id: String) -> JSONValue { [[.string(id), nil], nil] }
}
