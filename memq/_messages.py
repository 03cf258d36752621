"""Messages and the frozen records the broker hands back: properties, deliveries, returns."""

from __future__ import annotations

from typing import Any, NamedTuple

import attrs

__all__ = ["Properties", "Message", "Deliver", "GetOk", "Returned", "QueueDeclareOk"]


@attrs.frozen
class Properties:
    """AMQP basic properties, with the field names of pika's `BasicProperties`."""

    content_type: str | None = None
    content_encoding: str | None = None
    headers: dict[str, Any] | None = None
    delivery_mode: int | None = None
    priority: int | None = None
    correlation_id: str | None = None
    reply_to: str | None = None
    expiration: str | None = None
    message_id: str | None = None
    timestamp: int | None = None
    type: str | None = None
    user_id: str | None = None
    app_id: str | None = None
    cluster_id: str | None = None

    def replace(self, **changes: Any) -> "Properties":
        """A copy with some fields changed."""
        return attrs.evolve(self, **changes)


EMPTY_PROPERTIES = Properties()
PROPERTY_NAMES: tuple[str, ...] = tuple(field.name for field in attrs.fields(Properties))


class Message:
    """One published message; the same object sits in every queue it was routed to.

    `mid` numbers messages in publish order across the broker (the trace refers to it).
    """

    __slots__ = ("mid", "exchange", "routing_key", "body", "properties", "published_at")

    def __init__(
        self,
        mid: int,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: Properties,
        published_at: float,
    ) -> None:
        self.mid = mid
        self.exchange = exchange
        self.routing_key = routing_key
        self.body = body
        self.properties = properties
        self.published_at = published_at

    @property
    def persistent(self) -> bool:
        """Whether the message survives a broker restart in a durable queue (delivery_mode 2)."""
        return self.properties.delivery_mode == 2

    def __repr__(self) -> str:
        return f"<Message #{self.mid} {self.exchange!r}/{self.routing_key!r} {self.body[:40]!r}>"


class Deliver(NamedTuple):
    """Basic.Deliver: what a consumer callback receives as its `method` argument."""

    consumer_tag: str
    delivery_tag: int
    redelivered: bool
    exchange: str
    routing_key: str


class GetOk(NamedTuple):
    """Basic.GetOk with the message: what `basic_get` returns when the queue had one."""

    delivery_tag: int
    redelivered: bool
    exchange: str
    routing_key: str
    message_count: int
    properties: Properties
    body: bytes


class Returned(NamedTuple):
    """Basic.Return with the message: a mandatory message that no queue took."""

    reply_code: int
    reply_text: str
    exchange: str
    routing_key: str
    properties: Properties
    body: bytes


class QueueDeclareOk(NamedTuple):
    """Queue.DeclareOk: the queue's name and its counts."""

    queue: str
    message_count: int
    consumer_count: int
