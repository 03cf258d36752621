"""`memq_pika`: every pika connection a test makes reaches the test's broker, memq's or a real RabbitMQ.

Theory of operation: while the harness is started, `BlockingConnection.__init__` and
`SelectConnection.__init__` (patched on the classes, so every import of them is covered) rewrite the
connection parameters to point at the test's broker. On memq that is an address `memq.pika.patched()`
answers, on virtual time; with `--memq-broker` it is the URL's host and port, and a connection made
with pika's default credentials and virtual host gets the URL's. A `Recorder` notes what the clients
do, for the assertion helpers and, on a real broker, for the failure report.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from typing import Any, Callable, Iterator

import pika
import pika.adapters.blocking_connection as blocking
import pika.adapters.select_connection as select
from pika import exceptions as pika_errors

from . import _expect
from ._recorder import Delivery, Recorder, SentMessage
from ._settings import RealClock, mask_url

__all__ = ["PikaHarness", "RealQueue"]

_SIMULATED_ADDRESS = ("localhost", 5672)
_DEFAULT_CREDENTIALS = ("guest", "guest")


def _skip_real(what: str) -> None:
    import pytest

    pytest.skip(f"{what} needs the simulated broker (this run uses --memq-broker)")


class PikaHarness:
    """What `memq_pika` yields: where pika connects, time helpers, inspection and assertion helpers.

    Args:
        broker: the test's `memq.Broker`, or None to use the real broker at `url`.
        url: the AMQP URL of the real broker (with `broker=None`).
        heartbeats: the heartbeat memq proposes in Connection.Tune (RabbitMQ's default: 60; 0 disables).
    """

    def __init__(self, broker: Any = None, url: str | None = None, heartbeats: int = 60) -> None:
        self._broker = broker
        self.url = url or "amqp://guest:guest@localhost:5672/%2F"
        self.simulated = broker is not None
        self.clock: Any = broker.clock if broker is not None else RealClock()
        self._origin = self.clock.now()
        self.recorder = Recorder(lambda: self.clock.now() - self._origin)
        self.connections: list[Any] = []
        self._heartbeats = heartbeats
        self._target = pika.URLParameters(self.url)
        self._exit = contextlib.ExitStack()
        self._saved: dict[Any, Callable[..., Any]] = {}
        self._side_connection: Any = None
        self._making_side = False
        self._pumps: list[tuple[threading.Thread, threading.Event, Any]] = []
        self.errors: list[BaseException] = []

    # lifecycle

    def start(self) -> "PikaHarness":
        """Patch pika so that its connections reach the test's broker."""
        if self.simulated:
            import memq.pika

            self._exit.enter_context(memq.pika.patched(self._broker, heartbeat=self._heartbeats))
        self.recorder.install()
        self._patch_init(blocking.BlockingConnection)
        self._patch_init(select.SelectConnection)
        return self

    def stop(self) -> None:
        """Stop background pumps, close the test's connections, undo the patches and (real broker) clean up."""
        for thread, stopping, _ in self._pumps:
            stopping.set()
            thread.join(10)
        for connection in reversed(self.connections):
            with contextlib.suppress(Exception):
                if connection.is_open:
                    connection.close()
        if not self.simulated:
            self._delete_declared()
        if self._side_connection is not None:
            with contextlib.suppress(Exception):
                self._side_connection.close()
        for cls, original in self._saved.items():
            cls.__init__ = original
        self._saved.clear()
        self.recorder.uninstall()
        self._exit.close()

    def _patch_init(self, cls: type) -> None:
        original = cls.__init__
        harness = self

        def __init__(connection: Any, parameters: Any = None, *args: Any, **kwargs: Any) -> None:
            original(connection, harness.redirect(parameters), *args, **kwargs)
            if isinstance(connection, blocking.BlockingConnection) and not harness._making_side:
                harness.connections.append(connection)

        __init__.__wrapped__ = original  # type: ignore[attr-defined]
        self._saved[cls] = original
        cls.__init__ = __init__  # type: ignore[method-assign]

    def redirect(self, parameters: Any) -> Any:
        """The connection parameters pointed at the test's broker (a copy; `None` means pika's defaults)."""
        if parameters is None:
            parameters = pika.ConnectionParameters()
        if isinstance(parameters, (list, tuple)):
            return type(parameters)(self.redirect(p) for p in parameters)
        if not isinstance(parameters, pika.connection.Parameters):
            return parameters
        moved = copy.copy(parameters)
        if self.simulated:
            moved.host, moved.port = _SIMULATED_ADDRESS
            return moved
        target = self._target
        moved.host, moved.port, moved.ssl_options = target.host, target.port, target.ssl_options
        credentials = moved.credentials
        if (getattr(credentials, "username", None), getattr(credentials, "password", None)) == _DEFAULT_CREDENTIALS:
            moved.credentials = target.credentials
        if moved.virtual_host == "/":
            moved.virtual_host = target.virtual_host
        return moved

    # connecting

    def parameters(self, **params: Any) -> pika.ConnectionParameters:
        """`pika.ConnectionParameters` for the test's broker; `params` are passed on."""
        return self.redirect(pika.ConnectionParameters(**params))

    def connect(self, **params: Any) -> pika.BlockingConnection:
        """A new `pika.BlockingConnection` to the test's broker (closed at teardown)."""
        return pika.BlockingConnection(self.parameters(**params))

    # time

    @property
    def broker(self) -> Any:
        """The `memq.Broker` (skips the test under `--memq-broker`)."""
        if not self.simulated:
            _skip_real("memq_pika.broker")
        return self._broker

    def now(self) -> float:
        """The time: virtual on memq, the wall clock on a real broker (epoch seconds)."""
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass: memq's clock jumps (firing TTLs and timers); on a real broker, sleeps."""
        self.clock.advance(seconds)

    def run_until_idle(self, *connections: Any, timeout: float = 10.0, quiet: float = 0.25) -> None:
        """Process the connections' events until nothing more happens.

        On memq: until nothing can happen without moving virtual time (`memq.pika.run_until_idle`).
        On a real broker: until no publish, delivery or ack was seen for `quiet` seconds, or `timeout`.
        """
        if self.simulated:
            import memq.pika

            memq.pika.run_until_idle(*connections)
            return
        deadline = time.monotonic() + timeout
        last, since = self._activity(), time.monotonic()
        while time.monotonic() < deadline:
            for connection in connections:
                if connection.is_open:
                    connection.process_data_events(time_limit=0.02)
            if not connections:
                time.sleep(0.02)
            now = self._activity()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return

    def _activity(self) -> tuple[int, int, int]:
        recorder = self.recorder
        return (len(recorder.sent), len(recorder.deliveries), sum(d.outcome is not None for d in recorder.deliveries))

    def background(self, connection: Any) -> Any:
        """Let `connection` handle its deliveries on its own, as a consumer in another process would.

        On memq it runs whenever another connection waits (`memq.pika.background`); on a real broker
        a thread processes its events until teardown. Returns the connection.
        """
        if self.simulated:
            import memq.pika

            return memq.pika.background(connection)
        stopping = threading.Event()

        def pump() -> None:
            try:
                while not stopping.is_set() and connection.is_open:
                    connection.process_data_events(time_limit=0.02)
            except BaseException as error:  # noqa: BLE001 - reported at teardown
                self.errors.append(error)

        thread = threading.Thread(target=pump, name="memq-background", daemon=True)
        self._pumps.append((thread, stopping, connection))
        thread.start()
        return connection

    # inspection

    @property
    def trace(self) -> Any:
        """memq's trace (`memq.Trace`); on a real broker, the client-side notes as trace records."""
        if self.simulated:
            return self._broker.trace
        return self.recorder.events()

    def queue(self, name: str) -> Any:
        """A view of queue `name`: `.message_count`, `.consumer_count`, `.messages`, `.bodies`.

        Raises:
            KeyError: no such queue.
        """
        if self.simulated:
            return self._broker.queue(name)
        view = RealQueue(self, name)
        if not view.exists:
            raise KeyError(name)
        return view

    def snapshot(self) -> str:
        """Queues, bindings and consumers as text tables."""
        if self.simulated:
            return str(self._broker.snapshot())
        return self._real_snapshot()

    def published(self, **filters: Any) -> list[SentMessage]:
        """The messages the test's clients published, in order (with body and properties).

        Filters as for `assert_published`: `exchange`, `routing_key`, `body`, `json`, `headers`, `where`.
        """
        return [m for m in self.recorder.sent if _expect.matches(m, **filters)]

    def deliveries(self, **filters: Any) -> list[Delivery]:
        """The messages the test's clients received, by consumer or `basic.get`, in order."""
        return [d for d in self.recorder.deliveries if _expect.matches(d, **filters)]

    def consumed(self, **filters: Any) -> list[Delivery]:
        """The deliveries that were acknowledged (or taken with auto_ack); filters add `queue`."""
        return [d for d in self.recorder.consumed if _expect.matches(d, **filters)]

    # assertions

    def assert_published(self, *, count: int | None = None, **filters: Any) -> list[SentMessage]:
        """Assert that matching messages were published (see `pytest_memq.assert_published`)."""
        __tracebackhide__ = True
        return _expect.assert_published(self.recorder, count=count, **filters)

    def assert_not_published(self, **filters: Any) -> None:
        """Assert that no matching message was published."""
        __tracebackhide__ = True
        _expect.assert_not_published(self.recorder, **filters)

    def assert_consumed(self, *, count: int | None = None, **filters: Any) -> list[Delivery]:
        """Assert that matching messages were consumed; the failure shows what waits in the queues."""
        __tracebackhide__ = True
        return _expect.assert_consumed(self.recorder, count=count, waiting=self._waiting, **filters)

    def assert_not_consumed(self, **filters: Any) -> None:
        """Assert that no matching message was consumed."""
        __tracebackhide__ = True
        _expect.assert_not_consumed(self.recorder, **filters)

    def _waiting(self) -> str:
        try:
            return "Broker now:\n" + self.snapshot()
        except Exception as error:  # noqa: BLE001 - the snapshot is a courtesy
            return f"Broker now: (no snapshot: {error!r})"

    # the real broker

    def side_channel(self) -> Any:
        """A channel on the harness's own connection to the real broker (not recorded, not the test's)."""
        if self._side_connection is None or not self._side_connection.is_open:
            self._making_side = True
            try:
                self._side_connection = pika.BlockingConnection(self.parameters())
            finally:
                self._making_side = False
            self.recorder.ignore(self._side_connection)
        return self._side_connection.channel()

    def _passive(self, name: str) -> Any:
        channel = self.side_channel()
        try:
            ok = channel.queue_declare(name, passive=True).method
        except pika_errors.ChannelClosedByBroker as error:
            if error.reply_code == 404:
                return None
            raise
        with contextlib.suppress(Exception):
            channel.close()
        return ok

    def _real_snapshot(self) -> str:
        rows = [("name", "messages_ready", "consumers")]
        for name in self.recorder.queues:
            ok = self._passive(name)
            rows.append((name, "(deleted)", "") if ok is None else (name, str(ok.message_count), str(ok.consumer_count)))
        lines = [f"Queues declared by the test on {mask_url(self.url)} (unacknowledged counts need the "
                 f"management API)", _table(rows), "", "Bindings declared by the test",
                 _table([("source_name", "destination_name", "routing_key")] + list(self.recorder.bindings)), "",
                 "Consumers started by the test",
                 _table([("queue_name", "consumer_tag", "connection", "channel")] +
                        [(q, tag, c, str(ch)) for (c, ch, tag), (q, _) in self.recorder.consumers.items()])]
        return "\n".join(lines)

    def _delete_declared(self) -> None:
        """Delete the queues and exchanges the test declared, so that the next test starts clean."""
        for name in self.recorder.queues:
            with contextlib.suppress(Exception):
                self.side_channel().queue_delete(name)
        for name, _ in self.recorder.exchanges:
            with contextlib.suppress(Exception):
                self.side_channel().exchange_delete(name)


class RealQueue:
    """A queue on a real broker, read through a side connection (`queue.declare` passive, `basic.get`)."""

    def __init__(self, harness: PikaHarness, name: str) -> None:
        self._harness = harness
        self.name = name

    @property
    def exists(self) -> bool:
        """Whether the queue exists now."""
        return self._harness._passive(self.name) is not None

    @property
    def message_count(self) -> int:
        """Ready messages."""
        return self._ok().message_count

    @property
    def consumer_count(self) -> int:
        """Consumers."""
        return self._ok().consumer_count

    @property
    def unacked_count(self) -> int:
        """Unacknowledged messages: unknown without the management API, so the test is skipped."""
        _skip_real("queue(...).unacked_count")
        return 0

    def _ok(self) -> Any:
        ok = self._harness._passive(self.name)
        if ok is None:
            raise KeyError(self.name)
        return ok

    @property
    def messages(self) -> list[Any]:
        """The ready messages, peeked with `basic.get` and requeued (they come back marked redelivered)."""
        from memq._inspect import QueuedMessage

        channel = self._harness.side_channel()
        found = []
        for method, properties, body in _drain(channel, self.name):
            found.append(QueuedMessage(body, properties, method.exchange, method.routing_key, method.redelivered))
        with contextlib.suppress(Exception):
            channel.close()  # unacknowledged messages go back to the queue, in order
        return found

    @property
    def bodies(self) -> list[bytes]:
        """The bodies of the ready messages."""
        return [m.body for m in self.messages]

    def __repr__(self) -> str:
        return f"<RealQueue {self.name!r}>"


def _drain(channel: Any, queue: str) -> Iterator[tuple[Any, Any, bytes]]:
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=False)
        if method is None:
            return
        yield method, properties, body


def _table(rows: list[tuple[str, ...]]) -> str:
    if len(rows) == 1:
        rows = rows + [("(none)",) + ("",) * (len(rows[0]) - 1)]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
