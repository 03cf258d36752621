"""The `amqp` fixture: each conformance test runs on memq, on memq behind a socket, and on the real RabbitMQ.

"memq" patches pika onto an in-process broker; "memq-serve" connects pika over TCP to one `memq serve`
subprocess shared by the whole session (started on first use, killed at the end); "rabbitmq" is the broker on
127.0.0.1:5672. Tests talk to all three through pika's `BlockingConnection` and nothing else, so a difference in
behaviour shows up as a test that passes on one id and fails on another.

RabbitMQ keeps its state between tests, so a test names what it declares with `amqp.unique(...)` (the teardown
deletes those names) or uses exclusive, server-named queues (gone with their connection).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator

import pika
import pytest
from pika import exceptions as pika_errors
from pika.adapters.blocking_connection import BlockingChannel

from memq._server import control

RABBITMQ_HOST = "127.0.0.1"
RABBITMQ_PORT = 5672
START_TIMEOUT = 30.0  # seconds `memq serve` gets to print its address
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


class RabbitMQ(Target):
    name = "rabbitmq"

    def _open(self, **params) -> pika.BlockingConnection:
        return pika.BlockingConnection(pika.ConnectionParameters(RABBITMQ_HOST, RABBITMQ_PORT, **params))

    def elapse(self, seconds: float) -> None:
        """Lets `seconds` of real time pass (keep these short: they are real waits)."""
        time.sleep(seconds)

    def _token(self) -> str:
        return uuid.uuid4().hex[:12]


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


class MemqServer:
    """One `python -m memq serve` subprocess on free ports: its AMQP port, its control port and its stderr."""

    def __init__(self) -> None:
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "memq", "serve", "--host", "127.0.0.1", "--port", "0", "--control-port", "0"],
            stdout=subprocess.PIPE, stderr=self._stderr, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT)
            line = self.process.stdout.readline() if ready else ""  # type: ignore[union-attr]
            match = re.match(r"memq serving amqp://\S+@([\d.]+):(\d+)/\S* control [\d.]+:(\d+)", line)
            if match is None:
                raise RuntimeError(f"memq serve did not start: {line!r}\n{self.stderr()}")
        except BaseException:
            self.stop()
            raise
        self.host, self.port, self.control_port = match.group(1), int(match.group(2)), int(match.group(3))

    def control(self, command: str) -> str:
        return control(self.host, self.control_port, command)

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-4000:]

    def check_alive(self) -> None:
        """Fails the test if the server process ended or its broker's invariants no longer hold."""
        code = self.process.poll()
        if code is not None:
            pytest.fail(f"memq serve exited with code {code}:\n{self.stderr()}", pytrace=False)
        self.control("check")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()


class MemqServe(Target):
    name = "memq-serve"

    # Shared by every MemqServe of the session (one server), so names never repeat on it.
    _counter = itertools.count(1)

    def __init__(self, server: MemqServer) -> None:
        super().__init__()
        self.server = server

    def _open(self, **params) -> pika.BlockingConnection:
        connection = pika.BlockingConnection(pika.ConnectionParameters(self.server.host, self.server.port, **params))
        # Guard against testing RabbitMQ (or in-process memq) twice: pika must hold a real socket to memq serve's
        # port, and memq must have answered Connection.Start.
        peer = connection._impl._transport._sock.getpeername()
        assert peer == (self.server.host, self.server.port), f"pika connected to {peer}, not to memq serve"
        cluster = connection._impl.server_properties.get("cluster_name")
        assert cluster == "rabbit@memq", f"pika connected to {cluster!r}, not to memq serve"
        return connection

    def elapse(self, seconds: float) -> None:
        """Jumps the server's clock forward by `seconds` (on top of wall time) through its control port."""
        self.server.control(f"advance {seconds}")

    def _token(self) -> str:
        return f"serve{next(self._counter):04d}"


@pytest.fixture(scope="session")
def memq_server() -> Iterator[MemqServer]:
    """The session's `memq serve` subprocess; only the memq-serve tests ask for it, so it starts lazily."""
    server = MemqServer()
    try:
        yield server
    finally:
        server.stop()


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


@pytest.fixture(params=["memq", "memq-serve", "rabbitmq"])
def amqp(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The broker under test: memq (patched into pika), memq behind a socket, or RabbitMQ on 127.0.0.1:5672."""
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
    elif request.param == "memq-serve":
        server: MemqServer = request.getfixturevalue("memq_server")
        server.check_alive()
        target = MemqServe(server)
        try:
            yield target
        finally:
            target.close_connections()
            target.delete_declared()
        server.check_alive()
    else:
        _require_rabbitmq()
        target = RabbitMQ()
        try:
            yield target
        finally:
            target.close_connections()
            target.delete_declared()
