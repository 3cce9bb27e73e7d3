#!/usr/bin/env python3
"""Helpers for scripts/faults.sh: malformed messages, counting from real data, the table. Standard library only.

  faults.py poison DIR COUNT          writes COUNT bad envelopes of each kind to DIR, and DIR/manifest.jsonl
  faults.py tally [options]           counts one scenario from its data, appends a row to the table; exit 1 if
                                      anything is lost or a check fails (with --check-only: writes nothing)
  faults.py soak SAMPLES              checks the soak's memory and throughput samples
  faults.py skip [options]            appends a row for a scenario that does not run here, and why
  faults.py table TABLE               prints the table; exit 1 if a row failed

Counting (docs/faults.md):
  sent         every message the scenario sent
  completed    messages that reached the end they should: SUCCESS in the result backend for a good task; for a bad
               message or a crashing task, the FAILURE and/or dead letter with the expected reason
  lost         sent - completed
  duplicates   executions - distinct task ids, from the file simul.record appends each execution's task id to
"""

import base64
import json
import os
import re
import sys
import uuid

# The bad kinds: how each is built, and what the worker must do with it. `failure` is (exc_type, text in the
# message) for the FAILURE stored under the message's id; `dead_letter` is the start of the dead letter's reason.
KINDS = {
    "invalid-json": {"dead_letter": "invalid JSON envelope: Unexpected end of file"},
    "not-base64": {"dead_letter": "the body is not valid base64",
                   "failure": ("InvalidTaskMessage", "the body is not valid base64")},
    "no-delivery-info": {"dead_letter": "properties.delivery_info is missing",
                         "failure": ("InvalidTaskMessage", "properties.delivery_info is missing")},
    "no-task-name": {"dead_letter": "headers.task is missing",
                     "failure": ("InvalidTaskMessage", "headers.task is missing")},
    "unknown-task": {"failure": ("NotRegistered", "faults.no_such_task")},
    "wrong-types": {"failure": ("TypeError", "simul.record() argument 'path' must be String, got 123")},
    "10mb-payload": {"dead_letter": "the message is ",
                     "failure": ("InvalidTaskMessage", "more than this worker's limit")},
    "protocol-v1": {"dead_letter": "protocol v1 messages are not supported"},
    "truncated-utf8": {"dead_letter": "the body is not [args, kwargs, embed]: Invalid UTF-8",
                       "failure": ("InvalidTaskMessage", "Invalid UTF-8")},
    "nesting-10000": {"dead_letter": "the body is not [args, kwargs, embed]: Too many nested",
                      "failure": ("InvalidTaskMessage", "Too many nested")},
}


def envelope(task, args, kwargs=None, task_id=None, body_bytes=None, queue="celery"):
    """A Celery protocol v2 envelope as kombu stores it, as a dict (research/celery-protocol.md, section 1)."""
    task_id = task_id or str(uuid.uuid4())
    kwargs = kwargs or {}
    if body_bytes is None:
        embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
        body_bytes = json.dumps([args, kwargs, embed]).encode()
    return {
        "body": base64.b64encode(body_bytes).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py", "task": task, "id": task_id, "shadow": None, "eta": None, "expires": None,
            "group": None, "group_index": None, "retries": 0, "timelimit": [None, None], "root_id": task_id,
            "parent_id": None, "argsrepr": repr(args)[:1024], "kwargsrepr": repr(kwargs), "origin": "gen0@faults",
            "ignore_result": False,
        },
        "properties": {
            "correlation_id": task_id, "reply_to": "", "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0, "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }


