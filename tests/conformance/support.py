"""Small helpers for the conformance tests: publishing, reading queues, waiting for deliveries, expecting errors.

Everything here goes through pika's public `BlockingConnection` API, so it behaves the same on memq and RabbitMQ.
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import Callable, Iterator, NamedTuple

import pika
import pytest
from pika import exceptions as pika_errors
from pika import spec
from pika.adapters.blocking_connection import BlockingChannel

# How long to let RabbitMQ run when a test checks that nothing more arrives (a real wait; keep it short).
SETTLE_SECONDS = 0.05
# The longest a test waits for something that should arrive (only reached when the test is failing).
WAIT_SECONDS = 2.0

SERVER_QUEUE_NAME = re.compile(r"amq\.gen-[A-Za-z0-9_-]{22}")
SERVER_CONSUMER_TAG = re.compile(r"amq\.ctag-[A-Za-z0-9_-]{22}")
PIKA_CONSUMER_TAG = re.compile(r"ctag\d+\.[0-9a-f]{32}")


def not_found_queue(name: str) -> str:
    return f"NOT_FOUND - no queue '{name}' in vhost '/'"


def not_found_exchange(name: str) -> str:
    return f"NOT_FOUND - no exchange '{name}' in vhost '/'"


def resource_locked(name: str) -> str:
    return (
        f"RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{name}' in vhost '/'. It could be "
        "originally declared on another connection or the exclusive property value does not match that of the "
        "original declaration."
    )


DEFAULT_EXCHANGE_REFUSED = "ACCESS_REFUSED - operation not permitted on the default exchange"


def roundtrip(channel: BlockingChannel) -> None:
    """A harmless synchronous call: an error the broker sent for an earlier asynchronous call surfaces here."""
    channel.exchange_declare("amq.direct", passive=True)


@contextlib.contextmanager
def channel_closed(code: int, text: str) -> Iterator[None]:
    """Expects the block to raise `ChannelClosedByBroker` with exactly this reply code and text."""
    with pytest.raises(pika_errors.ChannelClosedByBroker) as info:
        yield
    assert (info.value.reply_code, info.value.reply_text) == (code, text)


@contextlib.contextmanager
def connection_closed(code: int, text: str) -> Iterator[None]:
    """Expects the block to raise `ConnectionClosedByBroker` with exactly this reply code and text."""
    with pytest.raises(pika_errors.ConnectionClosedByBroker) as info:
        yield
    assert (info.value.reply_code, info.value.reply_text) == (code, text)


def assert_channel_is_closed(channel: BlockingChannel) -> None:
    """The channel is closed: pika refuses further calls on it."""
    assert not channel.is_open
    with pytest.raises(pika_errors.ChannelWrongStateError):
        channel.basic_publish("", "anything", b"")


def server_queue(channel: BlockingChannel, **kwargs) -> str:
    """Declares an exclusive, server-named queue and returns its name."""
    return channel.queue_declare("", exclusive=True, **kwargs).method.queue


def publish(channel: BlockingChannel, exchange: str, routing_key: str, *bodies: str | bytes, **properties) -> None:
    """Publishes each body (a str is UTF-8 encoded) with the given `pika.BasicProperties` fields."""
    props = pika.BasicProperties(**properties) if properties else None
    for body in bodies:
        channel.basic_publish(exchange, routing_key, body.encode() if isinstance(body, str) else body, props)


def ready_count(channel: BlockingChannel, queue: str) -> int:
    """The ready message count from a passive declare."""
    return channel.queue_declare(queue, passive=True).method.message_count


class Got(NamedTuple):
    body: str
    delivery_tag: int
    redelivered: bool
    message_count: int


def get(channel: BlockingChannel, queue: str, auto_ack: bool = False) -> Got | None:
    """One `basic_get`, as a `Got`, or None when the queue is empty."""
    method, _properties, body = channel.basic_get(queue, auto_ack=auto_ack)
    if method is None:
        return None
    return Got(body.decode(), method.delivery_tag, method.redelivered, method.message_count)


def get_all(channel: BlockingChannel, queue: str, auto_ack: bool = True) -> list[Got]:
    """`basic_get` until the queue is empty."""
    got = []
    while (one := get(channel, queue, auto_ack)) is not None:
        got.append(one)
    return got


def bodies(channel: BlockingChannel, queue: str) -> list[str]:
    """Takes (and acks) every ready message of the queue; returns the bodies in order."""
    return [one.body for one in get_all(channel, queue)]


class Delivery(NamedTuple):
    consumer_tag: str
    body: str
    delivery_tag: int
    redelivered: bool
    exchange: str
    routing_key: str
    properties: pika.BasicProperties


class Inbox:
    """Collects what consumers receive; `inbox.callback` is an `on_message_callback`."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []

    def callback(self, _channel, method, properties, body: bytes) -> None:
        self.deliveries.append(
            Delivery(
                method.consumer_tag,
                body.decode(),
                method.delivery_tag,
                method.redelivered,
                method.exchange,
                method.routing_key,
                properties,
            )
        )

    def __len__(self) -> int:
        return len(self.deliveries)

    def by_consumer(self) -> list[tuple[str, str]]:
        """(consumer tag, body) for each delivery, in arrival order."""
        return [(d.consumer_tag, d.body) for d in self.deliveries]

    def wait_for(self, connection: pika.BlockingConnection, count: int) -> None:
        """Runs the connection until at least `count` deliveries arrived."""
        wait_until(connection, lambda: len(self.deliveries) >= count)

    def wait_for_exactly(self, connection: pika.BlockingConnection, count: int) -> None:
        """Runs the connection until `count` deliveries arrived, then a little longer to catch any extra one."""
        self.wait_for(connection, count)
        settle(connection)
        assert len(self.deliveries) == count, self.by_consumer()


def wait_until(connection: pika.BlockingConnection, condition: Callable[[], bool]) -> None:
    """Processes the connection's events until `condition()` holds (fails after `WAIT_SECONDS`)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("waited too long for a delivery")
        connection.process_data_events(time_limit=0.01)


def settle(connection: pika.BlockingConnection) -> None:
    """Processes events for a short while, so that anything that would still arrive does."""
    connection.process_data_events(time_limit=SETTLE_SECONDS)


def routes(channel: BlockingChannel, exchange: str, routing_key: str, binding_key: str = "",
           binding_arguments: dict | None = None, headers: dict | None = None) -> bool:
    """Binds a fresh queue to `exchange` and says whether a message published with `routing_key` reaches it."""
    queue = server_queue(channel)
    channel.queue_bind(queue, exchange, binding_key, arguments=binding_arguments)
    publish(channel, exchange, routing_key, "m", headers=headers)
    reached = ready_count(channel, queue) == 1
    channel.queue_delete(queue)
    return reached


def raw_consume(connection: pika.BlockingConnection, channel: BlockingChannel, queue: str,
                consumer_tag: str) -> list[str]:
    """Sends Basic.Consume as given, below pika's own checks; returns the tags of the ConsumeOk replies received.

    pika's `basic_consume` never sends an empty tag (it makes its own) and refuses a duplicate one before
    sending, so this is the only way to see what the broker does in those cases.
    """
    replies: list[str] = []
    channel._impl._rpc(spec.Basic.Consume(queue=queue, consumer_tag=consumer_tag),
                       lambda frame: replies.append(frame.method.consumer_tag), [spec.Basic.ConsumeOk])
    connection.process_data_events(time_limit=SETTLE_SECONDS)
    return replies
