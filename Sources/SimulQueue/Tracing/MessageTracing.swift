import SimulJSON
package import Tracing

/// Writes trace context into a Celery message's headers as opentelemetry-instrumentation-celery does: each field
/// (`traceparent`, `tracestate`, `baggage`) is a top-level header.
struct MessageHeaderInjector: Injector {
    func inject(_ value: String, forKey key: String, into headers: inout [String: JSONValue]) {
        headers[key] = .string(value)
    }
}

/// Reads trace context from a Celery message's headers: a top-level header, as opentelemetry-instrumentation-celery
/// writes it, or else one in the nested `headers` object that Sentry and dd-trace also write (celery#4875).
struct MessageHeaderExtractor: Extractor {
    func extract(key: String, from headers: [String: JSONValue]) -> String? {
        if case .string(let value)? = headers[key] { return value }
        if case .object(let nested)? = headers["headers"], case .string(let value)? = nested[key] { return value }
        return nil
    }
}

/// The spans of sending and running tasks, named and described as opentelemetry-instrumentation-celery does
/// (`apply_async/<task>`, `run/<task>`, `celery.action`, `celery.task_name`), with the OpenTelemetry messaging
/// attributes (`messaging.system`, `messaging.destination.name`, `messaging.message.id`) beside them.
package enum MessageTracing {
    /// The bootstrapped tracer (or one bound with `withTracer`), or `nil` when there is none: with none, tracing
    /// costs this look-up and nothing else.
    package static var tracer: (any Tracer)? {
        let tracer = InstrumentationSystem.tracer
        return tracer is NoOpTracer ? nil : tracer
    }

    /// What a producer span stands for, as the messaging conventions' `messaging.operation.type` says it: `send`
    /// when the span lasts until the broker has the message; `create` when the message is written later in a batch.
    enum Operation: String {
        case send
        case create
    }

    /// Starts the producer span of sending `message`, a child of `context`, and injects its context into the
    /// message's headers. The caller ends it.
    static func startSend(
        _ message: inout TaskMessage, _ operation: Operation, tracer: any Tracer, context: ServiceContext
    ) -> any Span {
        let span = tracer.startSpan("apply_async/\(message.task)", context: context, ofKind: .producer)
        if span.isRecording {
            span.updateAttributes { attributes in
                attributes["celery.action"] = "apply_async"
                attributes["celery.task_name"] = message.task
                attributes["messaging.system"] = system
                attributes["messaging.operation.type"] = operation.rawValue
                attributes["messaging.message.id"] = message.id
                attributes["messaging.destination.name"] = message.queue
            }
        }
        tracer.inject(span.context, into: &message.otherHeaders, using: MessageHeaderInjector())
        return span
    }

    /// The context a message carries, to parent the span that runs it, and the `traceparent` it carries if that is
    /// malformed (then it is ignored, and the run starts a trace of its own).
    static func context(of message: TaskMessage, tracer: any Tracer) -> (ServiceContext, malformed: String?) {
        let extractor = MessageHeaderExtractor()
        if let header = extractor.extract(key: "traceparent", from: message.otherHeaders), TraceParent(header) == nil {
            return (.topLevel, header)
        }
        var context = ServiceContext.topLevel
        tracer.extract(message.otherHeaders, into: &context, using: extractor)
        return (context, nil)
    }

    /// `messaging.system`: the protocol, as the task's name and the queue are Celery's.
    static let system = "celery"
}
