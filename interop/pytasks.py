"""The Python side of the interop harness: a real Celery 5.7 app.

Its worker consumes the queue `celery`; tasks named `<SWIFT_TASK_PREFIX>.*` (default `simul.*`) are routed to the
queue `simul`, which the Swift worker consumes. Broker and backend come from the environment (BROKER, BACKEND).
With INTEROP_TRACE_DIR set, each process of its worker traces with OpenTelemetry (`trace_to`).
"""

import json
import os
import time

import redis
from celery import Celery
from celery.signals import worker_process_init
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

SWIFT_PREFIX = os.environ.get("SWIFT_TASK_PREFIX", "simul")

app = Celery(
    "pytasks",
    broker=os.environ.get("BROKER", "redis://127.0.0.1:6379/0"),
    backend=os.environ.get("BACKEND", "redis://127.0.0.1:6379/1"),
)
app.conf.task_routes = {f"{SWIFT_PREFIX}.*": {"queue": "simul"}}
# The key-prefix scenario starts a worker of this app under kombu's global_keyprefix (INTEROP_KEY_PREFIX).
if os.environ.get("INTEROP_KEY_PREFIX"):
    prefixed = {"global_keyprefix": os.environ["INTEROP_KEY_PREFIX"]}
    app.conf.broker_transport_options = prefixed
    app.conf.result_backend_transport_options = prefixed


@app.task
def add(x, y):
    return x + y


@app.task(name=f"{SWIFT_PREFIX}.noop")
def swift_noop():
    """Runs on the Swift worker, never here: declared, as a team that moved a task to Swift keeps its declaration,
    so that Flower's task forms (rate limit, timeouts), which look the name up in this app, accept it."""
    raise NotImplementedError(f"{SWIFT_PREFIX}.noop runs on the Swift worker")


@app.task
def mul(x, y):
    return x * y


@app.task
def xsum(numbers):
    return sum(numbers)


@app.task
def fail(message):
    raise ValueError(message)


@app.task(bind=True)
def progress(self, gate):
    """Stores the custom state PROGRESS with {"current": 1, "total": 2}, then waits (30 s at most) until the key `gate`
    exists in the result backend, and returns "done"."""
    self.update_state(state="PROGRESS", meta={"current": 1, "total": 2})
    store = redis.Redis.from_url(app.conf.result_backend)
    deadline = time.monotonic() + 30
    while not store.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.05)
    return "done"


# ---------------------------------------------------------------------------------------------------------------
# Tracing: the OpenTelemetry SDK and opentelemetry-instrumentation-celery, spans written to files.

TRACE_DIR = os.environ.get("INTEROP_TRACE_DIR", "")


class JSONLinesExporter(SpanExporter):
    """Appends each span to a file as one JSON object a line, in the form `simul`'s SIMUL_TRACE_FILE writes: name,
    kind, trace_id, span_id, parent_span_id (null for a root), start_unix_nano, end_unix_nano and attributes."""

    def __init__(self, path):
        self.path = path

    def export(self, spans):
        with open(self.path, "a") as out:
            for span in spans:
                parent = span.parent
                out.write(json.dumps({
                    "name": span.name, "kind": span.kind.name.lower(), "trace_id": f"{span.context.trace_id:032x}",
                    "span_id": f"{span.context.span_id:016x}",
                    "parent_span_id": f"{parent.span_id:016x}" if parent else None,
                    "start_unix_nano": span.start_time, "end_unix_nano": span.end_time,
                    "attributes": dict(span.attributes or {}),
                }, default=str) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass


def trace_to(role):
    """Traces Celery in this process, as a Celery user does with opentelemetry-instrumentation-celery, exporting each
    span as it ends to <INTEROP_TRACE_DIR>/<role>-<pid>.jsonl. Returns the instrumentor (`uninstrument()` stops it)."""
    from opentelemetry import trace
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(
        JSONLinesExporter(os.path.join(TRACE_DIR, f"{role}-{os.getpid()}.jsonl"))))
    trace.set_tracer_provider(provider)
    instrumentor = CeleryInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    return instrumentor


@worker_process_init.connect(weak=False)
def trace_worker_process(**_):
    """Each prefork child of a worker instruments itself, as the instrumentation's documentation says to."""
    if TRACE_DIR:
        trace_to("python-worker")
