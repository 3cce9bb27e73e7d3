"""The example app's smoke test, as a user would run it: `thumbnails serve` on SQLite and then on Redis, each time a
thumbnail and a gallery through the HTTP API, a task sent with the app's own `thumbnails send`, bad input, and on Redis a
Python Celery client calling the app's tasks by name. Every server listens on 127.0.0.1 and stops at the end.

Run by scripts/example-smoke.sh with the Celery virtualenv's python, after it builds the app.
    Usage: smoke.py THUMBNAILS_BIN
Exit status: 0 if every check passed, 1 if one failed, 2 if the setup failed.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "interop"))
import run  # noqa: E402 - interop/run.py: the child processes, Redis and free ports

run.SCRIPT = "thumbnails-smoke"


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def request(base, method, path, body=None):
    """(status, parsed JSON or raw bytes) of one HTTP request."""
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    call = urllib.request.Request(base + path, data=data, method=method,
                                  headers={"Content-Type": "application/json"} if data is not None else {})
    try:
        with urllib.request.urlopen(call, timeout=10) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload


def wait_for_result(base, task_id, timeout=60):
    """The task's stored state once it is ready (SUCCESS or FAILURE), read through GET /results/ID."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, state = request(base, "GET", f"/results/{task_id}")
        expect(status == 200, f"GET /results/{task_id} answered {status}: {state!r}")
        if state["state"] in ("SUCCESS", "FAILURE"):
            return state
        time.sleep(0.1)
    raise CheckFailed(f"task {task_id} was not ready within {timeout} s")


def read_pgm_size(path):
    with open(path, "rb") as image:
        magic, width, height = image.read(32).split()[:3]
    expect(magic == b"P5", f"{path} is not a binary PGM")
    return int(width), int(height)


def check_image(image, width, height):
    expect(image["width"] == width and image["height"] == height,
           f"expected a {width}×{height} image, got {image}")
    expect(read_pgm_size(image["path"]) == (width, height), f"{image['path']} is not {width}×{height}")


def start_app(processes, binary, broker, folder):
    """`thumbnails serve` on a free port; returns (its Popen, its base URL)."""
    port = run.free_port()
    env = dict(os.environ, THUMBNAILS_FOLDER=folder)
    name = f"serve-{broker.split(':', 1)[0]}"
    app = processes.start(name, [binary, "serve", "--broker", broker, "--port", str(port)], env=env)
    base = f"http://{run.LOCALHOST}:{port}"
    if not processes.wait_for(60, f"{name} on port {port}", lambda: request(base, "GET", "/ops/healthz")[0] == 200,
                              watch=app):
        raise run.SetupError(f"{name} did not start")
    return app, base


def check_app(binary, base, broker, folder):
    run.say(f"a thumbnail through POST /thumbnails ({broker})")
    card = f"{base}/sources/card.pgm?size=300"
    status, enqueued = request(base, "POST", "/thumbnails", {"url": card, "width": 64})
    expect(status == 202, f"POST /thumbnails answered {status}: {enqueued!r}")
    state = wait_for_result(base, enqueued["id"])
    expect(state["state"] == "SUCCESS", f"the thumbnail chain failed: {state}")
    check_image(state["result"], 64, 64)

    run.say("a gallery: a task that starts a group of chains")
    urls = [f"{base}/sources/{name}.pgm?size={size}" for name, size in [("a", 128), ("b", 256), ("c", 200)]]
    status, enqueued = request(base, "POST", "/galleries", {"urls": urls, "width": 32})
    expect(status == 202, f"POST /galleries answered {status}: {enqueued!r}")
    gallery = wait_for_result(base, enqueued["id"])
    expect(gallery["state"] == "SUCCESS", f"the gallery task failed: {gallery}")
    expect(len(gallery["result"]["thumbnails"]) == 3, f"the gallery started {gallery['result']}")
    for task_id in gallery["result"]["thumbnails"]:
        state = wait_for_result(base, task_id)
        expect(state["state"] == "SUCCESS", f"a gallery thumbnail failed: {state}")
        check_image(state["result"], 32, 32)

    run.say("thumbnails send: the app's own command, to the task's own queue")
    original = {"path": os.path.join(folder, "originals", f"{enqueued['id']}.pgm"), "width": 8, "height": 8}
    with open(original["path"], "wb") as image:
        image.write(b"P5\n8 8\n255\n" + bytes(range(64)))
    sent = subprocess.run([binary, "send", "thumbnails.resize", "--broker", broker, "--args", json.dumps([original]),
                           "--kwargs", '{"width": 4}', "--wait", "--timeout", "30"],
                          capture_output=True, text=True, timeout=60)
    expect(sent.returncode == 0, f"thumbnails send exited {sent.returncode}: {sent.stderr}")
    check_image(json.loads(sent.stdout.splitlines()[-1]), 4, 4)

    run.say("bad input: a malformed body, a width out of range, a URL that is not an image")
    status, _ = request(base, "POST", "/thumbnails", b"{not json")
    expect(status == 400, f"a malformed body answered {status}, not 400")
    status, enqueued = request(base, "POST", "/thumbnails", {"url": card, "width": 0})
    state = wait_for_result(base, enqueued["id"])
    expect(state["state"] == "FAILURE" and state["result"]["exc_type"] == "ValueError"
           and "width must be 1 to 1024" in state["result"]["exc_message"][0], f"width 0 gave {state}")
    status, enqueued = request(base, "POST", "/thumbnails", {"url": f"{base}/results/nothing", "width": 8})
    state = wait_for_result(base, enqueued["id"])
    expect(state["state"] == "FAILURE" and state["result"]["exc_type"] == "ValueError"
           and "not a binary PGM image" in state["result"]["exc_message"][0], f"a non-image gave {state}")


