"""Prints the frames py-amqp 5.4 (Celery's AMQP client) writes for the cases AMQPWireTests checks, as hex.

Run with a Python that has `amqp` (scripts/python-celery-env.sh makes one); paste what it prints into the tests.
"""
import datetime
import decimal

from amqp import spec
from amqp.basic_message import Message
from amqp.method_framing import frame_writer
from amqp.serialization import dumps


class Connection:
    frame_max = 131072
    bytes_sent = 0


class Transport:
    def __init__(self):
        self.written = bytearray()

    def write(self, data):
        self.written += bytes(data)


def frame(method, argsig, args, content=None, channel=1):
    transport = Transport()
    frame_writer(Connection(), transport)(1, channel, method, dumps(argsig, args), content)
    return transport.written.hex()


celery_headers = {
    "lang": "py", "task": "tasks.add", "id": "8b1f6c2e-3f4a-4b5c-9d6e-7f8091a2b3c4", "shadow": None, "eta": None,
    "expires": None, "group": None, "group_index": None, "retries": 0, "timelimit": [None, None],
    "root_id": "8b1f6c2e-3f4a-4b5c-9d6e-7f8091a2b3c4", "parent_id": None, "argsrepr": "(2, 3)", "kwargsrepr": "{}",
    "origin": "gen42@host", "ignore_result": False, "stamped_headers": None, "stamps": {},
}
message = Message(
    body=b'[[2, 3], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]',
    content_type="application/json", content_encoding="utf-8", application_headers=celery_headers,
    delivery_mode=2, priority=0, correlation_id="8b1f6c2e-3f4a-4b5c-9d6e-7f8091a2b3c4",
    reply_to="a1b2c3d4-0000-3000-8000-000000000001",
)
every_type = {
    "text": "olá", "yes": True, "small": 7, "negative": -2, "big": 2**40, "ratio": 0.25,
    "price": decimal.Decimal("12.34"), "when": datetime.datetime(2026, 12, 7, 21, 0, 0),
    "nested": {"list": [1, "two", None, {"deep": False}]}, "nothing": None,
}
cases = {
    "publish": frame(spec.Basic.Publish, "Bssbb", (0, "", "celery", False, False), message),
    "queueDeclare": frame(
        spec.Queue.Declare, "BsbbbbbF", (0, "celery", False, True, False, False, False, {"x-max-priority": 10})),
    "qos": frame(spec.Basic.Qos, "lBb", (0, 4, True)),
    "ack": frame(spec.Basic.Ack, "Lb", (5, False)),
    "startOk": frame(spec.Connection.StartOk, "FsSs", (every_type, "PLAIN", "\0guest\0guest", "en_US"), channel=0),
}
for name, hex_ in cases.items():
    print(f'"{name}": "{hex_}",')
