"""Interop scenarios: real Python Celery 5.7 and Flower 2.2 on one side, the Swift worker and client on the other.

Run by interop/run.py (from scripts/interop.sh), which starts Redis, the workers and Flower and sets the environment
below. Every scenario runs, each under its own time limit; one line per scenario, then `N passed, N failed, N skipped`.
Exit status: 0 if all passed, 1 if one failed, 2 if the setup was not ready.

Environment:
  BROKER, BACKEND        Redis URLs (db 0 and db 1 of the harness's Redis)
  SWIFT_TASK_PREFIX      name prefix of the Swift worker's tasks (default simul)
  SWIFT_NODE             the Swift worker's node name (default swift@<host name>)
  SWIFT_WORKER_PID       its process id, to tell a dead worker from a slow one
  SIMUL_BIN              the simul CLI for the Swift-client scenarios; empty: those are skipped
  FLOWER_URL             Flower's base URL; empty: the Flower scenario is skipped
  INTEROP_LOG_DIR        where the processes' logs are; a failure prints what they logged meanwhile
  INTEROP_TRACE_DIR      where the traced processes write their spans, one JSON lines file each (the Swift worker's
                         is swift-worker.jsonl)
  INTEROP_SCENARIOS      comma-separated scenario names to run (default: all)
  INTEROP_SKIP           comma-separated scenario names to skip
"""

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import redis
from celery import chain, chord, chunks, group
from celery.canvas import xmap, xstarmap
from celery.exceptions import TaskRevokedError
from celery.exceptions import TimeoutError as ResultTimeout
from celery.result import AsyncResult, GroupResult, result_from_tuple

import pytasks
from pytasks import SWIFT_PREFIX, add, app, mul, xsum

BROKER = os.environ["BROKER"]
BACKEND = os.environ["BACKEND"]
HOST = socket.gethostname()
SWIFT_NODE = os.environ.get("SWIFT_NODE") or f"swift@{HOST}"
PY_NODE = f"py@{HOST}"
SWIFT_PID = int(os.environ.get("SWIFT_WORKER_PID") or 0)
SIMUL_BIN = os.environ.get("SIMUL_BIN", "")
FLOWER_URL = os.environ.get("FLOWER_URL", "")
LOG_DIR = os.environ.get("INTEROP_LOG_DIR", "")
TRACE_DIR = os.environ.get("INTEROP_TRACE_DIR", "")
SWIFT_QUEUE = "simul"
SEP = "\x06\x16"
READY = ("SUCCESS", "FAILURE", "REVOKED")

broker = redis.Redis.from_url(BROKER, decode_responses=True)
backend = redis.Redis.from_url(BACKEND, decode_responses=True)


