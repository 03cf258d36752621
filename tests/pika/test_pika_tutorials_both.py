"""The tutorials' publishing programs, unchanged, against memq and against the real RabbitMQ.

The programs connect to localhost:5672 themselves, so they run on memq inside `memq.pika.patched()`
and on the RabbitMQ at 127.0.0.1:5672 without it; the test reads what they left with `basic_get`.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Iterator

import pika
import pytest

import memq
import memq.pika
from pika_tutorials import emit_log, emit_log_direct, emit_log_topic, new_task, send

FIXED_QUEUES = ("hello", "task_queue")
FIXED_EXCHANGES = ("logs", "direct_logs", "topic_logs")


def _require_rabbitmq() -> None:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
    except OSError:
        reason = "RabbitMQ is not reachable on 127.0.0.1:5672"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: these tests must run against it)", pytrace=False)
        pytest.skip(reason)


def _clean(channel: pika.adapters.blocking_connection.BlockingChannel) -> None:
    for queue in FIXED_QUEUES:
        channel.queue_delete(queue)
    for exchange in FIXED_EXCHANGES:
        channel.exchange_delete(exchange)


@pytest.fixture(params=["memq", "rabbitmq"])
def channel(request: pytest.FixtureRequest) -> Iterator[pika.adapters.blocking_connection.BlockingChannel]:
    """A channel on the broker the tutorials' own connections reach, cleaned before and after."""
    if request.param == "rabbitmq":
        _require_rabbitmq()
    with memq.pika.patched(memq.Broker(seed=0)) if request.param == "memq" else _nothing():
        connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
        ch = connection.channel()
        _clean(ch)
        yield ch
        _clean(ch)
        connection.close()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _get(channel, queue: str, wait: bool = True):  # type: ignore[no-untyped-def]
    """basic_get, waiting (if `wait`) up to 5 s for RabbitMQ to route what another connection published."""
    deadline = time.monotonic() + (5 if wait else 0)
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is not None or time.monotonic() > deadline:
            return method, properties, body
        channel.connection.process_data_events(time_limit=0.02)


def test_send_leaves_hello_world_in_the_hello_queue(channel) -> None:  # type: ignore[no-untyped-def]
    """send.py declares 'hello' and publishes 'Hello World!' through the default exchange."""
    send.main()
    method, _, body = _get(channel, "hello")
    assert (body, method.exchange, method.routing_key) == (b"Hello World!", "", "hello")


def test_new_task_publishes_a_persistent_task(channel) -> None:  # type: ignore[no-untyped-def]
    """new_task.py publishes to the durable task_queue with delivery_mode 2."""
    new_task.main(["new_task.py", "Hello..."])
    _, properties, body = _get(channel, "task_queue")
    assert (body, properties.delivery_mode) == (b"Hello...", 2)


def test_emit_log_fans_out_to_every_bound_queue(channel) -> None:  # type: ignore[no-untyped-def]
    """emit_log.py's message reaches every queue bound to the fanout exchange 'logs'."""
    channel.exchange_declare("logs", "fanout")
    queues = [channel.queue_declare("", exclusive=True).method.queue for _ in range(2)]
    for queue in queues:
        channel.queue_bind(queue, "logs")
    emit_log.main(["emit_log.py", "info:", "hi"])
    assert [_get(channel, queue)[2] for queue in queues] == [b"info: hi", b"info: hi"]


@pytest.mark.parametrize("program, exchange, kind, bindings, key, expected", [
    (emit_log_direct, "direct_logs", "direct", ["error", "info"], "error", [True, False]),
    (emit_log_topic, "topic_logs", "topic", ["kern.*", "*.info"], "kern.critical", [True, False]),
    (emit_log_topic, "topic_logs", "topic", ["kern.*", "*.info"], "kern.info", [True, True]),
])
def test_routed_logs_reach_only_matching_queues(channel, program, exchange, kind, bindings, key,  # type: ignore[no-untyped-def]
                                                expected) -> None:
    """emit_log_direct.py and emit_log_topic.py route by severity and by topic."""
    channel.exchange_declare(exchange, kind)
    queues = []
    for binding in bindings:
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queue, exchange, binding)
        queues.append(queue)
    program.main(["emit.py", key, "message"])
    # Wait for the queues that should get it; once they have, routing is over for the others too.
    order = sorted(range(len(queues)), key=lambda i: not expected[i])
    got = {i: _get(channel, queues[i], wait=expected[i])[0] is not None for i in order}
    assert [got[i] for i in range(len(queues))] == expected
