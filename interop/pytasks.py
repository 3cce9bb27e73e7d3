"""The Python side of the interop harness: a real Celery 5.7 app.

Its worker consumes the queue `celery`; tasks named `<SWIFT_TASK_PREFIX>.*` (default `simul.*`) are routed to the
queue `simul`, which the Swift worker consumes. Broker and backend come from the environment (BROKER, BACKEND).
"""

import os
import time

import redis
from celery import Celery

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
