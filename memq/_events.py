"""The trace: a frozen record of every event, with times relative to the broker's start.

Recording is cheap (a tuple appended to a list); the frozen records are built when read.
`dumps()` gives JSON lines that are identical for two runs of the same program with the same seed.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Sequence, overload

import attrs

__all__ = [
    "Event",
    "ConnectionOpened",
    "ConnectionClosed",
    "ChannelOpened",
    "ChannelClosed",
    "ExchangeDeclared",
    "ExchangeDeleted",
    "QueueDeclared",
    "QueueDeleted",
    "Bound",
    "Unbound",
    "Published",
    "Routed",
    "Unroutable",
    "Returned",
    "Confirmed",
    "Delivered",
    "Acked",
    "Nacked",
    "Rejected",
    "Requeued",
    "Dropped",
    "Expired",
    "DeadLettered",
    "ConsumerStarted",
    "ConsumerCancelled",
    "BrokerRestarted",
    "Trace",
]


@attrs.frozen
class Event:
    """Base of every trace record; `time` is seconds since the broker's start."""

    time: float

    def to_dict(self) -> dict[str, Any]:
        """The record as a plain dict, with its type under "event"."""
        return {"event": type(self).__name__, **attrs.asdict(self, recurse=False)}


@attrs.frozen
class ConnectionOpened(Event):
    connection: str
    vhost: str
    username: str


@attrs.frozen
class ConnectionClosed(Event):
    connection: str
    reply_code: int
    reply_text: str


@attrs.frozen
class ChannelOpened(Event):
    connection: str
    channel: int


@attrs.frozen
class ChannelClosed(Event):
    connection: str
    channel: int
    reply_code: int
    reply_text: str


@attrs.frozen
class ExchangeDeclared(Event):
    vhost: str
    exchange: str
    type: str


@attrs.frozen
class ExchangeDeleted(Event):
    vhost: str
    exchange: str


@attrs.frozen
class QueueDeclared(Event):
    vhost: str
    queue: str


@attrs.frozen
class QueueDeleted(Event):
    vhost: str
    queue: str
    reason: str


@attrs.frozen
class Bound(Event):
    vhost: str
    source: str
    destination: str
    destination_type: str
    routing_key: str


@attrs.frozen
class Unbound(Event):
    vhost: str
    source: str
    destination: str
    destination_type: str
    routing_key: str


@attrs.frozen
class Published(Event):
    message: int
    connection: str
    channel: int
    exchange: str
    routing_key: str
    size: int


@attrs.frozen
class Routed(Event):
    message: int
    queues: tuple[str, ...]


@attrs.frozen
class Unroutable(Event):
    message: int
    exchange: str
    routing_key: str


@attrs.frozen
class Returned(Event):
    message: int
    reply_code: int
    reply_text: str


@attrs.frozen
class Confirmed(Event):
    connection: str
    channel: int
    delivery_tag: int
    ack: bool


@attrs.frozen
class Delivered(Event):
    message: int
    queue: str
    connection: str
    channel: int
    consumer_tag: str | None
    delivery_tag: int
    redelivered: bool


@attrs.frozen
class Acked(Event):
    message: int
    queue: str
    connection: str
    channel: int
    delivery_tag: int


@attrs.frozen
class Nacked(Event):
    message: int
    queue: str
    connection: str
    channel: int
    delivery_tag: int
    requeue: bool


@attrs.frozen
class Rejected(Event):
    message: int
    queue: str
    connection: str
    channel: int
    delivery_tag: int
    requeue: bool


@attrs.frozen
class Requeued(Event):
    message: int
    queue: str


@attrs.frozen
class Dropped(Event):
    """A message left a queue by an explicit rule: purge, queue deletion, restart, length limit..."""

    message: int
    queue: str
    reason: str


@attrs.frozen
class Expired(Event):
    message: int
    queue: str


@attrs.frozen
class DeadLettered(Event):
    message: int
    queue: str
    reason: str
    exchange: str
    routing_key: str


@attrs.frozen
class ConsumerStarted(Event):
    queue: str
    connection: str
    channel: int
    consumer_tag: str


@attrs.frozen
class ConsumerCancelled(Event):
    queue: str
    connection: str
    channel: int
    consumer_tag: str
    by_broker: bool


@attrs.frozen
class BrokerRestarted(Event):
    pass


EVENT_TYPES: tuple[type[Event], ...] = (
    ConnectionOpened, ConnectionClosed, ChannelOpened, ChannelClosed, ExchangeDeclared, ExchangeDeleted,
    QueueDeclared, QueueDeleted, Bound, Unbound, Published, Routed, Unroutable, Returned, Confirmed,
    Delivered, Acked, Nacked, Rejected, Requeued, Dropped, Expired, DeadLettered, ConsumerStarted,
    ConsumerCancelled, BrokerRestarted,
)
"""Every event type; a recorded event stores its type's index here (`code`), so the raw records hold
only atoms (ints, floats, strings) and the garbage collector stops tracking them."""

for _code, _event_type in enumerate(EVENT_TYPES):
    _event_type.code = _code  # type: ignore[attr-defined]
del _code, _event_type


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {value!r}")


class Trace(Sequence[Event]):
    """Every event of a broker, in order; a read-only sequence of frozen records.

    Example:
        >>> import memq
        >>> broker = memq.Broker()
        >>> ch = broker.connect().channel()
        >>> _ = ch.queue_declare("q")
        >>> ch.basic_publish("", "q", b"hi")
        >>> [e for e in broker.trace if isinstance(e, memq.events.Routed)][0].queues
        ('q',)
    """

    def __init__(self, enabled: bool = True) -> None:
        self._raw: list[tuple] = []
        self.enabled = enabled

    def _add(self, record: tuple) -> None:
        self._raw.append(record)

    def __len__(self) -> int:
        return len(self._raw)

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...

    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        types = EVENT_TYPES
        if isinstance(index, slice):
            return [types[code](*args) for code, *args in self._raw[index]]
        code, *args = self._raw[index]
        return types[code](*args)

    def __iter__(self) -> Iterator[Event]:
        types = EVENT_TYPES
        for code, *args in self._raw:
            yield types[code](*args)

    def of_type(self, *types: type[Event]) -> list[Event]:
        """The events of the given types, in order."""
        codes = {cls.code for cls in types}  # type: ignore[attr-defined]
        return [EVENT_TYPES[code](*args) for code, *args in self._raw if code in codes]

    def clear(self) -> None:
        """Forget every event recorded so far."""
        self._raw.clear()

    def dumps(self) -> str:
        """The trace as JSON lines, one event a line, keys in field order."""
        return "".join(
            json.dumps(event.to_dict(), default=_json_default, ensure_ascii=False) + "\n"
            for event in self
        )

    def format(self, last: int | None = None) -> str:
        """The trace as readable lines (`+  1.500s Delivered message=3 queue='q' ...`)."""
        events = self[-last:] if last else list(self)
        lines = []
        for event in events:
            fields = attrs.asdict(event, recurse=False)
            time = fields.pop("time")
            body = " ".join(f"{k}={v!r}" for k, v in fields.items())
            lines.append(f"+{time:10.3f}s {type(event).__name__} {body}")
        return "\n".join(lines)
