import Logging
import Synchronization
import Tracing

extension Worker {
    /// Runs `body`, which runs `job` and returns how it finished (`nil` when it was put back), inside the job's
    /// consumer span `run/<task>`: a child of the context its message carries, and the parent of the spans of the
    /// messages it sends on. With no tracer, it runs `body` and nothing else.
    ///
    /// A malformed `traceparent` is ignored (the span starts a trace of its own) and logged, once per worker.
    func traced(_ job: Job, _ body: () async -> Outcome?) async {
        guard let tracer = MessageTracing.tracer else {
            _ = await body()
            return
        }
        let message = job.message
        let (context, malformed) = MessageTracing.context(of: message, tracer: tracer)
        if let malformed, !malformedTraceParentSeen.exchange(true, ordering: .relaxed) {
            logger.warning(
                "ignoring the malformed traceparent '\(malformed.prefix(80))' of task \(message.task)[\(message.id)]: its span starts a new trace (said once per worker)"
            )
        }
        let span = tracer.startSpan("run/\(message.task)", context: context, ofKind: .consumer)
        if span.isRecording {
            span.updateAttributes { attributes in
                attributes["celery.action"] = "run"
                attributes["celery.task_name"] = message.task
                attributes["celery.hostname"] = configuration.name
                if message.retries > 0 { attributes["celery.retries"] = message.retries }
                attributes["messaging.system"] = MessageTracing.system
                attributes["messaging.operation.type"] = "process"
                attributes["messaging.message.id"] = message.id
                attributes["messaging.destination.name"] = job.delivery.queue
            }
        }
        let outcome = await ServiceContext.withValue(span.context) { await body() }
        switch outcome {
        case .success?: span.attributes["celery.state"] = "SUCCESS"
        case .failure(let error)?:
            span.attributes["celery.state"] = "FAILURE"
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error, message: error.description))
        case .retry(let request)?:
            span.attributes["celery.state"] = "RETRY"
            if let cause = request.cause { span.attributes["celery.retry.reason"] = cause.description }
        case .revoked(let reason)?:
            span.attributes["celery.state"] = "REVOKED"
            span.attributes["celery.revoked.reason"] = reason
        case .interrupted?, nil: break
        }
        span.end()
    }

    /// The envelopes of messages a running task sends on (its chain's next step, callbacks, retries): each gets a
    /// producer span, a child of the task's run span, whose context goes in its headers. The span's operation is
    /// `create`, and it ends at once: the committer writes the messages later, in a batch.
    func outgoing(_ messages: [TaskMessage]) -> [OutgoingMessage] {
        guard !messages.isEmpty, let tracer = MessageTracing.tracer else { return messages.map(OutgoingMessage.init) }
        let context = ServiceContext.current ?? .topLevel
        return messages.map { message in
            var message = message
            MessageTracing.startSend(&message, .create, tracer: tracer, context: context).end()
            return OutgoingMessage(message)
        }
    }
}
