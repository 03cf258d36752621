"""Inspection: what RabbitMQ's management console and `rabbitmqctl list_*` show, for a simulated broker.

Records use `rabbitmqctl`'s field names (`messages_ready`, `messages_unacknowledged`, `source_name`...),
so a test can assert on the same facts an operator would look at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

import attrs

from . import _events as ev
from ._messages import Properties
from ._queues import Queue

if TYPE_CHECKING:
    from ._broker import Broker

__all__ = [
    "QueueInfo", "ExchangeInfo", "BindingInfo", "ConsumerInfo", "ConnectionInfo", "ChannelInfo",
    "QueueView", "Inspection", "format_table",
]


@attrs.frozen
class QueueInfo:
    """One row of `rabbitmqctl list_queues`."""

    vhost: str
    name: str
    durable: bool
    auto_delete: bool
    exclusive: bool
    arguments: dict
    messages_ready: int
    messages_unacknowledged: int
    messages: int
    message_bytes_ready: int
    consumers: int
    type: str = "classic"
    state: str = "running"


@attrs.frozen
class ExchangeInfo:
    """One row of `rabbitmqctl list_exchanges`."""

    vhost: str
    name: str
    type: str
    durable: bool
    auto_delete: bool
    internal: bool
    arguments: dict


@attrs.frozen
class BindingInfo:
    """One row of `rabbitmqctl list_bindings` (the default exchange's implicit bindings included)."""

    vhost: str
    source_name: str
    source_kind: str
    destination_name: str
    destination_kind: str
    routing_key: str
    arguments: dict


@attrs.frozen
class ConsumerInfo:
    """One row of `rabbitmqctl list_consumers`."""

    vhost: str
    queue_name: str
    connection: str
    channel: int
    consumer_tag: str
    ack_required: bool
    prefetch_count: int
    exclusive: bool
    active: bool
    arguments: dict


@attrs.frozen
class ConnectionInfo:
    """One row of `rabbitmqctl list_connections`."""

    name: str
    user: str
    vhost: str
    state: str
    channels: int
    connected_at: float
    client_properties: dict


@attrs.frozen
class ChannelInfo:
    """One row of `rabbitmqctl list_channels`."""

    connection: str
    number: int
    user: str
    vhost: str
    consumer_count: int
    messages_unacknowledged: int
    prefetch_count: int
    global_prefetch_count: int
    confirm: bool
    transactional: bool


@attrs.frozen
class QueuedMessage:
    """A ready message as a queue holds it."""

    body: bytes
    properties: Properties
    exchange: str
    routing_key: str
    redelivered: bool


class QueueView:
    """A live view of one queue, for assertions: `broker.queue("q").messages`."""

    def __init__(self, queue: Queue) -> None:
        self._queue = queue

    @property
    def name(self) -> str:
        return self._queue.name

    @property
    def exists(self) -> bool:
        """False once the queue was deleted."""
        return not self._queue.deleted

    @property
    def messages(self) -> list[QueuedMessage]:
        """The ready messages, in the order they would be delivered."""
        return [
            QueuedMessage(e.message.body, e.message.properties, e.message.exchange,
                          e.message.routing_key, e.redelivered)
            for e in self._queue.entries()
        ]

    @property
    def bodies(self) -> list[bytes]:
        """The bodies of the ready messages, in delivery order."""
        return [e.message.body for e in self._queue.entries()]

    @property
    def message_count(self) -> int:
        return self._queue.message_count

    @property
    def unacked_count(self) -> int:
        return self._queue.unacked

    @property
    def consumer_count(self) -> int:
        return len(self._queue.consumers)

    def __repr__(self) -> str:
        return f"<QueueView {self.name!r} ready={self.message_count} unacked={self.unacked_count}>"


class Inspection:
    """The inspection part of `Broker` (a mixin: `self` is the broker)."""

    def _vhost_list(self: "Broker", vhost: str | None) -> list:  # type: ignore[misc]
        return [self.vhosts[vhost]] if vhost is not None else list(self.vhosts.values())

    def list_queues(self: "Broker", vhost: str | None = None) -> list[QueueInfo]:  # type: ignore[misc]
        """The queues, in declaration order, with their counts."""
        return [
            QueueInfo(q.vhost, q.name, q.durable, q.auto_delete, q.exclusive_owner is not None,
                      dict(q.arguments), q.message_count, q.unacked, q.message_count + q.unacked,
                      q.ready_bytes, len(q.consumers))
            for v in self._vhost_list(vhost) for q in v.queues.values()
        ]

    def list_exchanges(self: "Broker", vhost: str | None = None) -> list[ExchangeInfo]:  # type: ignore[misc]
        """The exchanges, predeclared ones first."""
        return [
            ExchangeInfo(x.vhost, x.name, x.type.value, x.durable, x.auto_delete, x.internal, dict(x.arguments))
            for v in self._vhost_list(vhost) for x in v.exchanges.values()
        ]

    def list_bindings(self: "Broker", vhost: str | None = None) -> list[BindingInfo]:  # type: ignore[misc]
        """The bindings: the default exchange's implicit ones, then each exchange's in creation order."""
        rows = []
        for v in self._vhost_list(vhost):
            rows.extend(BindingInfo(v.name, "", "exchange", q.name, "queue", q.name, {}) for q in v.queues.values())
            for x in v.exchanges.values():
                rows.extend(
                    BindingInfo(v.name, x.name, "exchange", b.destination.name,
                                "queue" if isinstance(b.destination, Queue) else "exchange",
                                b.routing_key, dict(b.arguments))
                    for b in x.bindings
                )
        return rows

    def list_consumers(self: "Broker", vhost: str | None = None) -> list[ConsumerInfo]:  # type: ignore[misc]
        """The consumers of every queue, in subscription order."""
        return [
            ConsumerInfo(q.vhost, q.name, c.channel.connection.name, c.channel.channel_number, c.tag,
                         not c.auto_ack, c.prefetch, c.exclusive, q.is_active(c), dict(c.arguments))
            for v in self._vhost_list(vhost) for q in v.queues.values() for c in q.consumers
        ]

    def list_connections(self: "Broker") -> list[ConnectionInfo]:  # type: ignore[misc]
        """The open connections."""
        return [
            ConnectionInfo(c.name, c.username, c.vhost, "running", len(c.channels), c.connected_at,
                           dict(c.client_properties))
            for c in self.connections
        ]

    def list_channels(self: "Broker") -> list[ChannelInfo]:  # type: ignore[misc]
        """The open channels of every connection."""
        return [
            ChannelInfo(c.name, ch.channel_number, c.username, c.vhost, len(ch.consumers), len(ch.unacked),
                        ch.prefetch_count, ch.global_prefetch, ch.confirming, ch.transactional)
            for c in self.connections for ch in c.channels.values()
        ]

    def route(self: "Broker", exchange: str, routing_key: str, headers: dict | None = None,  # type: ignore[misc]
              vhost: str = "/") -> list[str]:
        """The queues a message would reach, without publishing it (exchange bindings and alternates followed).

        Raises:
            errors.NotFound: no such exchange.

        Example:
            >>> import memq
            >>> broker = memq.Broker()
            >>> ch = broker.connect().channel()
            >>> _ = ch.queue_declare("kern")
            >>> ch.queue_bind("kern", "amq.topic", "kern.*")
            >>> broker.route("amq.topic", "kern.critical"), broker.route("amq.topic", "cron.info")
            (['kern'], [])
        """
        host = self.vhosts[vhost]
        x = host.exchange(exchange)
        if not x.name:
            return [routing_key] if routing_key in host.queues else []
        return [queue.name for queue in host.route(x, routing_key, headers)]

    def queue(self: "Broker", name: str, vhost: str = "/") -> QueueView:  # type: ignore[misc]
        """A live view of queue `name`, for assertions.

        Raises:
            KeyError: no such queue.
        """
        return QueueView(self.vhosts[vhost].queues[name])

    def published(self: "Broker", exchange: str | None = None,  # type: ignore[misc]
                  routing_key: str | None = None) -> list[ev.Published]:
        """The publish events of the trace, optionally only those to an exchange and routing key."""
        return [
            e for e in self.trace.of_type(ev.Published)
            if (exchange is None or e.exchange == exchange)
            and (routing_key is None or e.routing_key == routing_key)
        ]

    def message_rates(self: "Broker", interval: float = 1.0) -> list[dict[str, Any]]:  # type: ignore[misc]
        """Publish, deliver and ack counts per `interval` of virtual time, from the trace."""
        counts: dict[int, dict[str, Any]] = {}
        names = {ev.Published.code: "publish", ev.Delivered.code: "deliver", ev.Acked.code: "ack"}  # type: ignore[attr-defined]
        for code, time, *_ in self.trace._raw:
            name = names.get(code)
            if name is not None:
                bucket = counts.setdefault(int(time // interval), {"publish": 0, "deliver": 0, "ack": 0})
                bucket[name] += 1
        return [{"time": index * interval, **counts[index]} for index in sorted(counts)]

    def snapshot(self: "Broker") -> str:  # type: ignore[misc]
        """Queues, bindings and consumers as text tables (what a failing test's report shows)."""
        parts = [
            "Queues\n" + format_table(self.list_queues(), ("vhost", "name", "messages_ready",
                                                           "messages_unacknowledged", "consumers", "arguments")),
            "Bindings\n" + format_table([b for b in self.list_bindings() if b.source_name],
                                        ("source_name", "destination_name", "destination_kind", "routing_key")),
            "Consumers\n" + format_table(self.list_consumers(), ("queue_name", "consumer_tag", "connection",
                                                                 "channel", "ack_required", "prefetch_count")),
        ]
        return "\n\n".join(parts)


def format_table(rows: Sequence[Any], fields: Iterable[str]) -> str:
    """Rows of records as an aligned text table with the given columns."""
    fields = list(fields)
    cells = [[str(getattr(row, f)) for f in fields] for row in rows]
    widths = [max([len(f)] + [len(r[i]) for r in cells]) for i, f in enumerate(fields)]
    lines = ["  ".join(f.ljust(w) for f, w in zip(fields, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    if not cells:
        lines.append("(none)")
    return "\n".join(lines)