def bad_message(kind):
    """(bytes, task id or None) for one bad message of `kind`."""
    task_id = str(uuid.uuid4())
    good = envelope("simul.noop", [], task_id=task_id)
    if kind == "invalid-json":
        return json.dumps(good).encode()[:-40], None
    if kind == "not-base64":
        good["body"] = "%%% this is not base64 %%%"
    elif kind == "no-delivery-info":
        del good["properties"]["delivery_info"]
    elif kind == "no-task-name":
        del good["headers"]["task"]
    elif kind == "unknown-task":
        good = envelope("faults.no_such_task", [1, 2], task_id=task_id)
    elif kind == "wrong-types":
        good = envelope("simul.record", [123, "slow"], task_id=task_id)
    elif kind == "10mb-payload":
        good = envelope("simul.noop", ["x" * (10 << 20)], task_id=task_id)
    elif kind == "protocol-v1":
        # Protocol v1: the task and its id live in the body, the headers are empty.
        body = json.dumps({"task": "simul.add", "id": task_id, "args": [1, 2], "kwargs": {}, "retries": 0,
                           "eta": None, "expires": None, "utc": True}).encode()
        good = envelope("simul.add", [], body_bytes=body)
        good["headers"] = {}
        return json.dumps(good).encode(), None
    elif kind == "truncated-utf8":
        # A string argument cut in the middle of a two-byte character: 0xC3 with no continuation byte.
        good = envelope("simul.noop", [], task_id=task_id, body_bytes=b'[["caf\xc3"], {}, {}]')
    elif kind == "nesting-10000":
        good = envelope("simul.noop", [], task_id=task_id,
                        body_bytes=b"[" + b"[" * 10000 + b"]" * 10000 + b", {}, {}]")
    else:
        raise SystemExit(f"unknown kind {kind}")
    return json.dumps(good).encode(), task_id


def poison(directory, count):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "manifest.jsonl"), "w") as manifest:
        for round_ in range(count):
            for kind, expected in KINDS.items():
                data, task_id = bad_message(kind)
                path = os.path.join(directory, f"{round_:03d}-{kind}.json")
                with open(path, "wb") as file:
                    file.write(data)
                manifest.write(json.dumps({"file": path, "kind": kind, "id": task_id, **expected}) + "\n")


def read_lines(path):
    if not path or not os.path.exists(path):
        return []
    with open(path, errors="replace") as file:
        return [line.strip() for line in file if line.strip()]


def read_results(path):
    results = {}
    for line in read_lines(path):
        result = json.loads(line)
        results[result["task_id"]] = result
    return results


def failure_matches(result, expected):
    if not result or result.get("status") != "FAILURE" or not isinstance(result.get("result"), dict):
        return False
    exc_type, text = expected
    return result["result"].get("exc_type") == exc_type and text in str(result["result"].get("exc_message"))


def summary(result):
    """A failure in a few words: `WorkerLostError (signal 11, SIGSEGV)`, `TimeLimitExceeded (2.0 s)`."""
    if not result or not isinstance(result.get("result"), dict):
        return (result or {}).get("status", "PENDING")
    failure = result["result"]
    message = failure.get("exc_message")
    message = " ".join(map(str, message)) if isinstance(message, list) else str(message)
    signal = re.search(r"signal (\d+) \((SIG[A-Z]+)", message)
    code = re.search(r"exited with code (\d+)", message)
    if signal:
        detail = f"signal {signal.group(1)}, {signal.group(2)}"
    elif code:
        detail = f"exit code {code.group(1)}"
    elif failure.get("exc_type") == "TimeLimitExceeded":
        detail = f"{message} s"
    else:
        detail = message[:60]
    return f"{failure.get('exc_type')} ({detail})"


