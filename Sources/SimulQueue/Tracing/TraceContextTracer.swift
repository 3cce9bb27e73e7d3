import Foundation
package import SimulJSON
import Synchronization
package import Tracing

/// A tracer that propagates W3C Trace Context (`traceparent`, `tracestate`) and hands each finished span to a sink:
/// `simul`'s debugging tracer behind `SIMUL_TRACE_FILE` (one JSON object per span and line), and the tests' window
/// on what the worker and client trace. It samples everything and keeps no spans itself.
package struct TraceContextTracer: Tracer {
    private let sink: @Sendable (FinishedSpan) -> Void

    /// - Parameter sink: called once for each span, when it ends.
    package init(sink: @escaping @Sendable (FinishedSpan) -> Void) {
        self.sink = sink
    }

    package func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> TraceContextSpan {
        var context = context()
        let parent = context.traceContext
        let identity = TraceParent(
            traceID: parent?.parent.traceID ?? Self.randomHex(bytes: 16), spanID: Self.randomHex(bytes: 8),
            flags: parent?.parent.flags ?? 1)
        context.traceContext = SpanTraceContext(parent: identity, state: parent?.state)
        return TraceContextSpan(
            name: operationName, kind: kind, context: context, parentSpanID: parent?.parent.spanID,
            start: instant().nanosecondsSinceEpoch, sink: sink)
    }

    package func forceFlush() {}

    package func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        guard let trace = context.traceContext else { return }
        injector.inject(trace.parent.text, forKey: "traceparent", into: &carrier)
        if let state = trace.state, !state.isEmpty { injector.inject(state, forKey: "tracestate", into: &carrier) }
    }

    package func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        guard let text = extractor.extract(key: "traceparent", from: carrier), let parent = TraceParent(text) else {
            return
        }
        context.traceContext = SpanTraceContext(
            parent: parent, state: extractor.extract(key: "tracestate", from: carrier))
    }

    private static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        while true {
            let text = (0..<bytes).map { _ in
                let byte = UInt8.random(in: 0...255, using: &generator)
                return (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }.joined()
            if text.contains(where: { $0 != "0" }) { return text }
        }
    }

    /// A span as it ended.
    package struct FinishedSpan: Sendable {
        package var name: String
        package var kind: SpanKind
        package var traceID: String
        package var spanID: String
        package var parentSpanID: String?
        package var start: UInt64
        package var end: UInt64
        package var attributes: SpanAttributes
        package var status: SpanStatus?
        package var links: [TraceParent]
        package var errors: [String]

        /// One JSON object: `name`, `kind`, `trace_id`, `span_id`, `parent_span_id` (`null` for a root),
        /// `start_unix_nano`, `end_unix_nano`, `attributes`, `status` (`unset`, `ok` or `error`, with
        /// `status_message`), `links` (their `trace_id` and `span_id`) and `errors` (their descriptions).
        package var json: JSONValue {
            var fields: [String: JSONValue] = [:]
            attributes.forEach { key, value in fields[key] = Self.json(value) }
            let statusName: String
            switch status?.code {
            case .ok?: statusName = "ok"
            case .error?: statusName = "error"
            case nil: statusName = "unset"
            }
            return [
                "name": .string(name), "kind": .string("\(kind)"), "trace_id": .string(traceID),
                "span_id": .string(spanID), "parent_span_id": parentSpanID.map(JSONValue.string) ?? .null,
                "start_unix_nano": .integer(Int64(start)), "end_unix_nano": .integer(Int64(end)),
                "attributes": .object(fields), "status": .string(statusName),
                "status_message": status?.message.map(JSONValue.string) ?? .null,
                "links": .array(links.map { ["trace_id": .string($0.traceID), "span_id": .string($0.spanID)] }),
                "errors": .array(errors.map(JSONValue.string)),
            ]
        }

        private static func json(_ attribute: SpanAttribute) -> JSONValue {
            switch attribute {
            case .int32(let value): .integer(Int64(value))
            case .int64(let value): .integer(value)
            case .double(let value): .number(value)
            case .bool(let value): .bool(value)
            case .string(let value): .string(value)
            case .int32Array(let values): .array(values.map { .integer(Int64($0)) })
            case .int64Array(let values): .array(values.map(JSONValue.integer))
            case .doubleArray(let values): .array(values.map(JSONValue.number))
            case .boolArray(let values): .array(values.map(JSONValue.bool))
            case .stringArray(let values): .array(values.map(JSONValue.string))
            case .stringConvertibleArray(let values): .array(values.map { .string($0.description) })
            case .stringConvertible(let value): .string(value.description)
            default: .string("\(attribute)")
            }
        }
    }
}

/// A span of ``TraceContextTracer``: recording until it ends, then handed to the tracer's sink once.
package final class TraceContextSpan: Span {
    private struct State {
        var name: String
        var attributes: SpanAttributes = [:]
        var status: SpanStatus?
        var links: [TraceParent] = []
        var errors: [String] = []
        var ended = false
    }

    package let context: ServiceContext
    private let kind: SpanKind
    private let parentSpanID: String?
    private let start: UInt64
    private let sink: @Sendable (TraceContextTracer.FinishedSpan) -> Void
    private let state: Mutex<State>

    init(
        name: String, kind: SpanKind, context: ServiceContext, parentSpanID: String?, start: UInt64,
        sink: @escaping @Sendable (TraceContextTracer.FinishedSpan) -> Void
    ) {
        self.context = context
        self.kind = kind
        self.parentSpanID = parentSpanID
        self.start = start
        self.sink = sink
        state = Mutex(State(name: name))
    }

    package var operationName: String {
        get { state.withLock { $0.name } }
        set { state.withLock { if !$0.ended { $0.name = newValue } } }
    }

    package var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set { state.withLock { if !$0.ended { $0.attributes = newValue } } }
    }

    package var isRecording: Bool { state.withLock { !$0.ended } }

    package func setStatus(_ status: SpanStatus) { state.withLock { if !$0.ended { $0.status = status } } }

    package func addEvent(_ event: SpanEvent) {}

    package func recordError<Instant: TracerInstant>(
        _ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant
    ) {
        state.withLock { if !$0.ended { $0.errors.append("\(error)") } }
    }

    package func addLink(_ link: SpanLink) {
        guard let parent = link.context.traceContext?.parent else { return }
        state.withLock { if !$0.ended { $0.links.append(parent) } }
    }

    package func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let ended = state.withLock { state -> State? in
            guard !state.ended else { return nil }
            state.ended = true
            return state
        }
        guard let ended, let identity = context.traceContext?.parent else { return }
        sink(
            TraceContextTracer.FinishedSpan(
                name: ended.name, kind: kind, traceID: identity.traceID, spanID: identity.spanID,
                parentSpanID: parentSpanID, start: start, end: instant().nanosecondsSinceEpoch,
                attributes: ended.attributes, status: ended.status, links: ended.links, errors: ended.errors))
    }
}

/// A span's W3C identity in a ``ServiceContext``, and the `tracestate` that came with it.
struct SpanTraceContext: Sendable {
    var parent: TraceParent
    var state: String?
}

private enum SpanTraceContextKey: ServiceContextKey {
    typealias Value = SpanTraceContext
}

extension ServiceContext {
    fileprivate(set) var traceContext: SpanTraceContext? {
        get { self[SpanTraceContextKey.self] }
        set { self[SpanTraceContextKey.self] = newValue }
    }
}