def swift(name, *args, **options):
    """A signature of the Swift worker's task `name` (routed to the queue `simul` by the app's task_routes)."""
    return app.signature(f"{SWIFT_PREFIX}.{name}", args=args, **options)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def swift_worker_alive():
    """False once the Swift worker's process has exited (a zombie counts as exited)."""
    if not SWIFT_PID:
        return True
    try:
        with open(f"/proc/{SWIFT_PID}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(description, timeout, probe, interval=0.2):
    """Calls `probe` until it returns something truthy, and returns that; raises TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{description}: not within {timeout} s")
        time.sleep(interval)


def wait_for_meta(task_id, timeout, send=None):
    """Subscribes to the task's result channel, calls `send`, reads the key, then waits for a ready state.

    Returns (the ready meta, every state published meanwhile, in order). Subscribing first misses nothing.
    """
    key = f"celery-task-meta-{task_id}"
    pubsub = backend.pubsub()
    try:
        pubsub.subscribe(key)
        confirmed = pubsub.get_message(timeout=5)
        expect(confirmed and confirmed["type"] == "subscribe", f"SUBSCRIBE {key} not confirmed: {confirmed}")
        if send:
            send()
        stored = backend.get(key)
        if stored and json.loads(stored)["status"] in READY:
            return json.loads(stored), []
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if message and message["type"] == "message":
                meta = json.loads(message["data"])
                seen.append(meta["status"])
                if meta["status"] in READY:
                    return meta, seen
            if not swift_worker_alive():
                raise AssertionError(f"the Swift worker exited; no result for {task_id}")
        raise AssertionError(f"no result for {task_id} within {timeout} s (states published: {seen or 'none'})")
    finally:
        pubsub.close()


def envelope(task, args, task_id, queue=SWIFT_QUEUE):
    """A protocol-2 task message as kombu stores it in Redis (celery-protocol.md, section 1)."""
    body = [args, {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    return {
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py", "task": task, "id": task_id, "shadow": None, "eta": None, "expires": None,
            "group": None, "group_index": None, "retries": 0, "timelimit": [None, None],
            "root_id": task_id, "parent_id": None, "argsrepr": repr(tuple(args)), "kwargsrepr": "{}",
            "origin": f"interop@{HOST}", "ignore_result": False,
        },
        "properties": {
            "correlation_id": task_id, "reply_to": "", "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0,
            "body_encoding": "base64", "delivery_tag": str(uuid.uuid4()),
        },
    }


def simul(*arguments, timeout=45, env=None):
    """Runs the simul CLI against the harness's Redis, with `env` added to the environment; returns the
    CompletedProcess."""
    command = [SIMUL_BIN, *arguments, "--broker", BROKER, "--backend", BACKEND]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


def stop_worker(worker, log):
    """Stops a worker a scenario started itself: SIGTERM, SIGKILL after 30 s, then closes its log."""
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    log.close()


def simul_output(process):
    return f"exit {process.returncode}, stdout {process.stdout.strip()!r}, stderr {process.stderr.strip()!r}"


def date_done(result):
    value = result.date_done
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value


def get(result, timeout):
    """AsyncResult.get, with a timeout that names the task, and that gives up at once if the Swift worker exits."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return result.get(timeout=min(1.0, max(0.1, deadline - time.monotonic())))
        except ResultTimeout:
            if not swift_worker_alive():
                raise AssertionError(f"the Swift worker exited; no result for {result.id}") from None
            if time.monotonic() >= deadline:
                raise AssertionError(f"no result for {result.id} within {timeout} s (state {result.state})") from None


def http_get(path):
    with urllib.request.urlopen(FLOWER_URL + path, timeout=5) as response:
        return response.read().decode()


def flower_get(path):
    return json.loads(http_get(path))


# ---------------------------------------------------------------------------------------------------------------
# The scenarios, in the order they run. Each returns a short detail for its `ok` line or raises.

SCENARIOS = []


def scenario(name, timeout, needs=()):
    """Registers a scenario. `needs`: "swift-worker", "swift-client" or "flower"."""

    def register(function):
        SCENARIOS.append((name, function.__doc__.strip(), timeout, set(needs), function))
        return function

    return register


@scenario("t1-python-client-swift-worker", 30, needs={"swift-worker"})
def t1():
    """T1 Python client -> Swift worker"""
    result = app.send_task(f"{SWIFT_PREFIX}.add", (2, 3))
    value = get(result, 20)
    expect(value == 5, f"{SWIFT_PREFIX}.add(2, 3) returned {value!r}, expected 5")
    return f"{SWIFT_PREFIX}.add(2, 3) = 5"


@scenario("t2-swift-failure", 30, needs={"swift-worker"})
def t2():
    """T2 failing Swift task seen by Python"""
    result = app.send_task(f"{SWIFT_PREFIX}.fail", ("boom",))
    try:
        value = get(result, 20)
    except ValueError as error:
        expect(error.args == ("boom",), f"the ValueError's args are {error.args!r}, expected ('boom',)")
    except AssertionError:
        raise
    except Exception as error:  # noqa: BLE001 - the exact type is what this scenario checks
        raise AssertionError(f"expected ValueError('boom'), got {type(error).__module__}.{error!r}") from None
    else:
        raise AssertionError(f"expected ValueError('boom'), the task returned {value!r}")
    expect(result.state == "FAILURE", f"state {result.state}, expected FAILURE")
    expect(bool(result.traceback and result.traceback.strip()), f"empty traceback {result.traceback!r}")
    return f"ValueError('boom'), state FAILURE, traceback of {len(result.traceback.splitlines())} lines"


@scenario("t3-chain-swift-python-swift", 45, needs={"swift-worker"})
def t3():
    """T3 chain Swift -> Python -> Swift"""
    result = chain(swift("add", 1, 2), mul.s(10), swift("add", 5)).apply_async()
    value = get(result, 30)
    expect(value == 35, f"the chain returned {value!r}, expected 35")
    middle = get(result.parent, 5)
    first = get(result.parent.parent, 5)
    expect((first, middle) == (3, 30), f"the parents returned {first!r} and {middle!r}, expected 3 and 30")
    return "add(1, 2) | pytasks.mul(10) | add(5) = 35, parents 30 and 3"


@scenario("t4-swift-retries", 45, needs={"swift-worker"})
def t4():
    """T4 retries by the Swift worker"""
    task_id = str(uuid.uuid4())

    def send():
        app.send_task(f"{SWIFT_PREFIX}.flaky", (2,), task_id=task_id)

    final, states = wait_for_meta(task_id, 30, send=send)
    expect(final["status"] == "SUCCESS" and final["result"] == 2, f"final result {final}, expected SUCCESS 2")
    expect(states.count("RETRY") == 2, f"published states {states}, expected two RETRY before SUCCESS")
    return f"flaky(2) = 2 after states {', '.join(states)}"


@scenario("t5-swift-countdown", 30, needs={"swift-worker"})
def t5():
    """T5 countdown held by the Swift worker"""
    sent = datetime.now(timezone.utc)
    result = app.send_task(f"{SWIFT_PREFIX}.add", (1, 1), countdown=2)
    value = get(result, 20)
    expect(value == 2, f"add(1, 1) returned {value!r}")
    done = date_done(result)
    expect(done is not None and done - sent >= timedelta(seconds=2),
           f"date_done {done} is less than 2 s after the send at {sent}")
    return f"date_done {(done - sent).total_seconds():.2f} s after the send (countdown 2 s)"


@scenario("t6-chord-swift-header-python-body", 45, needs={"swift-worker"})
def t6():
    """T6 chord: Swift header, Python body"""
    result = chord([swift("add", i, i) for i in (1, 2, 3)], xsum.s()).apply_async()
    value = get(result, 30)
    expect(value == 12, f"the chord returned {value!r}, expected 12")
    return f"xsum([{SWIFT_PREFIX}.add(i, i) for i in 1...3]) = 12"


@scenario("t7-chord-python-header-swift-body", 45, needs={"swift-worker"})
def t7():
    """T7 chord: Python header, Swift body"""
    result = chord([add.s(i, i) for i in (1, 2, 3)], swift("xsum")).apply_async()
    value = get(result, 30)
    expect(value == 12, f"the chord returned {value!r}, expected 12")
    return f"{SWIFT_PREFIX}.xsum([pytasks.add(i, i) for i in 1...3]) = 12"


@scenario("t8-group-python-and-swift", 30, needs={"swift-worker"})
def t8():
    """T8 group across both workers"""
    result = group(add.s(1, 1), swift("add", 2, 2)).apply_async()
    value = get(result, 20)
    expect(value == [2, 4], f"the group returned {value!r}, expected [2, 4]")
    return f"group(pytasks.add(1, 1), {SWIFT_PREFIX}.add(2, 2)) = [2, 4]"


@scenario("t9-remote-control", 30, needs={"swift-worker"})
def t9():
    """T9 ping, stats and registered answered by the Swift worker"""
    replies = app.control.ping(destination=[SWIFT_NODE], timeout=3)
    expect(replies == [{SWIFT_NODE: {"ok": "pong"}}], f"ping replies {replies}, expected one pong from {SWIFT_NODE}")
    inspect = app.control.inspect([SWIFT_NODE], timeout=3)
    stats = (inspect.stats() or {}).get(SWIFT_NODE)
    expect(bool(stats), f"inspect stats: no reply from {SWIFT_NODE}")
    registered = (inspect.registered() or {}).get(SWIFT_NODE) or []
    expect(any(name.split()[0] == f"{SWIFT_PREFIX}.add" for name in registered),
           f"inspect registered: {registered}, expected {SWIFT_PREFIX}.add among them")
    return f"pong from {SWIFT_NODE}, stats with {len(stats)} keys, {len(registered)} registered tasks"


@scenario("t10-link-python-callback", 30, needs={"swift-worker"})
def t10():
    """T10 Python link callback after a Swift task"""
    callback = mul.s(10)
    callback_id = callback.freeze().id
    result = swift("add", 2, 2).set(link=callback).apply_async()
    value = get(result, 20)
    expect(value == 4, f"add(2, 2) returned {value!r}")
    called = get(AsyncResult(callback_id, app=app), 20)
    expect(called == 40, f"the callback returned {called!r}, expected 40")
    return f"{SWIFT_PREFIX}.add(2, 2) linked to pytasks.mul(10): callback = 40"


@scenario("t11-exact-integers", 45, needs={"swift-worker"})
def t11():
    """T11 integers exact up to 2^63 - 1, then OverflowError"""
    outside = "is outside the 64-bit integers (-9223372036854775808 to 9223372036854775807)"
    for args, expected in (((2**53 + 1, 0), 2**53 + 1), ((2**63 - 2, 1), 2**63 - 1), ((-(2**63) + 1, -1), -(2**63)),
                           ((1, 0.5), 1.5)):
        value = get(app.send_task(f"{SWIFT_PREFIX}.add", args), 20)
        expect(type(value) is type(expected) and value == expected,
               f"add{args} returned {value!r}, expected {expected!r} (as Python's + gives)")
    for args, message in (((2**63 - 1, 1), f"{2**63 - 1} + 1 {outside}"), ((2**70, 1), f"{2**70} {outside}")):
        result = app.send_task(f"{SWIFT_PREFIX}.add", args)
        try:
            value = get(result, 20)
        except OverflowError as error:
            expected = f"{SWIFT_PREFIX}.add(): {message}"
            expect(error.args == (expected,), f"the OverflowError's args are {error.args!r}, expected ({expected!r},)")
        except AssertionError:
            raise
        except Exception as error:  # noqa: BLE001 - the exact type is what this scenario checks
            raise AssertionError(f"add{args}: expected OverflowError, got {type(error).__module__}.{error!r}") from None
        else:
            raise AssertionError(f"add{args}: expected OverflowError, the task returned {value!r}")
    return f"add(2**53 + 1, 0) = {2**53 + 1}, add(2**63 - 2, 1) = 2**63 - 1; 2**63 - 1 + 1 and 2**70 + 1: OverflowError"


@scenario("c1-swift-client-python-worker", 60, needs={"swift-client"})
def c1():
    """Swift client -> Python worker"""
    process = simul("send", "pytasks.add", "--args", "[2, 3]", "-Q", "celery", "--wait", "--timeout", "30")
    lines = process.stdout.strip().splitlines()
    expect(process.returncode == 0 and len(lines) >= 2, simul_output(process))
    task_id, value = lines[0].strip(), lines[-1].strip()
    expect(value == "5", f"printed {value!r}, expected 5 ({simul_output(process)})")
    stored = AsyncResult(task_id, app=app)
    expect(stored.state == "SUCCESS" and stored.result == 5, f"the backend holds {stored.state} {stored.result!r}")
    return "simul send pytasks.add [2, 3] --wait printed 5"


@scenario("c2-swift-client-chain", 60, needs={"swift-client", "swift-worker"})
def c2():
    """Swift client chain Python -> Swift -> Python"""
    process = simul("chain", "pytasks.add:[1,2]", f"{SWIFT_PREFIX}.mul:[10]", "pytasks.add:[5]",
                    "--wait", "--timeout", "30",
                    "--route", "pytasks.*=celery", "--route", f"{SWIFT_PREFIX}.*={SWIFT_QUEUE}")
    lines = process.stdout.strip().splitlines()
    expect(process.returncode == 0 and lines and lines[-1].strip() == "35",
           f"expected 35 on the last line: {simul_output(process)}")
    return "simul chain pytasks.add:[1,2] | mul:[10] | pytasks.add:[5] printed 35"


@scenario("c3-swift-client-countdown-priority", 60, needs={"swift-client"})
def c3():
    """Swift client countdown + priority"""
    # The wire: a message for an unconsumed queue lands in kombu's priority list with its eta.
    probe = f"interop-probe-{uuid.uuid4().hex[:8]}"
    process = simul("send", "pytasks.add", "--args", "[1, 2]", "-Q", probe, "--countdown", "1", "--priority", "3")
    expect(process.returncode == 0, simul_output(process))
    try:
        raw = broker.lrange(f"{probe}{SEP}3", 0, -1)
        expect(len(raw) == 1, f"{len(raw)} messages in the list {probe}\\x06\\x163 (expected 1), "
               f"{broker.llen(probe)} in {probe}")
        message = json.loads(raw[0])
        properties, headers = message["properties"], message["headers"]
        expect(properties.get("priority") == 3, f"properties.priority is {properties.get('priority')!r}")
        expect(properties.get("delivery_info", {}).get("routing_key") == probe,
               f"delivery_info {properties.get('delivery_info')!r}")
        expect(bool(headers.get("eta")), f"headers.eta is {headers.get('eta')!r}")
    finally:
        broker.delete(probe, f"{probe}{SEP}3", f"_kombu.binding.{probe}", f"_kombu.binding_permanent.{probe}")
    # The behaviour: the Python worker holds it, then runs it.
    sent = datetime.now(timezone.utc)
    process = simul("send", "pytasks.add", "--args", "[1, 2]", "-Q", "celery", "--countdown", "1", "--priority", "3",
                    "--wait", "--timeout", "30")
    lines = process.stdout.strip().splitlines()
    expect(process.returncode == 0 and lines and lines[-1].strip() == "3", simul_output(process))
    done = date_done(AsyncResult(lines[0].strip(), app=app))
    expect(done is not None and done - sent >= timedelta(seconds=1), f"date_done {done}, sent at {sent}")
    return f"priority list \\x06\\x163 with an eta; ran {(done - sent).total_seconds():.2f} s after the send"


@scenario("c4-swift-client-python-failure", 60, needs={"swift-client"})
def c4():
    """Swift client sees a Python failure"""
    process = simul("send", "pytasks.fail", "--args", '["boom"]', "-Q", "celery", "--wait", "--timeout", "30")
    expect(process.returncode != 0, f"expected a non-zero exit: {simul_output(process)}")
    expect("Error: ValueError: boom" in process.stderr.splitlines(),
           f"expected the line 'Error: ValueError: boom' on stderr: {simul_output(process)}")
    return f"exit {process.returncode}, stderr 'Error: ValueError: boom'"


@scenario("c4b-typed-tasks", 60, needs={"swift-client", "swift-worker"})
def c4b():
    """Typed tasks: Python's positional and keyword calls of a typed Swift task, and Swift's typed get"""
    name = f"{SWIFT_PREFIX}.divmod"
    calls = {"positional": ((17, 5), {}), "keyword": ((), {"divisor": 5, "dividend": 17}),
             "mixed": ((17,), {"divisor": 5})}
    for form, (args, kwargs) in calls.items():
        value = get(app.send_task(name, args=args, kwargs=kwargs), 20)
        expect(value == {"quotient": 3, "remainder": 2}, f"{form} {name}{args} {kwargs} returned {value!r}")
    try:
        value = get(app.send_task(name, kwargs={"dividend": 17, "divisor": 5, "colour": "red"}), 20)
    except TypeError as error:
        expected = f"{name}() got an unexpected keyword argument 'colour'"
        expect(error.args == (expected,), f"the TypeError's args are {error.args!r}, expected ({expected!r},)")
    else:
        raise AssertionError(f"expected TypeError for the keyword 'colour', the task returned {value!r}")
    client = os.path.join(os.path.dirname(SIMUL_BIN), "SimulInteropClient")
    expect(os.access(client, os.X_OK), f"no {client}: build it with 'swift build --product SimulInteropClient'")
    process = subprocess.run([client, BROKER, BACKEND], capture_output=True, text=True, timeout=50)
    lines = process.stdout.strip().splitlines()
    expect(process.returncode == 0 and len(lines) == 2, f"SimulInteropClient: exit {process.returncode}, "
           f"stdout {process.stdout.strip()!r}, stderr {process.stderr.strip()!r}")
    expect(lines[0] == "divmod quotient=3 remainder=2", f"Swift's typed divmod printed {lines[0]!r}")
    expect(lines[1].startswith("fail ValueError: boom (module builtins, traceback of ")
           and not lines[1].endswith("of 0 lines)"), f"Swift's typed get of pytasks.fail printed {lines[1]!r}")
    return f"positional, keyword and mixed = (3, 2), TypeError for 'colour'; Swift: {lines[0]!r}, {lines[1]!r}"


@scenario("s1-progress-swift-task-python-client", 45, needs={"swift-worker"})
def s1():
    """S1 a Swift task's PROGRESS read by Python's AsyncResult.state and .info"""
    result = app.send_task(f"{SWIFT_PREFIX}.progress", (3, 1.0))

    def progress():
        state, info = result.state, result.info  # not ready: each read goes to the backend again
        return (state, info) if state == "PROGRESS" and isinstance(info, dict) else None

    state, info = wait_until(f"{result.id} in state PROGRESS", 20, progress, interval=0.05)
    expect(info.get("total") == 3 and info.get("current") in (1, 2, 3), f"info {info!r}, expected current of total 3")
    value = get(result, 20)
    expect(value == 3 and result.state == "SUCCESS", f"then {result.state} {value!r}, expected SUCCESS 3")
    return f"state {state}, info {info}, then SUCCESS 3"


@scenario("s2-progress-python-task-simul-client", 60, needs={"swift-client"})
def s2():
    """S2 a Python task's update_state(PROGRESS) read by simul result"""
    gate = f"interop-gate-{uuid.uuid4()}"
    result = app.send_task("pytasks.progress", (gate,))

    def progress_line():
        line = simul("result", result.id).stdout.strip()
        return line if line.startswith("PROGRESS ") else None

    try:
        line = wait_until("simul result printing PROGRESS", 30, progress_line, interval=0.3)
        meta = json.loads(line.split(" ", 1)[1])
        expect(meta == {"current": 1, "total": 2}, f"simul result printed {line!r}, expected the meta current 1 of 2")
        stored = simul("result", result.id, "--json")
        expect(json.loads(stored.stdout)["status"] == "PROGRESS", f"simul result --json: {simul_output(stored)}")
    finally:
        backend.set(gate, "1", ex=60)
    done = simul("result", result.id, "--wait", "--timeout", "20")
    expect(done.returncode == 0 and done.stdout.strip() == 'SUCCESS "done"',
           f"after the gate: {simul_output(done)}, expected SUCCESS \"done\"")
    return f"simul result printed {line!r}, then SUCCESS"


@scenario("s3-chord-body-chain", 45, needs={"swift-worker"})
def s3():
    """S3 chord of Swift tasks whose body is a chain (Python, then Swift)"""
    body = chain(xsum.s(), swift("mul", 10))
    result = chord([swift("add", i, i) for i in (1, 2, 3)], body).apply_async()
    value = get(result, 30)
    expect(value == 120, f"the chord returned {value!r}, expected (2 + 4 + 6) * 10 = 120")
    return f"chord([{SWIFT_PREFIX}.add(i, i) for i in 1...3], pytasks.xsum | {SWIFT_PREFIX}.mul(10)) = 120"


@scenario("s4-chain-holding-group", 45, needs={"swift-worker"})
def s4():
    """S4 chains holding a group: in the middle (a chord) and at the end"""
    middle = chain(swift("add", 1, 1), group(swift("mul", 2), mul.s(3)), xsum.s()).apply_async()
    value = get(middle, 30)
    expect(value == 10, f"add(1, 1) | group(mul(2), pytasks.mul(3)) | pytasks.xsum returned {value!r}, expected 10")
    end = chain(swift("add", 2, 2), group(swift("mul", 2), mul.s(3))).apply_async()
    values = end.get(timeout=30)
    expect(values == [8, 12], f"add(2, 2) | group(mul(2), pytasks.mul(3)) returned {values!r}, expected [8, 12]")
    return "... | group(...) | xsum = 10; ... | group(...) = [8, 12]"


@scenario("s4b-group-holding-chain", 45, needs={"swift-worker"})
def s4b():
    """S4b a group holding a chain across both workers"""
    result = group(chain(swift("add", 1, 1), mul.s(10)), swift("add", 5, 5)).apply_async()
    values = result.get(timeout=30)
    expect(values == [20, 10], f"group(add(1, 1) | pytasks.mul(10), add(5, 5)) returned {values!r}, expected [20, 10]")
    return f"group({SWIFT_PREFIX}.add(1, 1) | pytasks.mul(10), {SWIFT_PREFIX}.add(5, 5)) = [20, 10]"

@scenario("s4c-group-in-a-chord-header", 45, needs={"swift-worker"})
def s4c():
    """S4c a chord whose header holds a group, as a Swift task's callback: unrolled by Swift in Celery's order"""
    # A Python worker would apply this callback with Celery's own chord: its header [group(mul(2), mul(3)), mul(4)]
    # flattens as _freeze_unroll does, to [mul(3), mul(2), mul(4)], each with the parent's result first.
    body_id = str(uuid.uuid4())
    body = app.signature("celery.accumulate", kwargs={"index": 0}, options={"task_id": body_id})
    callback = chord([group(swift("mul", 2), swift("mul", 3)), swift("mul", 4)], body)
    swift("add", 1, 1).apply_async(link=callback)
    values = get(AsyncResult(body_id, app=app), 30)
    expect(values == [6, 4, 8], f"the chord's body (celery.accumulate) got {values!r}, expected Celery's [6, 4, 8]")
    return f"add(1, 1) linked to chord([group(mul(2), mul(3)), mul(4)], celery.accumulate) = {values}"


@scenario("s5-chunks-map-starmap", 45, needs={"swift-worker"})
def s5():
    """S5 chunks, map and starmap of a Swift task, run by the Swift worker's celery.* built-ins"""
    # Celery routes a chunks group by celery.starmap, not by the task inside: name the queue.
    chunked = chunks(swift("add"), list(zip(range(4), range(4))), 2).apply_async(queue=SWIFT_QUEUE)
    values = chunked.get(timeout=30)
    expect(values == [[0, 2], [4, 6]], f"chunks returned {values!r}, expected [[0, 2], [4, 6]]")
    meta = json.loads(backend.get(f"celery-task-meta-{chunked.results[0].id}"))
    expect(meta.get("worker") == SWIFT_NODE, f"the first celery.starmap ran on {meta.get('worker')!r}")
    starred = get(xstarmap(swift("add"), [(1, 1), (2, 2)]).apply_async(), 30)
    expect(starred == [2, 4], f"starmap returned {starred!r}, expected [2, 4]")
    mapped = get(xmap(swift("xsum"), [[1, 2], [3]]).apply_async(), 30)
    expect(mapped == [3, 3], f"map returned {mapped!r}, expected [3, 3]")
    by_name = app.send_task("celery.chunks", kwargs={"task": dict(swift("add")), "it": [[1, 1], [2, 2], [3, 3]], "n": 2},
                            queue=SWIFT_QUEUE)
    group_values = result_from_tuple(get(by_name, 30), app).get(timeout=30)
    expect(group_values == [[2, 4], [6]], f"celery.chunks by name gave {group_values!r}, expected [[2, 4], [6]]")
    return "chunks = [[0, 2], [4, 6]], starmap = [2, 4], map = [3, 3], celery.chunks by name = [[2, 4], [6]]"


@scenario("s6-group-save-restore", 60, needs={"swift-client", "swift-worker"})
def s6():
    """S6 GroupResult saved in Python restored by simul, and saved by simul restored in Python"""
    saved = group(swift("add", 1, 1), add.s(2, 2)).apply_async()
    expect(saved.get(timeout=30) == [2, 4], "the Python group did not return [2, 4]")
    saved.save()
    restored = simul("group", "--restore", saved.id, "--wait", "--timeout", "20")
    lines = restored.stdout.split()
    expect(restored.returncode == 0 and lines[:1] == [saved.id] and json.loads(lines[1]) == [2, 4],
           f"simul group --restore: {simul_output(restored)}")
    sent = simul("group", f"{SWIFT_PREFIX}.add:[3, 3]", "pytasks.add:[4, 4]", "--save", "--wait", "--timeout", "30",
                 "--route", "pytasks.*=celery", "--route", f"{SWIFT_PREFIX}.*=simul")
    lines = sent.stdout.split()
    expect(sent.returncode == 0 and len(lines) == 2, f"simul group --save: {simul_output(sent)}")
    group_id = lines[0]
    expect(backend.exists(f"celery-taskset-meta-{group_id}") == 1, f"no celery-taskset-meta-{group_id} in Redis")
    from_swift = GroupResult.restore(group_id, app=app)
    expect(from_swift is not None and len(from_swift.results) == 2, f"GroupResult.restore gave {from_swift!r}")
    values = from_swift.get(timeout=10)
    expect(values == [6, 8] and from_swift.completed_count() == 2, f"the restored group gave {values!r}")
    return f"Python -> simul [2, 4]; simul -> Python {values}, completed_count 2"


@scenario("key-prefix", 90, needs={"swift-client"})
def key_prefix():
    """Celery and Simul share a Redis under kombu's global_keyprefix, both ways, every key of theirs prefixed"""
    from celery import Celery

    prefix = "interop-app1:"
    queue = f"prefixed-{uuid.uuid4().hex[:8]}"

    def prefixed(url):
        return url + ("&" if "?" in url else "?") + f"global_keyprefix={prefix}"

    logs = LOG_DIR or tempfile.gettempdir()
    swift_log = open(os.path.join(logs, "prefixed-swift-worker.log"), "w")
    python_log = open(os.path.join(logs, "prefixed-python-worker.log"), "w")
    swift_worker = subprocess.Popen(
        [SIMUL_BIN, "worker", "--broker", prefixed(BROKER), "--backend", prefixed(BACKEND), "-Q", queue,
         "-n", "prefixed-swift@%h", "-c", "2"], stdout=swift_log, stderr=subprocess.STDOUT)
    python_worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "pytasks", "worker", "-Q", f"{queue}-py", "-c", "1", "-P", "solo",
         "-n", "prefixed-py@%h", "--without-mingle", "--without-gossip"],
        stdout=python_log, stderr=subprocess.STDOUT, env={**os.environ, "INTEROP_KEY_PREFIX": prefix},
        cwd=os.path.dirname(os.path.abspath(__file__)))
    try:
        client = Celery("prefixed", broker=BROKER, backend=BACKEND)
        client.conf.broker_transport_options = {"global_keyprefix": prefix}
        client.conf.result_backend_transport_options = {"global_keyprefix": prefix}
        sent = client.send_task(f"{SWIFT_PREFIX}.add", (40, 2), queue=queue)
        expect(sent.get(timeout=30) == 42, "a prefixed Python client did not get 42 from the prefixed Swift worker")
        back = subprocess.run(
            [SIMUL_BIN, "send", "pytasks.add", "--args", "[2, 3]", "-Q", f"{queue}-py", "--broker", prefixed(BROKER),
             "--backend", prefixed(BACKEND), "--wait", "--timeout", "30"], capture_output=True, text=True, timeout=45)
        expect(back.returncode == 0 and back.stdout.strip().splitlines()[-1:] == ["5"],
               f"simul send to the prefixed Python worker: {simul_output(back)}")
        ours = [key for key in broker.keys(f"*{queue}*") if not key.startswith(prefix)]
        expect(not ours, f"keys of the prefixed queue without the prefix: {ours}")
        expect(broker.exists(f"{prefix}_kombu.binding.{queue}"), "no prefixed binding for the queue")
        results = [key for key in backend.keys(f"*{sent.id}*")]
        expect(results and all(key.startswith(prefix) for key in results), f"the result's keys: {results}")
    finally:
        for process in (swift_worker, python_worker):
            process.terminate()
        for process in (swift_worker, python_worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        swift_log.close()
        python_log.close()
    return f"Python client to a Swift worker (42) and simul send to a Python worker (5), all under '{prefix}'"


@scenario("flower-monitoring", 45, needs={"swift-worker", "flower"})
def flower():
    """Flower shows the Swift worker and its task"""

    def swift_worker_online():
        workers = flower_get("/workers?json=1")["data"]
        return next((w for w in workers if w.get("hostname") == SWIFT_NODE and w.get("status") is True), None)

    worker = wait_until(f"{SWIFT_NODE} online in Flower's /workers", 15, swift_worker_online, interval=0.5)
    result = app.send_task(f"{SWIFT_PREFIX}.fail", ("flower",))
    try:
        get(result, 20)
    except ValueError:
        pass

    def task_in_flower():
        task = flower_get("/api/tasks").get(result.id)
        return task if task and task.get("state") == "FAILURE" else None

    task = wait_until(f"task {result.id} FAILURE in Flower's /api/tasks", 15, task_in_flower, interval=0.5)
    expect(task.get("worker") == SWIFT_NODE, f"Flower says the task ran on {task.get('worker')!r}")
    expect(task.get("name") == f"{SWIFT_PREFIX}.fail", f"Flower names the task {task.get('name')!r}")
    return (f"{SWIFT_NODE} online ({worker.get('sw_ident')} {worker.get('sw_ver')}); "
            f"/api/tasks: {task['name']} FAILURE {task.get('exception')}")


@scenario("expiry", 30, needs={"swift-worker"})
def expiry():
    """An expired task is revoked by the Swift worker, not run"""
    result = app.send_task(f"{SWIFT_PREFIX}.add", (1, 2), expires=datetime.now(timezone.utc) - timedelta(seconds=5))
    try:
        value = get(result, 20)
    except TaskRevokedError:
        pass
    else:
        raise AssertionError(f"the expired task ran and returned {value!r}, expected REVOKED")
    expect(result.state == "REVOKED", f"state {result.state}, expected REVOKED")
    return "state REVOKED (TaskRevokedError)"


@scenario("crash-recovery", 60, needs={"swift-worker"})
def crash_recovery():
    """A message left unacked by a dead worker is restored and run"""
    task_id = str(uuid.uuid4())
    message = envelope(f"{SWIFT_PREFIX}.add", [20, 22], task_id)
    tag = message["properties"]["delivery_tag"]
    # What kombu leaves behind when a worker dies holding a message, received 120 s ago (section 2.4).
    with broker.pipeline() as pipe:
        pipe.zadd("unacked_index", {tag: time.time() - 120})
        pipe.hset("unacked", tag, json.dumps([message, "", SWIFT_QUEUE]))
        pipe.execute()
    try:
        meta, _ = wait_for_meta(task_id, 45)
        expect(meta["status"] == "SUCCESS" and meta["result"] == 42, f"result {meta}, expected SUCCESS 42")
        # The ack may follow the stored result (Simul acks after storing it).
        wait_until(f"delivery tag {tag} acked (gone from unacked)", 10, lambda: not broker.hexists("unacked", tag))
    finally:
        broker.zrem("unacked_index", tag)
        broker.hdel("unacked", tag)
    return f"restored from unacked and run: {SWIFT_PREFIX}.add(20, 22) = 42"


@scenario("malformed-input", 45, needs={"swift-worker"})
def malformed_input():
    """Malformed messages do not stop the Swift worker"""
    no_delivery_info = envelope(f"{SWIFT_PREFIX}.add", [1, 1], str(uuid.uuid4()))
    del no_delivery_info["properties"]["delivery_info"]
    broker.lpush(SWIFT_QUEUE, "{this is not JSON")
    broker.lpush(SWIFT_QUEUE, json.dumps(no_delivery_info))
    result = app.send_task(f"{SWIFT_PREFIX}.add", (3, 4))  # behind them: BRPOP takes the oldest first
    value = get(result, 20)
    expect(value == 7, f"the good task returned {value!r}, expected 7")
    expect(swift_worker_alive(), "the Swift worker exited")
    replies = app.control.ping(destination=[SWIFT_NODE], timeout=3)
    expect(replies == [{SWIFT_NODE: {"ok": "pong"}}], f"no pong from {SWIFT_NODE} afterwards: {replies}")
    return "after invalid JSON and a message without delivery_info: add(3, 4) = 7, the worker still answers ping"


@scenario("control-inspect", 45, needs={"swift-worker"})
def control_inspect():
    """Every inspect command of Celery 5, asked of the Swift worker by app.control.inspect"""
    inspect = app.control.inspect(destination=[SWIFT_NODE], timeout=3)

    def one(method, *args, **kwargs):
        replies = getattr(inspect, method)(*args, **kwargs) or {}
        expect(list(replies) == [SWIFT_NODE], f"inspect {method}: replies from {list(replies)}, expected {SWIFT_NODE}")
        reply = replies[SWIFT_NODE]
        expect(not (isinstance(reply, dict) and "error" in reply), f"inspect {method}: {reply}")
        return reply

    stats = one("stats")
    for key in ("broker", "total"):  # Flower's worker page fails without these two objects
        expect(isinstance(stats.get(key), dict), f"stats.{key} is {stats.get(key)!r}, expected an object")
    expect(isinstance(stats.get("clock"), str) and stats["pool"]["max-concurrency"] >= 1, f"stats: {stats}")
    expect(isinstance(one("active", safe=True), list), "active is not a list")
    expect(isinstance(one("reserved"), list), "reserved is not a list")
    expect(isinstance(one("scheduled"), list), "scheduled is not a list")
    expect(isinstance(one("revoked"), list), "revoked is not a list")
    registered = one("registered")
    expect(any(name.split()[0] == f"{SWIFT_PREFIX}.add" for name in registered), f"registered: {registered}")
    expect(one("query_task", str(uuid.uuid4())) == {}, "query_task of an unknown id is not {}")
    expect(isinstance(one("conf"), dict), "conf is not an object")
    expect("software -> simul:" in one("report")["ok"], "report does not name the software")
    queues = one("active_queues")
    expect(SWIFT_QUEUE in [queue["name"] for queue in queues], f"active_queues: {queues}")
    expect(isinstance(one("clock")["clock"], int), "clock is not a number")
    return f"stats, active, reserved, scheduled, revoked, registered, query_task, conf, report, active_queues, clock"


@scenario("control-commands", 45, needs={"swift-worker"})
def control_commands():
    """rate_limit, time_limit, pool_grow/shrink, autoscale, consumers, events and revoke from app.control"""
    control = app.control
    to = {"destination": [SWIFT_NODE], "reply": True, "timeout": 3}

    def reply(replies, what):
        expect(len(replies) == 1 and SWIFT_NODE in replies[0], f"{what}: replies {replies}")
        return replies[0][SWIFT_NODE]

    ok = reply(control.rate_limit(f"{SWIFT_PREFIX}.add", "100/m", **to), "rate_limit")
    expect(ok == {"ok": "new rate limit set successfully"}, f"rate_limit: {ok}")
    registered = app.control.inspect([SWIFT_NODE], timeout=3).registered()[SWIFT_NODE]
    expect(f"{SWIFT_PREFIX}.add [rate_limit=100/m]" in registered, f"registered after rate_limit: {registered}")
    off = reply(control.rate_limit(f"{SWIFT_PREFIX}.add", 0, **to), "rate_limit 0")
    expect(off == {"ok": "rate limit disabled successfully"}, f"rate_limit 0: {off}")
    unknown = reply(control.rate_limit("no.such.task", "1/s", **to), "rate_limit unknown")
    expect(unknown == {"error": "unknown task"}, f"rate_limit of an unknown task: {unknown}")
    limits = reply(control.time_limit(f"{SWIFT_PREFIX}.add", soft=60, hard=120, **to), "time_limit")
    expect(limits == {"ok": "time limits set successfully"}, f"time_limit: {limits}")
    reply(control.time_limit(f"{SWIFT_PREFIX}.add", soft=None, hard=None, **to), "time_limit cleared")

    before = app.control.inspect([SWIFT_NODE], timeout=3).stats()[SWIFT_NODE]["pool"]["max-concurrency"]
    grown = reply(control.pool_grow(1, **to), "pool_grow")
    expect(grown == {"ok": "pool will grow"}, f"pool_grow: {grown}")
    after = app.control.inspect([SWIFT_NODE], timeout=3).stats()[SWIFT_NODE]["pool"]["max-concurrency"]
    expect(after == before + 1, f"max-concurrency {before} then {after}")
    shrunk = reply(control.pool_shrink(1, **to), "pool_shrink")
    expect(shrunk == {"ok": "pool will shrink"}, f"pool_shrink: {shrunk}")
    autoscale = reply(control.autoscale(4, 1, **to), "autoscale")
    expect("error" in autoscale, f"autoscale: {autoscale}")

    extra = f"interop-extra-{uuid.uuid4().hex[:8]}"
    added = reply(control.add_consumer(extra, **to), "add_consumer")
    expect(added == {"ok": f"add consumer {extra}"}, f"add_consumer: {added}")
    routed = app.send_task(f"{SWIFT_PREFIX}.add", (40, 2), queue=extra)
    expect(get(routed, 20) == 42, "the task sent to the added queue did not run")
    cancelled = reply(control.cancel_consumer(extra, **to), "cancel_consumer")
    expect(cancelled == {"ok": f"no longer consuming from {extra}"}, f"cancel_consumer: {cancelled}")

    expect("ok" in reply(control.disable_events(**to), "disable_events"), "disable_events")
    expect("ok" in reply(control.enable_events(**to), "enable_events"), "enable_events")
    task_id = str(uuid.uuid4())
    revoked = reply(control.revoke(task_id, **to), "revoke")
    expect(revoked == {"ok": f"tasks {{'{task_id}'}} flagged as revoked"}, f"revoke: {revoked}")
    terminated = reply(control.revoke(task_id, terminate=True, signal="SIGKILL", **to), "revoke terminate")
    expect(terminated == {"ok": "terminate: tasks unknown"}, f"revoke terminate: {terminated}")
    listed = app.control.inspect([SWIFT_NODE], timeout=3).revoked()[SWIFT_NODE]
    expect(task_id in listed, f"inspect revoked does not list {task_id}")
    return "rate_limit, time_limit, pool_grow/shrink, autoscale (error), add/cancel_consumer, events, revoke"


@scenario("flower-control", 75, needs={"swift-worker", "swift-client", "flower"})
def flower_control():
    """Flower's worker and task buttons (pool, consumers, revoke, rate limit, timeouts, shutdown) on Swift workers"""
    import urllib.error

    def post(path):
        request = urllib.request.Request(FLOWER_URL + path, data=b"", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    # Flower's control endpoints need the worker in its inspector's cache, which a refresh fills.
    wait_until(f"{SWIFT_NODE} in Flower's /api/workers", 15,
               lambda: SWIFT_NODE in flower_get("/api/workers?refresh=1"), interval=0.5)
    checks = [
        (f"/api/worker/pool/grow/{SWIFT_NODE}?n=1", 200, f"Growing '{SWIFT_NODE}' worker's pool by 1"),
        (f"/api/worker/pool/shrink/{SWIFT_NODE}?n=1", 200, f"Shrinking '{SWIFT_NODE}' worker's pool by 1"),
        (f"/api/worker/pool/autoscale/{SWIFT_NODE}?min=1&max=3", 403, "Autoscale not enabled"),
        (f"/api/worker/queue/add-consumer/{SWIFT_NODE}?queue=flower-extra", 200, "add consumer flower-extra"),
        (f"/api/worker/queue/cancel-consumer/{SWIFT_NODE}?queue=flower-extra", 200,
         "no longer consuming from flower-extra"),
        (f"/api/task/revoke/{uuid.uuid4()}?terminate=true&signal=SIGTERM", 200, "Revoked"),
        (f"/api/task/rate-limit/{SWIFT_PREFIX}.noop?workername={SWIFT_NODE}&ratelimit=100/m", 200,
         "new rate limit set successfully"),
        (f"/api/task/rate-limit/{SWIFT_PREFIX}.noop?workername={SWIFT_NODE}&ratelimit=0", 200,
         "rate limit disabled successfully"),
        (f"/api/task/timeout/{SWIFT_PREFIX}.noop?workername={SWIFT_NODE}&soft=60&hard=120", 200,
         "time limits set successfully"),
        (f"/api/worker/pool/restart/{SWIFT_NODE}", 403, "Pool restarts not enabled"),
    ]
    for path, status, text in checks:
        code, body = post(path)
        expect(code == status and text in body, f"POST {path}: {code} {body!r}, expected {status} with {text!r}")
    inspect = app.control.inspect([SWIFT_NODE], timeout=3)
    registered = inspect.registered("time_limit", "soft_time_limit")[SWIFT_NODE]
    expect(f"{SWIFT_PREFIX}.noop [time_limit=120.0 soft_time_limit=60.0]" in registered,
           f"registered after Flower's timeout form: {registered}")
    post(f"/api/task/timeout/{SWIFT_PREFIX}.noop?workername={SWIFT_NODE}")

    # Shutdown, on a second Swift worker of its own, as Flower's worker page sends it.
    node = f"flower-down-{uuid.uuid4().hex[:6]}@{HOST}"
    log = open(os.path.join(LOG_DIR or tempfile.gettempdir(), "flower-down-worker.log"), "w")
    doomed = subprocess.Popen([SIMUL_BIN, "worker", "--broker", BROKER, "--backend", BACKEND, "-Q", "flower-down",
                               "-n", node, "-c", "1", "--without-mingle"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(f"{node} in Flower's /api/workers", 20,
                   lambda: node in flower_get("/api/workers?refresh=1"), interval=0.5)
        code, body = post(f"/api/worker/shutdown/{node}")
        expect(code == 200 and "Shutting down!" in body, f"POST shutdown: {code} {body!r}")
        expect(doomed.wait(timeout=30) == 0, f"the worker Flower shut down exited {doomed.returncode}")
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait()
        log.close()
    return ("grow, shrink, add/cancel consumer, revoke, rate limit (set and off) and timeouts answered 200; "
            "autoscale and pool restart 403 (not enabled, as on Celery's defaults); shutdown stopped a worker, exit 0")


@scenario("processes-pool", 90, needs={"swift-client", "flower"})
def processes_pool():
    """A Swift worker's processes pool: a task's PROGRESS from its process, pool_restart from app.control and Flower"""
    import urllib.error

    node = f"procs-{uuid.uuid4().hex[:6]}@{HOST}"
    queue = "simul-procs"
    log = open(os.path.join(LOG_DIR or tempfile.gettempdir(), "processes-worker.log"), "w")
    worker = subprocess.Popen([SIMUL_BIN, "worker", "--broker", BROKER, "--backend", BACKEND, "-Q", queue, "-n", node,
                               "-c", "2", "--pool", "processes", "--pool-restarts", "--without-mingle"],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(f"{node} answering ping", 30, lambda: app.control.ping([node], timeout=1), interval=0)
        result = app.send_task("simul.progress", (3, 1.0), queue=queue)

        def progress():
            state, info = result.state, result.info
            return (state, info) if state == "PROGRESS" and isinstance(info, dict) else None

        state, info = wait_until(f"{result.id} in state PROGRESS", 20, progress, interval=0.05)
        expect(info.get("total") == 3 and info.get("current") in (1, 2, 3), f"info {info!r}, expected current of 3")
        expect(get(result, 20) == 3 and result.state == "SUCCESS", f"then {result.state}, expected SUCCESS 3")

        def processes():
            stats = app.control.inspect([node], timeout=2).stats() or {}
            return sorted(stats.get(node, {}).get("pool", {}).get("processes", []))

        before = processes()
        expect(before, f"stats lists no processes for {node}")
        replies = app.control.pool_restart(destination=[node], reply=True, timeout=3)
        expect(replies == [{node: {"ok": "reload started"}}], f"pool_restart answered {replies!r}")
        sums = [app.send_task("simul.add", (n, 1), queue=queue) for n in range(6)]
        values = [get(s, 20) for s in sums]
        expect(values == [n + 1 for n in range(6)], f"after the restart: {values!r}")
        def fresh():
            now = processes()
            return now if now and set(now).isdisjoint(before) else None

        after = wait_until("only new processes in stats", 20, fresh)
        # Flower's Restart Pool button, on a worker that allows it.
        wait_until(f"{node} in Flower's /api/workers", 20,
                   lambda: node in flower_get("/api/workers?refresh=1"), interval=0.5)
        request = urllib.request.Request(f"{FLOWER_URL}/api/worker/pool/restart/{node}", data=b"", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                code, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            code, text = error.code, error.read().decode()
        expect(code == 200 and f"Restarting '{node}' worker's pool" in text, f"Flower's pool restart: {code} {text!r}")
        expect(get(app.send_task("simul.add", (20, 22), queue=queue), 20) == 42, "no task ran after Flower's restart")
        bad = app.control.pool_restart(modules=5, destination=[node], reply=True, timeout=3)
        expect(bad == [{node: {"error": "modules must be a string or a list of strings, got 5"}}],
               f"pool_restart with modules=5 answered {bad!r}")
    finally:
        stop_worker(worker, log)
    return (f"PROGRESS {info} from a pool process, then SUCCESS 3; pool_restart: reload started, processes "
            f"{before} then {after}, 6 tasks after it all SUCCESS; Flower's Restart Pool 200, then 20 + 22 = 42; "
            "modules=5 answered an error")


@scenario("c5-swift-control-python-worker", 45, needs={"swift-client"})
def c5():
    """simul control asks the Python worker, as celery inspect/control would"""
    ping = simul("control", "ping", "-d", PY_NODE, "--timeout", "3")
    expect(ping.returncode == 0 and ping.stdout == f"{PY_NODE}: OK pong\n", f"ping: {simul_output(ping)}")
    stats = simul("control", "stats", "-d", PY_NODE, "--timeout", "3", "--json")
    expect(stats.returncode == 0, f"stats: {simul_output(stats)}")
    pool = json.loads(stats.stdout)[PY_NODE]["pool"]
    expect(pool["implementation"] == "celery.concurrency.prefork:TaskPool", f"stats pool: {pool}")
    rate = simul("control", "rate_limit", "pytasks.add", "100/m", "-d", PY_NODE, "--timeout", "3")
    expect(rate.stdout == f"{PY_NODE}: OK new rate limit set successfully\n", f"rate_limit: {simul_output(rate)}")
    simul("control", "rate_limit", "pytasks.add", "0", "-d", PY_NODE, "--timeout", "3")
    unknown = simul("control", "rate_limit", "no.such.task", "1/s", "-d", PY_NODE, "--timeout", "3")
    expect(unknown.returncode == 1 and unknown.stdout == f"{PY_NODE}: error: unknown task\n",
           f"rate_limit of an unknown task: {simul_output(unknown)}")
    queues = simul("control", "active_queues", "-d", PY_NODE, "--timeout", "3", "--json")
    names = [queue["name"] for queue in json.loads(queues.stdout)[PY_NODE]]
    expect(names == ["celery"], f"active_queues: {names}")
    return f"ping, stats (prefork pool), rate_limit ok and unknown task, active_queues {names} from {PY_NODE}"


@scenario("celery-cli-control", 60, needs={"swift-worker"})
def celery_cli_control():
    """celery inspect and celery control, the Python CLI, against the Swift worker"""
    here = os.path.dirname(os.path.abspath(__file__))

    def celery(*arguments):
        command = [sys.executable, "-m", "celery", "-A", "pytasks", *arguments, "-d", SWIFT_NODE, "-t", "3"]
        return subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=here)

    results = []
    for method in ("ping", "stats", "active", "reserved", "scheduled", "revoked", "registered", "conf", "report",
                   "active_queues", "clock"):
        process = celery("inspect", method, "-j")
        expect(process.returncode == 0, f"celery inspect {method}: exit {process.returncode} {process.stderr!r}")
        reply = json.loads(process.stdout)
        expect(list(reply) == [SWIFT_NODE], f"celery inspect {method}: replies from {list(reply)}")
        results.append(method)
    rate = celery("control", "rate_limit", f"{SWIFT_PREFIX}.add", "10/m", "-j")
    # `celery control -j` prints the broadcast's list of {node: reply}.
    expect(json.loads(rate.stdout or "[]") == [{SWIFT_NODE: {"ok": "new rate limit set successfully"}}],
           f"celery control rate_limit: {rate.stdout!r} {rate.stderr!r}")
    celery("control", "rate_limit", f"{SWIFT_PREFIX}.add", "0", "-j")
    grow = celery("control", "pool_grow", "1", "-j")
    expect(json.loads(grow.stdout or "[]") == [{SWIFT_NODE: {"ok": "pool will grow"}}], f"pool_grow: {grow.stdout!r}")
    shrink = celery("control", "pool_shrink", "1", "-j")
    expect(json.loads(shrink.stdout or "[]") == [{SWIFT_NODE: {"ok": "pool will shrink"}}],
           f"pool_shrink: {shrink.stdout!r}")
    return f"celery inspect {', '.join(results)}; celery control rate_limit, pool_grow, pool_shrink"


@scenario("trace-python-swift-python", 45, needs={"swift-worker"})
def trace_python_swift_python():
    """One trace: traced Python client -> Swift worker -> traced Python worker"""
    instrumentor = pytasks.trace_to("python-client")
    try:
        result = chain(swift("noop", immutable=True), add.si(2, 3)).apply_async()
    finally:
        instrumentor.uninstrument()
    value = get(result, 30)
    expect(value == 5, f"the chain returned {value!r}, expected 5")
    first, second = result.parent.id, result.id
    spans = wait_for_spans([
        ("python-client", f"apply_async/{SWIFT_PREFIX}.noop", first), ("swift-worker", f"run/{SWIFT_PREFIX}.noop", first),
        ("swift-worker", "apply_async/pytasks.add", second), ("python-worker", "run/pytasks.add", second)])
    expect_one_trace(spans, parent_of_first=None)
    return "; ".join(f"{span['name']} ({span['kind']}, {role})" for role, span in spans)


@scenario("trace-swift-client-python-worker", 60, needs={"swift-client"})
def trace_swift_client_python_worker():
    """A trace passed to simul send in TRACEPARENT goes on in a traced Python worker"""
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    process = simul("send", "pytasks.add", "--args", "[2, 3]", "-Q", "celery", "--wait", "--timeout", "30",
                    env={"SIMUL_TRACE_FILE": os.path.join(TRACE_DIR, "simul-send.jsonl"),
                         "TRACEPARENT": f"00-{trace_id}-{parent}-01"})
    lines = process.stdout.strip().splitlines()
    expect(process.returncode == 0 and lines and lines[-1].strip() == "5", simul_output(process))
    task_id = lines[0].strip()
    spans = wait_for_spans([("simul-send", "simul send", None), ("simul-send", "apply_async/pytasks.add", task_id),
                            ("python-worker", "run/pytasks.add", task_id)])
    expect(spans[0][1]["trace_id"] == trace_id, f"simul send's span is in trace {spans[0][1]['trace_id']}, not {trace_id}")
    expect_one_trace(spans, parent_of_first=parent)
    return "; ".join(f"{span['name']} ({span['kind']}, {role})" for role, span in spans)


@scenario("otlp-swift-worker", 60, needs={"swift-client"})
def otlp_swift_worker():
    """A simul worker with OTEL_EXPORTER_OTLP_ENDPOINT exports spans and metrics through swift-otel to a receiver"""
    import http.server
    import threading

    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((self.path, body))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    queue = f"otlp-{uuid.uuid4().hex[:8]}"
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    log = open(os.path.join(LOG_DIR or tempfile.gettempdir(), "otlp-swift-worker.log"), "w")
    worker = subprocess.Popen(
        [SIMUL_BIN, "worker", "--broker", BROKER, "--backend", BACKEND, "-Q", queue, "-n", "otlp-swift@%h", "-c", "1"],
        stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}",
             "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_SERVICE_NAME": "simul-interop",
             "OTEL_METRIC_EXPORT_INTERVAL": "1000"})
    try:
        process = simul("send", f"{SWIFT_PREFIX}.add", "--args", "[2, 3]", "-Q", queue, "--wait", "--timeout", "30",
                        env={"SIMUL_TRACE_FILE": os.path.join(TRACE_DIR, "otlp-send.jsonl"),
                             "TRACEPARENT": f"00-{trace_id}-{parent}-01"})
        lines = process.stdout.strip().splitlines()
        expect(process.returncode == 0 and lines and lines[-1].strip() == "5", simul_output(process))
    finally:
        stop_worker(worker, log)
        server.shutdown()
    expect(worker.returncode == 0, f"the OTLP worker exited {worker.returncode}")
    send = wait_for_spans([("otlp-send", f"apply_async/{SWIFT_PREFIX}.add", lines[0].strip())])[0][1]
    exported = []
    for path, body in received:
        for resource in json.loads(body).get("resourceSpans", []) if path == "/v1/traces" else []:
            attributes = {a["key"]: a["value"].get("stringValue") for a in resource["resource"]["attributes"]}
            for scope in resource.get("scopeSpans", []):
                exported += [(attributes.get("service.name"), span) for span in scope.get("spans", [])]
    runs = [(service, span) for service, span in exported if span["name"] == f"run/{SWIFT_PREFIX}.add"]
    expect(runs, f"no run/{SWIFT_PREFIX}.add among the exported spans {[span['name'] for _, span in exported]} "
                 f"(requests to {[path for path, _ in received]})")
    service, run = runs[0]
    expect(service == "simul-interop", f"service.name {service!r}")
    expect((otlp_id(run["traceId"]), otlp_id(run["parentSpanId"])) == (trace_id, send["span_id"]),
           f"run/{SWIFT_PREFIX}.add is in trace {otlp_id(run['traceId'])} under {otlp_id(run['parentSpanId'])}, "
           f"expected {trace_id} under simul send's {send['span_id']}")
    succeeded = 0
    for path, body in received:
        for resource in json.loads(body).get("resourceMetrics", []) if path == "/v1/metrics" else []:
            for scope in resource.get("scopeMetrics", []):
                for metric in scope.get("metrics", []):
                    if metric["name"] != "simul_tasks_total":
                        continue
                    for point in metric.get("sum", {}).get("dataPoints", []):
                        labels = {a["key"]: a["value"].get("stringValue") for a in point.get("attributes", [])}
                        if labels.get("status") == "succeeded" and labels.get("name") == f"{SWIFT_PREFIX}.add":
                            succeeded = max(succeeded, int(point.get("asInt") or point.get("asDouble") or 0))
    expect(succeeded == 1, f"simul_tasks_total{{status=succeeded}} exported over OTLP is {succeeded}, not 1 "
                           f"(requests to {sorted({path for path, _ in received})})")
    return (f"{len(exported)} spans over OTLP/HTTP JSON, run/{SWIFT_PREFIX}.add in trace {trace_id} under "
            f"apply_async/{SWIFT_PREFIX}.add {send['span_id']}; simul_tasks_total succeeded = 1 over /v1/metrics")


def otlp_id(value):
    """A trace or span id of OTLP/JSON as hex: the specification's hex, or the base64 of protobuf's JSON mapping."""
    if len(value) in (16, 32) and all(c in "0123456789abcdef" for c in value):
        return value
    return base64.b64decode(value).hex()


def read_spans(role):
    """The spans in the files <INTEROP_TRACE_DIR>/<role>*.jsonl."""
    spans = []
    for name in sorted(os.listdir(TRACE_DIR)):
        if name.startswith(role) and name.endswith(".jsonl"):
            with open(os.path.join(TRACE_DIR, name)) as lines:
                spans += [json.loads(line) for line in lines if line.strip()]
    return spans


def wait_for_spans(wanted, timeout=15):
    """For each (role, span name, message id or None), the last span of that name in that role's files, about that
    message; waits up to `timeout` s for all of them (a worker exports a span when it ends, after the result)."""
    def find():
        found = []
        for role, name, message_id in wanted:
            matches = [span for span in read_spans(role) if span["name"] == name
                       and (message_id is None or span["attributes"].get("messaging.message.id") == message_id)]
            if not matches:
                return None
            found.append((role, matches[-1]))
        return found

    try:
        return wait_until("the spans", timeout, find)
    except TimeoutError:
        missing = [f"{name} in {role}" for role, name, message_id in wanted
                   if not any(span["name"] == name for span in read_spans(role))]
        raise AssertionError(f"no span {', '.join(missing) or 'with the message ids'} within {timeout} s") from None


def expect_one_trace(spans, parent_of_first):
    """All `spans` ((role, span) pairs) share one trace id, and each is the parent of the next."""
    traces = {span["trace_id"] for _, span in spans}
    expect(len(traces) == 1, f"the spans are in {len(traces)} traces: {[(s['name'], s['trace_id']) for _, s in spans]}")
    expect(spans[0][1]["parent_span_id"] == parent_of_first,
           f"{spans[0][1]['name']}'s parent is {spans[0][1]['parent_span_id']}, expected {parent_of_first}")
    for (_, parent), (role, child) in zip(spans, spans[1:]):
        expect(child["parent_span_id"] == parent["span_id"],
               f"{child['name']} ({role})'s parent is {child['parent_span_id']}, not {parent['name']} "
               f"({parent['span_id']})")


# ---------------------------------------------------------------------------------------------------------------
# The runner


class ScenarioTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise ScenarioTimeout()


def log_sizes():
    if not LOG_DIR:
        return {}
    return {name: os.path.getsize(os.path.join(LOG_DIR, name))
            for name in sorted(os.listdir(LOG_DIR)) if name.endswith(".log")}


def print_logs_since(sizes, lines=20):
    """Prints the last lines each process logged while the failed scenario ran."""
    for name, size in sizes.items():
        with open(os.path.join(LOG_DIR, name), errors="replace") as log:
            log.seek(size)
            new = log.read().splitlines()
        if new:
            print(f"    --- {name} (last {min(lines, len(new))} of {len(new)} new lines)")
            for line in new[-lines:]:
                print(f"    | {line}")


def flower_up():
    try:
        return http_get("/healthcheck")
    except OSError:
        return None


def wait_ready():
    """Bounded waits for the Python worker (required), the Swift worker and Flower. Returns the unavailable needs."""
    unavailable = set()
    try:
        wait_until(f"{PY_NODE} answering ping", 60, lambda: app.control.ping([PY_NODE], timeout=1), interval=0)
    except TimeoutError as error:
        print(f"setup: {error}")
        raise SystemExit(2)

    def swift_ready():
        if not swift_worker_alive():
            raise RuntimeError("the Swift worker exited during startup")
        return app.control.ping([SWIFT_NODE], timeout=1)

    try:
        wait_until(f"{SWIFT_NODE} answering ping", 30, swift_ready, interval=0)
    except TimeoutError as error:
        print(f"setup: warning: {error}; running the scenarios anyway")
    except RuntimeError as error:
        print(f"setup: {error}; every scenario that needs it will fail")
        print_logs_since({"swift-worker.log": 0} if LOG_DIR else {})
    if not SIMUL_BIN:
        unavailable.add("swift-client")
    if FLOWER_URL:
        try:
            wait_until("Flower answering HTTP", 30, flower_up)
        except TimeoutError as error:
            print(f"setup: {error}")
            unavailable.add("flower")
    else:
        unavailable.add("flower")
    return unavailable


def selected(name):
    only = [n for n in os.environ.get("INTEROP_SCENARIOS", "").split(",") if n]
    skip = [n for n in os.environ.get("INTEROP_SKIP", "").split(",") if n]
    return (not only or name in only) and name not in skip


def main():
    signal.signal(signal.SIGALRM, on_alarm)
    unavailable = wait_ready()
    passed = failed = skipped = 0
    for name, title, timeout, needs, function in SCENARIOS:
        label = f"{name:<38}"
        if not selected(name):
            print(f"skip {label} not selected")
            skipped += 1
            continue
        if needs & unavailable:
            print(f"skip {label} needs {', '.join(sorted(needs & unavailable))}")
            skipped += 1
            continue
        sizes = log_sizes()
        started = time.monotonic()
        signal.alarm(timeout)
        try:
            if "swift-worker" in needs and not swift_worker_alive():
                raise AssertionError("the Swift worker is not running")
            detail = function()
            signal.alarm(0)
            print(f"ok   {label} {title}: {detail} ({time.monotonic() - started:.1f} s)")
            passed += 1
        except BaseException as error:  # noqa: BLE001 - one scenario's failure must not stop the others
            signal.alarm(0)
            if isinstance(error, KeyboardInterrupt):
                raise
            if isinstance(error, ScenarioTimeout):
                reason = f"timed out after {timeout} s"
            elif isinstance(error, AssertionError):
                reason = str(error)
            else:
                reason = f"{type(error).__name__}: {error}"
            print(f"FAIL {label} {title}: {reason} ({time.monotonic() - started:.1f} s)")
            if not isinstance(error, (AssertionError, ScenarioTimeout, TimeoutError)):
                for line in traceback.format_exc().rstrip().splitlines()[-6:]:
                    print(f"    ! {line}")
            print_logs_since(sizes)
            failed += 1
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # Skip the interpreter's teardown, where Celery's AsyncResult.__del__ tries to unsubscribe on a dead connection.
    os._exit(code)