def tally(args):
    good = read_lines(args.good)
    bad = [json.loads(line) for line in read_lines(args.bad)]
    results = read_results(args.results)
    dead = json.load(open(args.dead_letters)) if args.dead_letters and os.path.exists(args.dead_letters) else []
    records = read_lines(args.records)

    good_done = sum(1 for task_id in good if results.get(task_id, {}).get("status") == "SUCCESS")
    # Bad messages: the FAILURE by id; the dead letter by id, or, for one that names no id, by its reason.
    dead_by_id = {}
    anonymous = []
    for letter in dead:
        if letter.get("task_id"):
            dead_by_id.setdefault(letter["task_id"], []).append(letter["reason"])
        else:
            anonymous.append(letter["reason"])
    bad_done = 0
    unaccounted = {}
    for message in bad:
        ok = True
        if "failure" in message:
            ok = ok and failure_matches(results.get(message["id"]), message["failure"])
        if "dead_letter" in message:
            if message.get("id"):
                reasons = dead_by_id.get(message["id"], [])
                ok = ok and any(reason.startswith(message["dead_letter"]) for reason in reasons)
            else:
                match = next((r for r in anonymous if r.startswith(message["dead_letter"])), None)
                ok = ok and match is not None
                if match is not None:
                    anonymous.remove(match)
        if ok:
            bad_done += 1
        else:
            unaccounted[message["kind"]] = unaccounted.get(message["kind"], 0) + 1

    sent = len(good) + len(bad) if args.sent is None else args.sent
    completed = good_done + bad_done if args.completed is None else args.completed
    lost = sent - completed
    executions = len(records)
    unique = len(set(records))
    duplicates = executions - unique
    strangers = len(set(records) - set(good))

    checks = list(args.check or [])
    if args.max_duplicates is not None:
        checks.append(f"duplicates {duplicates} <= bound {args.max_duplicates}="
                      + ("ok" if duplicates <= args.max_duplicates else "FAIL"))
    if strangers:
        checks.append(f"{strangers} recorded ids were never sent=FAIL")
    notes = []
    if bad:
        notes.append(f"{len(good)} good: {good_done} SUCCESS; {len(bad)} bad: {bad_done} failed/dead-lettered "
                     "with the expected reason")
        if unaccounted:
            notes.append("unaccounted: " + ", ".join(f"{k} x{n}" for k, n in sorted(unaccounted.items())))
    failed_checks = [c for c in checks if not c.endswith("=ok")]
    notes += [c.rsplit("=", 1)[0] + ("" if c.endswith("=ok") else " FAILED") for c in checks]
    if args.show_failures:
        notes += [f"{m['kind']}: {summary(results.get(m['id']))}" for m in bad]
    if args.note:
        notes += args.note
    passed = lost == 0 and not failed_checks
    if args.check_only:
        return 0 if passed else 1
    row = {"scenario": args.scenario, "broker": args.broker, "sent": sent, "completed": completed, "lost": lost,
           "duplicates": duplicates, "seconds": round(args.seconds, 1), "notes": "; ".join(notes), "passed": passed}
    with open(args.table, "a") as file:
        file.write(json.dumps(row) + "\n")
    status = "ok" if passed else "FAILED"
    print(f"-- {args.scenario} [{args.broker}]: {status}: sent {sent}, completed {completed}, lost {lost}, "
          f"duplicates {duplicates} ({executions} executions), {row['seconds']} s; {row['notes']}", flush=True)
    return 0 if passed else 1


def soak(args):
    """SAMPLES: lines `seconds done worker_rss_kib client_rss_kib` (client 0 once it has exited)."""
    samples = [tuple(float(x) for x in line.split()) for line in read_lines(args.samples)]
    total = args.total
    warm = [s for s in samples if s[1] >= total * 0.1]
    checks = []
    if len(warm) < 4:
        print("soak: too few samples after warm-up=FAIL")
        return 1
    for column, who in ((2, "worker"), (3, "client")):
        values = [s[column] for s in warm if s[column] > 0]
        if len(values) < 2:
            checks.append(f"{who} RSS: too few samples=FAIL")
            continue
        # Start (first sample past warm-up), middle and end (last sample while it ran), printed, not judged.
        checks.append(f"{who} RSS start/middle/end {values[0] / 1024:.1f}/{values[len(values) // 2] / 1024:.1f}/"
                      f"{values[-1] / 1024:.1f} MiB=ok")
        base, peak = values[0], max(values)
        growth = peak / base - 1
        checks.append(f"{who} RSS {base / 1024:.0f} MiB after warm-up, peak {peak / 1024:.0f} MiB "
                      f"(+{growth * 100:.1f}%, limit 10%)=" + ("ok" if growth <= 0.10 else "FAIL"))
    # Throughput must not decline. The client shares the two cores while it sends, so the run has two phases, with
    # the client and without; within each, the rate over the second half of its tasks must be at least 80% of the
    # rate over the first half. The 5 s windows are printed, not judged: another process on the machine moves them.
    def rate(phase):
        return (phase[-1][1] - phase[0][1]) / (phase[-1][0] - phase[0][0]) if phase[-1][0] > phase[0][0] else 0
    running = [s for s in warm if s[1] < total]
    for name, phase in (("with the client", [s for s in running if s[3] > 0]),
                        ("worker alone", [s for s in running if s[3] == 0])):
        if len(phase) < 6:
            checks.append(f"throughput {name}: {len(phase)} samples, too few to judge=ok")
            continue
        middle = next(i for i, s in enumerate(phase) if s[1] >= (phase[0][1] + phase[-1][1]) / 2)
        first, second = rate(phase[:middle + 1]), rate(phase[middle:])
        checks.append(f"throughput {name}: {first:.0f}/s then {second:.0f}/s "
                      f"({second / first * 100 if first else 0:.0f}%, floor 80%)="
                      + ("ok" if first and second >= 0.8 * first else "FAIL"))
    windows = [(d1 - d0) / (t1 - t0) for (t0, d0, *_), (t1, d1, *_) in zip(running, running[1:]) if t1 > t0]
    if windows:
        checks.append(f"5 s windows from {min(windows):.0f} to {max(windows):.0f} tasks/s=ok")
    for check in checks:
        print(check)
    return 0 if all(c.endswith("=ok") for c in checks) else 1


