"""Runs the interop harness: starts Redis, a Python Celery worker, the Swift worker and Flower, all on 127.0.0.1 and
free ports, runs interop/scenarios.py, and stops everything it started, on success, failure, Ctrl-C or SIGTERM.

Started by scripts/interop.sh with the Celery virtualenv's python (stdlib only here; the children need Celery).
    Usage: run.py [--reference]
Exit status: 0 if every scenario passed, 1 if one failed, 2 if the setup failed, 130 on SIGINT, 143 on SIGTERM.
docs/interop.md describes the scenarios and the environment variables.

Each service has one `start_*` function over a `Processes`, which runs every child in its own session, logs it to
<work>/<name>.log, and stops the sessions newest first. Another broker (RabbitMQ, a TLS Redis, Sentinel) is one more
such function.
"""

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = "interop"
STOP_GRACE = 10  # seconds between SIGTERM and SIGKILL to a process group
LOCALHOST = "127.0.0.1"


def say(message):
    print(f"== {message}", flush=True)


class SetupError(Exception):
    """The harness could not start; exit status 2."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; `code` is the exit status (128 + the signal)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


class Signals:
    """SIGINT and SIGTERM raise Interrupted, except inside `deferred()`, which raises it once its block is done (so that
    a child being started is recorded, and stopped with the rest), and after `ignore()` (while stopping)."""

    deferring = False
    pending = None

    @classmethod
    def install(cls):
        signal.signal(signal.SIGINT, cls._handle)
        signal.signal(signal.SIGTERM, cls._handle)

    @classmethod
    def ignore(cls):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    @classmethod
    def _handle(cls, signum, frame):
        if cls.deferring:
            cls.pending = cls.pending or signum
        else:
            raise Interrupted(128 + signum)

    @classmethod
    @contextlib.contextmanager
    def deferred(cls):
        cls.deferring = True
        try:
            yield
        finally:
            cls.deferring = False
        if cls.pending:
            signum, cls.pending = cls.pending, None
            raise Interrupted(128 + signum)


class Processes:
    """Children in their own sessions, logging to files in `work`; stopped newest first by process group."""

    def __init__(self, work, script=SCRIPT):
        self.work = work
        self.script = script
        self.running = []  # (name, Popen), in start order

    def start(self, name, argv, env=None, log=True):
        """Runs `argv` in a new session, with stdin from /dev/null and its output in <work>/<name>.log (or on this
        process's output if not `log`). Returns the Popen."""
        with Signals.deferred():
            if log:
                with open(os.path.join(self.work, f"{name}.log"), "wb") as output:
                    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                               env=env, start_new_session=True)
            else:
                process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
            self.running.append((name, process))
        return process

    def stop(self, process):
        """SIGTERM to the process group, then SIGKILL after STOP_GRACE s if any of it is left; reaps the leader."""
        self.running = [(n, p) for n, p in self.running if p is not process]
        group = process.pid  # the session leader's pid is its group's id
        try:
            os.killpg(group, signal.SIGTERM)
        except ProcessLookupError:
            process.poll()
            return
        deadline = time.monotonic() + STOP_GRACE
        while time.monotonic() < deadline:
            process.poll()  # a zombie leader would keep the group alive
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def stop_all(self):
        """Stops every group newest first, each before the next, so workers shut down while their broker still runs.
        INT and TERM are ignored from now on: the stop is bounded, and a second Ctrl-C must not leave any behind."""
        Signals.ignore()
        while self.running:
            self.stop(self.running[-1][1])

    def wait_for(self, timeout, what, probe, watch=None):
        """Calls `probe` until it returns something truthy (exceptions count as not yet), at most `timeout` s. Returns
        False, with one line on stderr, when the time is up or the process `watch` (if given) has exited."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if probe():
                    return True
            except Exception:  # noqa: BLE001 - not ready yet
                pass
            if watch is not None and watch.poll() is not None:
                print(f"{self.script}: {what}: the process exited", file=sys.stderr, flush=True)
                return False
            if time.monotonic() >= deadline:
                print(f"{self.script}: {what}: not within {timeout} s", file=sys.stderr, flush=True)
                return False
            time.sleep(0.1)

    def print_logs(self, lines):
        """The last `lines` lines of every log that has any, on stderr."""
        for name in sorted(os.listdir(self.work)):
            path = os.path.join(self.work, name)
            if not name.endswith(".log") or not os.path.isfile(path) or os.path.getsize(path) == 0:
                continue
            with open(path, errors="replace") as log:
                tail = log.read().splitlines()[-lines:]
            print(f"--- {name} (last {lines} lines)", file=sys.stderr)
            for line in tail:
                print(f"    | {line}", file=sys.stderr)
        sys.stderr.flush()


def free_port():
    """A port that was free on 127.0.0.1 a moment ago (bound to port 0, then released)."""
    with socket.socket() as s:
        s.bind((LOCALHOST, 0))
        return s.getsockname()[1]


def redis_ping(port, tls=None):
    """Whether the redis-server on `port` answers PING, over TLS with the client certificate of `tls` if given."""
    with socket.create_connection((LOCALHOST, port), timeout=1) as plain:
        connection = plain
        if tls:
            context = ssl.create_default_context(cafile=tls["ca"])
            context.load_cert_chain(tls["client_cert"], tls["client_key"])
            connection = context.wrap_socket(plain, server_hostname="localhost")
        connection.sendall(b"PING\r\n")
        return connection.recv(64).startswith(b"+PONG")


def make_certificates(directory):
    """A throwaway authority, a server certificate for localhost and 127.0.0.1, and a client certificate, made by
    openssl in `directory`. Returns their paths."""
    os.makedirs(directory, exist_ok=True)
    paths = {"ca": f"{directory}/ca.crt", "ca_key": f"{directory}/ca.key", "server_cert": f"{directory}/server.crt",
             "server_key": f"{directory}/server.key", "client_cert": f"{directory}/client.crt",
             "client_key": f"{directory}/client.key"}
    leaf = ["-addext", "basicConstraints=critical,CA:FALSE", "-CA", paths["ca"], "-CAkey", paths["ca_key"]]
    for keyout, out, subject, extra in [
        (paths["ca_key"], paths["ca"], "/CN=simul-interop-ca", []),
        (paths["server_key"], paths["server_cert"], "/CN=localhost",
         ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", *leaf]),
        (paths["client_key"], paths["client_cert"], "/CN=simul-interop-client", leaf),
    ]:
        command = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                   "-days", "2", "-keyout", keyout,
                   "-out", out, "-subj", subject, *extra]
        if subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            raise SetupError(f"openssl could not make {out}")
    return paths


# ---------------------------------------------------------------------------------------------------------------
# The services, one function each.


def ensure_redis_server():
    if shutil.which("redis-server"):
        return
    say("installing redis-server (Debian)")
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True, stdout=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError) as error:
        raise SetupError(f"could not install redis-server: {error}") from None


def start_redis(processes, tls=None, attempts=3):
    """A redis-server on a free port of 127.0.0.1, without persistence; with `tls` (make_certificates' paths), one
    that speaks only TLS and requires a client certificate. Returns its port. Tries up to `attempts` times, each on a
    fresh port (another process may take the free port first)."""
    say("redis-server" + (" (TLS only, client certificates required)" if tls else ""))
    directory = os.path.join(processes.work, "redis")
    os.makedirs(directory, exist_ok=True)
    for _ in range(attempts):
        port = free_port()
        listen = ["--port", str(port)]
        if tls:
            listen = ["--port", "0", "--tls-port", str(port), "--tls-cert-file", tls["server_cert"],
                      "--tls-key-file", tls["server_key"], "--tls-ca-cert-file", tls["ca"], "--tls-auth-clients", "yes"]
        server = processes.start("redis", ["redis-server", "--bind", LOCALHOST, *listen, "--save", "",
                                           "--appendonly", "no", "--dir", directory, "--protected-mode", "yes"])
        if processes.wait_for(10, f"redis-server on port {port}", lambda: redis_ping(port, tls), watch=server):
            return port
        processes.stop(server)
    raise SetupError("redis-server did not start")


def start_python_worker(processes, python):
    say(f"Python Celery worker py@{socket.gethostname()}")
    return processes.start("python-worker", [python, "-m", "celery", "-A", "pytasks", "worker", "-Q", "celery",
                                             "-c", "2", "-P", "prefork", "-n", "py@%h", "--loglevel=INFO"])


def start_swift_worker(processes, simul_bin):
    """The simul worker, or SWIFT_WORKER_CMD, a shell command in which $BROKER, $BACKEND and $PYTHON are set."""
    command = os.environ.get("SWIFT_WORKER_CMD", "")
    if command:
        say(f"Swift worker stand-in: {command}")
        return processes.start("swift-worker", ["bash", "-c", f"exec {command}"])
    say(f"Swift worker: {simul_bin} worker, its spans in {os.environ['INTEROP_TRACE_DIR']}/swift-worker.jsonl")
    prefix = os.environ["SWIFT_TASK_PREFIX"]
    trace_file = os.path.join(os.environ["INTEROP_TRACE_DIR"], "swift-worker.jsonl")
    return processes.start("swift-worker", [
        simul_bin, "worker", "--broker", os.environ["BROKER"], "--backend", os.environ["BACKEND"], "-Q", "simul",
        "-n", "swift@%h", "-c", "4", "--lease", "5", "--route", "pytasks.*=celery", "--route", f"{prefix}.*=simul"],
        env={**os.environ, "SIMUL_TRACE_FILE": trace_file})


def start_flower(processes, python):
    """Flower on a free port of 127.0.0.1, its API open (Flower 2 closes it otherwise). Returns its base URL."""
    port = free_port()
    say(f"Flower on {LOCALHOST}:{port}")
    processes.start("flower", [python, "-m", "celery", "-A", "pytasks", "flower", f"--address={LOCALHOST}",
                               f"--port={port}"], env={**os.environ, "FLOWER_UNAUTHENTICATED_API": "true"})
    return f"http://{LOCALHOST}:{port}"


def run_scenarios(processes, python):
    """interop/scenarios.py in its own session, its output on ours; returns its exit status."""
    say("scenarios")
    process = processes.start("scenarios", [python, "interop/scenarios.py"], log=False)
    code = process.wait()
    return 128 - code if code < 0 else code


# ---------------------------------------------------------------------------------------------------------------
# The run


USAGE = "usage: scripts/interop.sh [--reference] [--tls]"


def parse_arguments(arguments):
    """--reference: the reference worker from the protocol research stands in for the Swift worker. --tls: every
    process talks to Redis over TLS (rediss://), with client certificates. Returns whether TLS is asked for."""
    unknown = [argument for argument in arguments if argument not in ("--reference", "--tls")]
    if unknown or len(set(arguments)) != len(arguments):
        raise SetupError(USAGE)
    if "--reference" in arguments:
        reference = os.environ.get("INTEROP_REFERENCE_WORKER") or os.path.join(
            ROOT, "..", "shared", "research", "celery-interop", "foreign_worker.py")
        if not os.path.isfile(reference):
            raise SetupError(f"no reference worker at {reference} (set INTEROP_REFERENCE_WORKER)")
        os.environ["SWIFT_WORKER_CMD"] = f"$PYTHON '{reference}' $BROKER $BACKEND simul"
        os.environ["SWIFT_TASK_PREFIX"] = "swift"
        if "INTEROP_SKIP" not in os.environ:
            os.environ["INTEROP_SKIP"] = ("expiry,crash-recovery,malformed-input,t11-exact-integers,"
                                          "trace-python-swift-python,s4c-group-in-a-chord-header")
    return "--tls" in arguments


def find_simul_bin():
    """SIMUL_BIN, else `swift build --show-bin-path`/simul, but only when the Swift worker is simul itself: with
    SWIFT_WORKER_CMD, an unset SIMUL_BIN skips the Swift-client scenarios."""
    simul_bin = os.environ.get("SIMUL_BIN", "")
    if not simul_bin and not os.environ.get("SWIFT_WORKER_CMD"):
        try:
            found = subprocess.run(["swift", "build", "--show-bin-path"], stdout=subprocess.PIPE, text=True)
        except OSError:
            found = None
        if not found or found.returncode != 0:
            raise SetupError("swift build --show-bin-path failed: set SIMUL_BIN")
        simul_bin = os.path.join(found.stdout.strip(), "simul")
    if simul_bin and not (os.path.isfile(simul_bin) and os.access(simul_bin, os.X_OK)):
        raise SetupError(f"no simul binary at {simul_bin}: run 'swift build' or set SIMUL_BIN")
    return simul_bin


def run(processes, python, simul_bin, tls):
    """Starts the services, exporting what the next ones and the scenarios read, and runs the scenarios."""
    certificates = make_certificates(os.path.join(processes.work, "tls")) if tls else None
    port = start_redis(processes, certificates)
    # Over TLS, every process (kombu, redis-py, simul) checks the server's certificate for the name localhost.
    base = f"redis://{LOCALHOST}:{port}"
    options = ""
    if certificates:
        base = f"rediss://localhost:{port}"
        options = (f"?ssl_cert_reqs=required&ssl_ca_certs={certificates['ca']}"
                   f"&ssl_certfile={certificates['client_cert']}&ssl_keyfile={certificates['client_key']}")
    existing = os.environ.get("PYTHONPATH")
    os.environ.update({
        "BROKER": f"{base}/0{options}",
        "BACKEND": f"{base}/1{options}",
        "SWIFT_TASK_PREFIX": os.environ.get("SWIFT_TASK_PREFIX") or "simul",
        "PYTHON": python,
        "PYTHONPATH": os.path.join(ROOT, "interop") + (f":{existing}" if existing else ""),
        "PYTHONDONTWRITEBYTECODE": "1",
        "INTEROP_LOG_DIR": processes.work,
        "INTEROP_TRACE_DIR": os.path.join(processes.work, "traces"),
    })
    os.makedirs(os.environ["INTEROP_TRACE_DIR"])
    print(f"redis on {LOCALHOST}:{port}{' (TLS)' if tls else ''}, logs in {processes.work}", flush=True)
    start_python_worker(processes, python)
    os.environ["SWIFT_WORKER_PID"] = str(start_swift_worker(processes, simul_bin).pid)
    os.environ["FLOWER_URL"] = start_flower(processes, python)
    # The Swift-client scenarios need the simul binary; with a stand-in worker they run only if SIMUL_BIN is given.
    os.environ["SIMUL_BIN"] = simul_bin
    return run_scenarios(processes, python)


def main(arguments):
    sys.stdout.reconfigure(line_buffering=True)
    os.chdir(ROOT)
    Signals.install()
    processes = None
    status = 2
    try:
        try:
            tls = parse_arguments(arguments)
            if importlib.util.find_spec("celery") is None:
                raise SetupError(f"{sys.executable} has no Celery: run scripts/interop.sh, which runs the virtualenv's")
            ensure_redis_server()
            simul_bin = find_simul_bin()
            processes = Processes(tempfile.mkdtemp(prefix="simul-interop."))
            status = run(processes, sys.executable, simul_bin, tls)
        except SetupError as error:
            print(f"{SCRIPT}: {error}", file=sys.stderr, flush=True)
            status = 2
        except Exception:  # noqa: BLE001 - a harness bug is a setup failure, with its traceback
            traceback.print_exc()
            status = 2
    except Interrupted as interrupt:
        status = interrupt.code
    Signals.ignore()
    if processes is None:
        return status
    processes.stop_all()
    if status == 2:
        processes.print_logs(30)
    if status == 0 and not os.environ.get("INTEROP_KEEP_LOGS"):
        shutil.rmtree(processes.work, ignore_errors=True)
    else:
        print(f"logs: {processes.work}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
