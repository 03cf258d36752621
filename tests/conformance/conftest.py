"""The `amqp` fixture: each conformance test runs once on memq and once on the real RabbitMQ.

Tests talk to both through pika's `BlockingConnection` and nothing else, so a difference in behaviour shows up
as a test that passes on one id and fails on the other.

RabbitMQ keeps its state between tests, so a test names what it declares with `amqp.unique(...)` (the teardown
deletes those names) or uses exclusive, server-named queues (gone with their connection).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Iterator

import pika
import pytest
from pika import exceptions as pika_errors
from pika.adapters.blocking_connection import BlockingChannel

RABBITMQ_HOST = "127.0.0.1"
RABBITMQ_PORT = 5672
_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.conformance)


class Target:
    """What a test gets: connections to the broker under test, its notion of time, and unique names."""

    name: str

    def __init__(self) -> None:
        self._connections: list[pika.BlockingConnection] = []
        self.declared: list[str] = []

    def connect(self, **params) -> pika.BlockingConnection:
        """A new `pika.BlockingConnection`; `params` go to `pika.ConnectionParameters`."""
        connection = self._open(**params)
        self._connections.append(connection)
        return connection

    def channel(self, connection: pika.BlockingConnection | None = None) -> BlockingChannel:
        """A channel in publisher-confirm mode, on `connection` or on a new connection.

        With confirms, `basic_publish` returns once the queues have the message; without them a count read
        right after a publish is racy on RabbitMQ.
        """
        channel = (connection or self.connect()).channel()
        channel.confirm_delivery()
        return channel

    def unique(self, name: str) -> str:
        """A queue or exchange name no other test uses; the teardown deletes it."""
        made = f"conformance.{name}.{self._token()}"
        self.declared.append(made)
        return made

    def elapse(self, seconds: float) -> None:
        raise NotImplementedError

    def _open(self, **params) -> pika.BlockingConnection:
        raise NotImplementedError

    def _token(self) -> str:
        raise NotImplementedError

    def close_connections(self) -> None:
        for connection in self._connections:
            if connection.is_open:
                with contextlib.suppress(pika_errors.AMQPError):
                    connection.close()
        self._connections.clear()


class RabbitMQ(Target):
    name = "rabbitmq"

    def _open(self, **params) -> pika.BlockingConnection:
        return pika.BlockingConnection(pika.ConnectionParameters(RABBITMQ_HOST, RABBITMQ_PORT, **params))

    def elapse(self, seconds: float) -> None:
        """Lets `seconds` of real time pass (keep these short: they are real waits)."""
        time.sleep(seconds)

    def _token(self) -> str:
        return uuid.uuid4().hex[:12]

    def delete_declared(self) -> None:
        """Deletes every name `unique()` gave out, as a queue and as an exchange (both are fine if absent)."""
        if not self.declared:
            return
        connection = self._open()
        try:
            channel = connection.channel()
            for name in self.declared:
                for attempt in range(20):
                    try:
                        channel.queue_delete(name)
                        channel.exchange_delete(name)
                        break
                    except pika_errors.ChannelClosedByBroker as error:
                        # An exclusive queue whose connection just closed can still be locked for a moment.
                        if error.reply_code != 405 or attempt == 19:
                            raise
                        time.sleep(0.01)
                        channel = connection.channel()
        finally:
            connection.close()


class Memq(Target):
    name = "memq"

    def __init__(self, broker) -> None:
        super().__init__()
        self.broker = broker
        self._counter = itertools.count(1)

    def _open(self, **params) -> pika.BlockingConnection:
        events_before = len(self.broker.trace)
        connection = pika.BlockingConnection(pika.ConnectionParameters("localhost", **params))
        # Guard against testing RabbitMQ twice: the connection must have been opened on memq's broker.
        assert len(self.broker.trace) > events_before, "pika connected somewhere other than memq"
        return connection

    def elapse(self, seconds: float) -> None:
        """Advances memq's virtual clock by `seconds`."""
        self.broker.clock.advance(seconds)

    def _token(self) -> str:
        return f"{next(self._counter):04d}"


_rabbitmq_reachable: bool | None = None


def _rabbitmq_is_reachable() -> bool:
    global _rabbitmq_reachable
    if _rabbitmq_reachable is None:
        try:
            socket.create_connection((RABBITMQ_HOST, RABBITMQ_PORT), timeout=1).close()
            _rabbitmq_reachable = True
        except OSError:
            _rabbitmq_reachable = False
    return _rabbitmq_reachable


def _require_rabbitmq() -> None:
    if _rabbitmq_is_reachable():
        return
    reason = f"RabbitMQ is not reachable on {RABBITMQ_HOST}:{RABBITMQ_PORT}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the conformance tests must run against it)", pytrace=False)
    pytest.skip(f"{reason}; start it with `rabbitmq-server -detached` to run the rabbitmq half")


@pytest.fixture(params=["memq", "rabbitmq"])
def amqp(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The broker under test: memq (patched into pika) or the real RabbitMQ on 127.0.0.1:5672."""
    if request.param == "memq":
        import memq
        import memq.pika

        broker = memq.Broker(seed=0)
        target = Memq(broker)
        with memq.pika.patched(broker):
            try:
                yield target
            finally:
                target.close_connections()
        broker.check_invariants()
    else:
        _require_rabbitmq()
        target = RabbitMQ()
        try:
            yield target
        finally:
            target.close_connections()
            target.delete_declared()

