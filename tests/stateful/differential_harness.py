"""Two brokers driven in lockstep through pika: memq (patched into pika) and the real RabbitMQ.

A `Side` holds one broker's pika connections and channels, by logical handle (the n-th connection or
channel the state machine opened), and turns everything pika hands back into plain, comparable values.
`Pair` runs each operation on both sides and compares what each side saw.

How the comparison stays exact although RabbitMQ is asynchronous:

- Time. memq's virtual clock follows the wall clock (it is advanced to the real time of each step before the
  step runs on memq), so a TTL counts down on both sides from the same instant. Before each step the pair
  looks at memq's next timer; if it falls due within `GUARD_BEFORE`, both sides wait until `GUARD_AFTER`
  past it, so no step straddles an expiry.
- Publishes go through confirm-mode channels: `basic_publish` returns once every queue has the message.
- Acks, nacks, rejects and recover are asynchronous in AMQP; each is followed by a passive declare, on the
  same channel, of the queues the channel took messages from. RabbitMQ's queue process answers it only after
  handling the settlement, so an error surfaces there and the queue's state is settled.
- Deliveries and broker cancels: memq runs first and is idle at once; RabbitMQ's connections are then
  pumped until each channel has as many as memq's (or `WAIT_SECONDS` pass, which shows up as a difference).
- Queues RabbitMQ deletes in the background (auto-delete, exclusive, x-expires): for each queue or exchange
  memq deleted during the step, RabbitMQ is polled until it is gone too.

Only server-generated names (`amq.gen-...`, pika's `ctag...` consumer tags) and the `time` of `x-death`
entries are normalised; everything else is compared as pika returned it.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import re
import signal
import socket
import time
import uuid
from typing import Any, Callable, Iterator

import pika
import pytest
from pika import amqp_object, frame
from pika import exceptions as pika_errors

import memq
import memq.pika
from memq import events

RABBITMQ_HOST = "127.0.0.1"
RABBITMQ_PORT = 5672

GUARD_BEFORE = 0.030
"""No step starts when a memq timer is due within this many seconds..."""
GUARD_AFTER = 0.015
"""...instead both sides wait until this long after it, so RabbitMQ has acted on its own timer."""
WAIT_SECONDS = 0.5
"""The longest RabbitMQ is waited for (reached only when the two brokers differ)."""

_GENERATED_QUEUE = re.compile(r"amq\.gen-[A-Za-z0-9_-]{22}")
_PIKA_CONSUMER_TAG = re.compile(r"ctag\d+\.[0-9a-f]{32}")
# What pika's own messages say about the client side: the host it connected to, transport objects.
_CLIENT_DETAILS = re.compile(r"host=(localhost|127\.0\.0\.1)|transport=<[^<>]*>| at 0x[0-9a-f]+")


def _client_detail(match: re.Match) -> str:
    text = match.group()
    return "host=<broker>" if text.startswith("host=") else ("transport=<...>" if text.startswith("t") else "")


ANSWER_SECONDS = 5.0
"""The longest a single call may wait for RabbitMQ's answer before the step fails."""


class NoAnswer(Exception):
    """RabbitMQ did not answer a call (it leaves some malformed requests unanswered)."""


def require_rabbitmq() -> None:
    """Skip unless RabbitMQ answers on 127.0.0.1:5672; under CI=true, fail instead."""
    try:
        socket.create_connection((RABBITMQ_HOST, RABBITMQ_PORT), timeout=1).close()
        return
    except OSError:
        pass
    reason = f"RabbitMQ is not reachable on {RABBITMQ_HOST}:{RABBITMQ_PORT}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the differential test must run against it)", pytrace=False)
    pytest.skip(f"{reason}; start it with `rabbitmq-server -detached`")


def _padded(base: str, size: int) -> str:
    return base + "n" * (size - len(base.encode()))