def check_python_client(base, redis_url):
    run.say("a Python Celery client calls the app's tasks by name")
    from celery import Celery

    app = Celery("client", broker=redis_url, backend=redis_url)
    image = app.send_task("thumbnails.download", args=[f"{base}/sources/py.pgm?size=90"],
                          queue="thumbnails.io").get(timeout=30)
    check_image(image, 90, 90)
    thumbnail = app.send_task("thumbnails.resize", args=[image], kwargs={"width": 30},
                              queue="thumbnails.cpu").get(timeout=30)
    check_image(thumbnail, 30, 30)
    failed = app.send_task("thumbnails.resize", args=[image], kwargs={"width": 5000}, queue="thumbnails.cpu")
    try:
        failed.get(timeout=30)
        raise CheckFailed("a width of 5000 succeeded")
    except ValueError as error:
        expect("width must be 1 to 1024" in str(error), f"the ValueError says {error}")
    print(f"    python got {thumbnail}", flush=True)


def stop_app(processes, app):
    processes.stop(app)
    expect(app.returncode == 0, f"thumbnails serve exited {app.returncode} on SIGTERM")


def main(binary):
    sys.stdout.reconfigure(line_buffering=True)
    run.Signals.install()
    processes = run.Processes(tempfile.mkdtemp(prefix="thumbnails-smoke."))
    status = 0
    try:
        refused = subprocess.run([binary, "serve", "--processes", "0"], capture_output=True, text=True, timeout=30)
        expect(refused.returncode != 0 and "Error: --processes must be 1 to 256, got 0" in refused.stderr,
               f"serve --processes 0 gave {refused.returncode}: {refused.stderr!r}")
        folder = os.path.join(processes.work, "sqlite-images")
        app, base = start_app(processes, binary, f"sqlite://{processes.work}/queue.sqlite", folder)
        check_app(binary, base, f"sqlite://{processes.work}/queue.sqlite", folder)
        stop_app(processes, app)

        run.ensure_redis_server()
        redis_url = f"redis://{run.LOCALHOST}:{run.start_redis(processes)}/0"
        folder = os.path.join(processes.work, "redis-images")
        app, base = start_app(processes, binary, redis_url, folder)
        check_app(binary, base, redis_url, folder)
        check_python_client(base, redis_url)
        stop_app(processes, app)
        run.say("the example's smoke test passed on sqlite and redis")
    except CheckFailed as failure:
        print(f"thumbnails-smoke: FAILED: {failure}", file=sys.stderr, flush=True)
        status = 1
    except run.SetupError as error:
        print(f"thumbnails-smoke: {error}", file=sys.stderr, flush=True)
        status = 2
    except run.Interrupted as interrupt:
        status = interrupt.code
    run.Signals.ignore()
    processes.stop_all()
    if status != 0:
        processes.print_logs(30)
        print(f"logs: {processes.work}", flush=True)
    else:
        shutil.rmtree(processes.work, ignore_errors=True)
    return status


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