def table(path):
    rows = [json.loads(line) for line in read_lines(path)]
    headers = ["scenario", "broker", "sent", "completed", "lost", "duplicates", "seconds", "notes"]
    cells = [[str(row.get(h, "")) for h in headers] for row in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers[:-1])]
    def line(values):
        return "  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths))) \
            + "  " + values[-1]
    print(line(headers))
    print(line(["-" * w for w in widths] + ["-----"]))
    for c in cells:
        print(line(c))
    failed = [row["scenario"] + " [" + row["broker"] + "]" for row in rows if row.get("passed") is False]
    if failed:
        print("FAILED: " + ", ".join(failed))
        return 1
    return 0


def main():
    import argparse
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("poison")
    p.add_argument("directory")
    p.add_argument("count", type=int)
    p = commands.add_parser("tally")
    p.add_argument("--scenario", required=True)
    p.add_argument("--broker", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--seconds", type=float, default=0)
    p.add_argument("--good", help="ids of good tasks, one per line: each must end SUCCESS")
    p.add_argument("--bad", help="manifest.jsonl of messages that must fail or be dead-lettered")
    p.add_argument("--results", help="simul result --json output")
    p.add_argument("--dead-letters", help="simul dead-letters list --json output")
    p.add_argument("--records", help="the file simul.record appended task ids to")
    p.add_argument("--max-duplicates", type=int)
    p.add_argument("--check", action="append", help="NAME=ok or NAME=FAIL, from the shell")
    p.add_argument("--note", action="append")
    p.add_argument("--check-only", action="store_true")
    p.add_argument("--show-failures", action="store_true", help="name each bad message's failure in the notes")
    p.add_argument("--sent", type=int, help="instead of counting --good and --bad")
    p.add_argument("--completed", type=int, help="instead of counting SUCCESS results (the soak's expire)")
    p = commands.add_parser("skip")
    p.add_argument("--scenario", default="all")
    p.add_argument("--broker", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--note", required=True)
    p = commands.add_parser("soak")
    p.add_argument("samples")
    p.add_argument("total", type=int)
    p = commands.add_parser("table")
    p.add_argument("table")
    args = parser.parse_args()
    if args.command == "poison":
        poison(args.directory, args.count)
        return 0
    if args.command == "tally":
        return tally(args)
    if args.command == "skip":
        row = {"scenario": args.scenario, "broker": args.broker, "sent": "-", "completed": "-", "lost": "-",
               "duplicates": "-", "seconds": "-", "notes": args.note, "passed": None}
        with open(args.table, "a") as file:
            file.write(json.dumps(row) + "\n")
        return 0
    if args.command == "soak":
        return soak(args)
    return table(args.table)


if __name__ == "__main__":
    sys.exit(main())