class Side:
    """One broker as the state machine sees it: connections, channels and what they received, by handle."""

    name = ""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.connections: list[pika.BlockingConnection | None] = []
        self.channels: list[Any] = []
        self.channel_connection: list[int] = []
        self.inbox: list[list[tuple]] = []
        self.cancelled: list[list[str]] = []
        self.generated: list[str] = []
        self.consumer_tags: list[str | None] = []
        self._aliases: dict[str, str] = {}

    # --- names -----------------------------------------------------------------------------------

    def queue_name(self, slot: str) -> str:
        """The real name of a queue slot on this side."""
        if slot.startswith("gen"):
            index = int(slot[3:])
            return self.generated[index] if index < len(self.generated) else self.prefix + slot
        return self._name(slot, "q")

    def exchange_name(self, slot: str) -> str:
        """The real name of an exchange slot on this side (`amq.*` and "" are themselves)."""
        if slot.startswith("amq.") or slot == "":
            return slot
        return self._name(slot, "x")

    def _name(self, slot: str, kind: str) -> str:
        if slot == "":
            return ""
        if slot == "long255":
            return _padded(self.prefix + kind, 255)
        if slot == "long256":
            return _padded(self.prefix + kind, 256)
        if slot == "unicode":
            return self.prefix + kind + "ü€😀"
        if slot == "reserved":
            return "amq." + self.prefix + kind
        if slot == "crlf":
            return self.prefix + kind + "\r\nz"
        return self.prefix + slot

    def resolve(self, value: Any) -> Any:
        """Replace ("queue", slot) / ("exchange", slot) references, inside containers too, by real names."""
        if isinstance(value, tuple) and len(value) == 2 and value[0] in ("queue", "exchange"):
            return self.queue_name(value[1]) if value[0] == "queue" else self.exchange_name(value[1])
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        return value

    def add_generated(self, name: str) -> None:
        self.generated.append(name)
        self._aliases[name] = f"amq.gen-<{len(self.generated) - 1}>"

    def add_consumer_tag(self, tag: str) -> None:
        if _PIKA_CONSUMER_TAG.fullmatch(tag) and tag not in self._aliases:
            self._aliases[tag] = f"ctag-<{sum(v.startswith('ctag') for v in self._aliases.values())}>"

    # --- normalising what pika returns -----------------------------------------------------------

    def norm(self, value: Any) -> Any:
        """A plain, comparable form: generated names replaced, properties as dicts, long bodies hashed."""
        if isinstance(value, str):
            if "amq.gen-" in value:
                value = _GENERATED_QUEUE.sub(lambda m: self._aliases.get(m.group(), "amq.gen-<?>"), value)
            if "ctag" in value:
                value = _PIKA_CONSUMER_TAG.sub(lambda m: self._aliases.get(m.group(), "ctag-<?>"), value)
            return value
        if isinstance(value, (bytes, bytearray)) and len(value) > 64:
            return ("bytes", len(value), hashlib.sha1(value).hexdigest()[:12])
        if isinstance(value, pika.BasicProperties):
            return {key: self.norm(item) for key, item in vars(value).items() if item is not None}
        if isinstance(value, amqp_object.AMQPObject):
            return (type(value).__name__, self.norm(vars(value)))
        if isinstance(value, frame.Frame):
            return (value.channel_number, self.norm(getattr(value, "method", None)))
        if isinstance(value, dict):
            return {self.norm(key): self._norm_header(key, item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.norm(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.norm(item) for item in value)
        return value

    def _norm_header(self, key: Any, value: Any) -> Any:
        if key == "x-death" and isinstance(value, list):
            return [self._norm_death(entry) for entry in value]
        return self.norm(value)

    def _norm_death(self, entry: Any) -> Any:
        if not isinstance(entry, dict):
            return self.norm(entry)
        normed = self.norm(entry)
        if isinstance(entry.get("time"), datetime.datetime):
            normed["time"] = "<time>"
        return normed

    def describe(self, exc: BaseException) -> tuple:
        """An exception as the tuple compared between the sides."""
        kind = type(exc).__name__
        if isinstance(exc, (pika_errors.ChannelClosedByBroker, pika_errors.ConnectionClosedByBroker)):
            return (kind, exc.reply_code, self.norm(exc.reply_text))
        if isinstance(exc, (pika_errors.UnroutableError, pika_errors.NackError)):
            return (kind, [self.returned(message) for message in exc.messages])
        return (kind, self.norm(_CLIENT_DETAILS.sub(_client_detail, str(exc))))

    def returned(self, message: Any) -> tuple:
        method = message.method
        fields = {key: self.norm(item) for key, item in vars(method).items()}
        return (type(method).__name__, fields, self.norm(message.properties), self.norm(message.body))

    # --- running operations ---------------------------------------------------------------------

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """The context pika calls for this side must run in."""
        yield

    def run(self, operation: Callable[["Side"], Any]) -> tuple:
        """Run `operation(self)`: ("ok", value) or ("raised", description), normalised."""
        with self.active():
            try:
                return ("ok", self.norm(operation(self)))
            except Exception as exc:  # every exception is an observation to compare
                return ("raised", *self.describe(exc))

    def open_connection(self) -> BaseException | None:
        raise NotImplementedError

    def _parameters(self) -> pika.ConnectionParameters:
        raise NotImplementedError

    def connect(self) -> pika.BlockingConnection:
        return pika.BlockingConnection(self._parameters())

    def channel(self, handle: int) -> Any:
        channel = self.channels[handle]
        if channel is None:
            raise pika_errors.ChannelWrongStateError("no such channel")
        return channel

    def connection(self, handle: int) -> pika.BlockingConnection:
        connection = self.connections[handle]
        if connection is None:
            raise pika_errors.ConnectionWrongStateError("no such connection")
        return connection

    def on_message(self, handle: int) -> Callable[..., None]:
        inbox = self.inbox[handle]

        def callback(_channel: Any, method: Any, properties: Any, body: bytes) -> None:
            inbox.append((method.consumer_tag, method.delivery_tag, method.redelivered, method.exchange,
                          method.routing_key, properties, body))

        return callback

    def on_cancel(self, handle: int) -> Callable[..., None]:
        cancelled = self.cancelled[handle]
        return lambda frame: cancelled.append(frame.method.consumer_tag)

    def open_connections(self) -> list[pika.BlockingConnection]:
        return [c for c in self.connections if c is not None and c.is_open]

    def openness(self) -> tuple:
        """Which connections and channels are open, by handle."""
        return (tuple(bool(c is not None and c.is_open) for c in self.connections),
                tuple(bool(ch is not None and ch.is_open) for ch in self.channels))

    def received(self) -> tuple:
        """Everything consumers received and every broker cancel, by channel handle, normalised."""
        return (tuple(tuple(self.norm(d) for d in inbox) for inbox in self.inbox),
                tuple(tuple(self.norm(tag) for tag in tags) for tags in self.cancelled))

    def close_all(self) -> None:
        with self.active():
            for connection in self.open_connections():
                with contextlib.suppress(Exception):
                    connection.close()


class MemqSide(Side):
    """memq, reached through pika inside `memq.pika.patched`, its clock following the wall clock."""

    name = "memq"

    def __init__(self, prefix: str, origin: float) -> None:
        super().__init__(prefix)
        self.broker = memq.Broker(seed=0, start=origin)
        self.origin = origin

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        with memq.pika.patched(self.broker):
            yield

    def _parameters(self) -> pika.ConnectionParameters:
        return pika.ConnectionParameters("localhost")

    def connect(self) -> pika.BlockingConnection:
        before = len(self.broker.trace)
        connection = super().connect()
        assert len(self.broker.trace) > before, "pika connected somewhere other than memq"
        return connection

    def advance_to(self, elapsed: float) -> None:
        """Move the virtual clock to `elapsed` seconds after the origin (never backwards)."""
        with self.active():
            target = self.origin + elapsed
            if target > self.broker.clock.now():
                self.broker.clock.advance_to(target)

    def next_deadline(self) -> float | None:
        """Seconds after the origin when memq's next timer is due, or None."""
        deadline = self.broker.clock.next_deadline()
        return None if deadline is None else deadline - self.origin

    def pump(self) -> list[tuple]:
        """Let pika process everything memq sent; returns any exception that surfaced, described."""
        problems = []
        with self.active():
            for _ in range(100):
                connections = self.open_connections()
                try:
                    memq.pika.run_until_idle(*connections)
                    break
                except Exception as exc:
                    problems.append(("raised-while-pumping", *self.describe(exc)))
        return problems

    def deleted_since(self, mark: int) -> tuple[list[str], list[str]]:
        """Queues and exchanges memq deleted since trace position `mark`."""
        queues = [e.queue for e in self.broker.trace[mark:] if isinstance(e, events.QueueDeleted)]
        exchanges = [e.exchange for e in self.broker.trace[mark:] if isinstance(e, events.ExchangeDeleted)]
        return queues, exchanges

    def existing_queues(self) -> set[str]:
        return {info.name for info in self.broker.list_queues()}


class RabbitSide(Side):
    """The real RabbitMQ on 127.0.0.1:5672."""

    name = "rabbitmq"

    def __init__(self, prefix: str) -> None:
        super().__init__(prefix)
        self._observer: pika.BlockingConnection | None = None
        self.problems: list[tuple] = []

    def _parameters(self) -> pika.ConnectionParameters:
        return pika.ConnectionParameters(RABBITMQ_HOST, RABBITMQ_PORT)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Give up on a call RabbitMQ does not answer within ANSWER_SECONDS (it raises NoAnswer)."""
        def give_up(signum: int, frame: Any) -> None:
            raise NoAnswer(f"RabbitMQ did not answer within {ANSWER_SECONDS} s")

        previous = signal.signal(signal.SIGALRM, give_up)
        signal.setitimer(signal.ITIMER_REAL, ANSWER_SECONDS)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def pump(self, targets: list[tuple[int, int]], closed: tuple[set[int], set[int]],
             timeout: float = WAIT_SECONDS) -> list[tuple]:
        """Process events until each channel has received `targets[handle]` (deliveries, cancels) and the
        connections and channels in `closed` are closed (the broker closes them asynchronously at times)."""
        problems, self.problems = self.problems, []
        deadline = time.monotonic() + timeout
        while True:
            for connection in self.open_connections():
                try:
                    connection.process_data_events(0)
                except Exception as exc:
                    problems.append(("raised-while-pumping", *self.describe(exc)))
            if all(len(self.inbox[h]) >= d and len(self.cancelled[h]) >= c for h, (d, c) in enumerate(targets)) \
                    and not any(self.connections[h] is not None and self.connections[h].is_open for h in closed[0]) \
                    and not any(self.channels[h] is not None and self.channels[h].is_open for h in closed[1]):
                return problems
            if time.monotonic() > deadline:
                return problems
            time.sleep(0.0005)

    def settle(self, seconds: float) -> None:
        """Process events for `seconds` of real time (anything still on its way arrives).

        Errors pika raises meanwhile are kept in `self.problems` for the next step's observation.
        """
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for connection in self.open_connections():
                try:
                    connection.process_data_events(0)
                except Exception as exc:
                    self.problems.append(("raised-while-pumping", *self.describe(exc)))
            time.sleep(0.001)

    def observer(self) -> pika.BlockingConnection:
        """A connection of the harness's own, for checks the state machine did not ask for."""
        if self._observer is None or not self._observer.is_open:
            self._observer = self.connect()
        return self._observer

    def gone(self, kind: str, name: str, timeout: float = WAIT_SECONDS) -> bool:
        """Wait until queue or exchange `name` no longer exists; False if it still does after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            channel = self.observer().channel()
            try:
                if kind == "queue":
                    channel.queue_declare(name, passive=True)
                else:
                    channel.exchange_declare(name, passive=True)
            except pika_errors.ChannelClosedByBroker as error:
                if error.reply_code == 404:
                    return True
            else:
                channel.close()
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)

    def delete_everything(self, names: list[tuple[str, str]]) -> None:
        """Delete the queues and exchanges an example may have left on RabbitMQ."""
        connection = self.observer()
        for kind, name in names:
            for attempt in range(50):
                channel = connection.channel()
                try:
                    if kind == "queue":
                        channel.queue_delete(name)
                    else:
                        channel.exchange_delete(name)
                    channel.close()
                    break
                except pika_errors.ChannelClosedByBroker as error:
                    # An exclusive queue whose connection just closed can stay locked for a moment.
                    if error.reply_code != 405 or attempt == 49:
                        raise
                    time.sleep(0.01)
        connection.close()
        self._observer = None


class Pair:
    """memq and RabbitMQ side by side, with one clock."""

    def __init__(self) -> None:
        self.prefix = f"diff.{uuid.uuid4().hex[:8]}."
        self.t0 = time.monotonic()
        self.memq = MemqSide(self.prefix, time.time())
        self.rabbit = RabbitSide(self.prefix)
        self.sides: tuple[Side, Side] = (self.memq, self.rabbit)

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def sleep_until(self, elapsed: float) -> None:
        """Let real time reach `elapsed`, pumping RabbitMQ's connections meanwhile."""
        remaining = elapsed - self.elapsed()
        if remaining > 0:
            self.rabbit.settle(remaining)

    def clear_of_timers(self) -> None:
        """Bring memq's clock to now, first waiting out any memq timer due within GUARD_BEFORE from now or
        fired less than GUARD_AFTER ago, so that RabbitMQ has acted on its own timer by the time memq does."""
        while True:
            deadline = self.memq.next_deadline()
            now = self.elapsed()
            if deadline is not None and deadline - GUARD_BEFORE <= now < deadline + GUARD_AFTER:
                self.sleep_until(deadline + GUARD_AFTER)
                continue
            self.memq.advance_to(now)
            deadline = self.memq.next_deadline()
            if deadline is None or deadline - self.elapsed() > GUARD_BEFORE:
                return

    def closed(self) -> tuple[set[int], set[int]]:
        """The handles of the connections and channels memq has closed (RabbitMQ must close them too)."""
        memq_side = self.memq
        return ({h for h, c in enumerate(memq_side.connections) if c is None or not c.is_open},
                {h for h, c in enumerate(memq_side.channels) if c is None or not c.is_open})

    def targets(self) -> list[tuple[int, int]]:
        return [(len(self.memq.inbox[h]), len(self.memq.cancelled[h])) for h in range(len(self.memq.inbox))]
