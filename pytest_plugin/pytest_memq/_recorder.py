"""What pika clients did during a test, seen from the client side, on memq and on a real RabbitMQ alike.

While a `Recorder` is installed, a few methods of `pika.channel.Channel` (the channel under every
pika adapter) note each publish, delivery, `basic.get`, settlement, declaration and binding before
doing their usual work. The assertion helpers read these notes, so they behave the same whichever
broker the test runs against; on a real broker the notes also stand in for the broker's trace.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

import attrs
import pika.channel
from pika import spec

__all__ = ["Recorder", "SentMessage", "Delivery"]


@attrs.frozen
class SentMessage:
    """A message a client published."""

    time: float
    connection: str
    channel: int
    exchange: str
    routing_key: str
    body: bytes
    properties: Any
    mandatory: bool = False

    @property
    def headers(self) -> dict:
        """The message's headers (empty if it has none)."""
        return dict(getattr(self.properties, "headers", None) or {})


@attrs.define
class Delivery:
    """A message a client received, by a consumer or `basic.get`, and what the client did with it."""

    time: float
    connection: str
    channel: int
    queue: str | None
    consumer_tag: str | None
    delivery_tag: int
    redelivered: bool
    exchange: str
    routing_key: str
    body: bytes
    properties: Any
    auto_ack: bool
    outcome: str | None = None  # "ack", "nack" or "reject" once settled
    requeue: bool = False
    settled: float | None = None
    message: int = 0  # the matching SentMessage's index + 1, or 0 if it was published elsewhere

    @property
    def consumed(self) -> bool:
        """Acknowledged (or taken with auto_ack)."""
        return self.auto_ack or self.outcome == "ack"

    @property
    def headers(self) -> dict:
        """The message's headers (empty if it has none)."""
        return dict(getattr(self.properties, "headers", None) or {})


_PATCHED = ("basic_publish", "basic_consume", "basic_get", "basic_ack", "basic_nack", "basic_reject",
            "queue_declare", "exchange_declare", "queue_bind", "_on_deliver", "_on_getok")


class Recorder:
    """Notes on what pika channels did; `install()` patches `pika.channel.Channel`, `uninstall()` restores it.

    Args:
        now: the clock to stamp notes with (seconds since the test started).
    """

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.sent: list[SentMessage] = []
        self.deliveries: list[Delivery] = []
        self.queues: list[str] = []        # declared (not passively), in order
        self.exchanges: list[tuple[str, str]] = []   # (name, type)
        self.bindings: list[tuple[str, str, str]] = []  # (exchange, queue, routing key)
        self.consumers: dict[tuple[str, int, str], tuple[str, bool]] = {}
        self.ignored: set[int] = set()
        self._names: dict[int, str] = {}
        self._numbers = itertools.count(1)
        self._gets: dict[tuple[str, int], tuple[str, bool]] = {}
        self._saved: dict[str, Any] = {}

    # installation

    def install(self) -> None:
        """Patch `pika.channel.Channel` (once)."""
        if self._saved:
            return
        for name in _PATCHED:
            self._saved[name] = getattr(pika.channel.Channel, name)
            setattr(pika.channel.Channel, name, self._wrapper(name, self._saved[name]))

    def uninstall(self) -> None:
        """Restore `pika.channel.Channel`."""
        for name, original in self._saved.items():
            setattr(pika.channel.Channel, name, original)
        self._saved.clear()

    def ignore(self, blocking_connection: Any) -> None:
        """Take no notes for this connection (the plugin's own side connections)."""
        self.ignored.add(id(getattr(blocking_connection, "_impl", blocking_connection)))

    def _wrapper(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        note = getattr(self, "_note_" + name.lstrip("_"))
        recorder = self

        def method(channel: Any, *args: Any, **kwargs: Any) -> Any:
            if id(channel.connection) in recorder.ignored:
                return original(channel, *args, **kwargs)
            return note(original, channel, *args, **kwargs)

        method.__name__ = name
        method.__wrapped__ = original  # type: ignore[attr-defined]
        return method

    def _where(self, channel: Any) -> tuple[str, int]:
        key = id(channel.connection)
        if key not in self._names:
            self._names[key] = f"client-{next(self._numbers)}"
        return self._names[key], channel.channel_number

    # notes, one per patched method

    def _note_basic_publish(self, original: Callable[..., Any], channel: Any, exchange: str, routing_key: str,
                            body: Any, properties: Any = None, mandatory: bool = False) -> Any:
        result = original(channel, exchange, routing_key, body, properties, mandatory)
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        connection, number = self._where(channel)
        self.sent.append(SentMessage(self.now(), connection, number, exchange, routing_key, data,
                                     properties or spec.BasicProperties(), mandatory))
        return result

    def _note_basic_consume(self, original: Callable[..., Any], channel: Any, queue: str,
                            on_message_callback: Any, auto_ack: bool = False, exclusive: bool = False,
                            consumer_tag: str | None = None, arguments: Any = None, callback: Any = None) -> Any:
        tag = original(channel, queue, on_message_callback, auto_ack, exclusive, consumer_tag, arguments, callback)
        connection, number = self._where(channel)
        self.consumers[(connection, number, tag)] = (queue, auto_ack)
        return tag

    def _note_basic_get(self, original: Callable[..., Any], channel: Any, queue: str, callback: Any,
                        auto_ack: bool = False) -> Any:
        self._gets[self._where(channel)] = (queue, auto_ack)
        return original(channel, queue, callback, auto_ack)

    def _note_on_deliver(self, original: Callable[..., Any], channel: Any, method_frame: Any, header_frame: Any,
                         body: bytes) -> Any:
        connection, number = self._where(channel)
        method = method_frame.method
        queue, auto_ack = self.consumers.get((connection, number, method.consumer_tag), (None, False))
        self._delivered(connection, number, queue, method.consumer_tag, method, header_frame, body, auto_ack)
        return original(channel, method_frame, header_frame, body)

    def _note_on_getok(self, original: Callable[..., Any], channel: Any, method_frame: Any, header_frame: Any,
                       body: bytes) -> Any:
        connection, number = self._where(channel)
        queue, auto_ack = self._gets.pop((connection, number), (None, False))
        self._delivered(connection, number, queue, None, method_frame.method, header_frame, body, auto_ack)
        return original(channel, method_frame, header_frame, body)

    def _delivered(self, connection: str, number: int, queue: str | None, tag: str | None, method: Any,
                   header_frame: Any, body: bytes, auto_ack: bool) -> None:
        delivery = Delivery(self.now(), connection, number, queue, tag, method.delivery_tag, method.redelivered,
                            method.exchange, method.routing_key, bytes(body), header_frame.properties, auto_ack)
        delivery.message = self._match(delivery)
        self.deliveries.append(delivery)

    def _match(self, delivery: Delivery) -> int:
        """The number of the sent message this delivery most likely is (same body and properties)."""
        taken = {d.message for d in self.deliveries if d.queue == delivery.queue and not d.redelivered}
        if delivery.redelivered:
            taken = set()
        for index, sent in enumerate(self.sent):
            if sent.body == delivery.body and index + 1 not in taken and \
                    _same_properties(sent.properties, delivery.properties):
                return index + 1
        return 0

    def _settle(self, channel: Any, delivery_tag: int, multiple: bool, outcome: str, requeue: bool) -> None:
        connection, number = self._where(channel)
        for delivery in self.deliveries:
            if (delivery.connection, delivery.channel) != (connection, number) or delivery.outcome or \
                    delivery.auto_ack:
                continue
            if delivery.delivery_tag == delivery_tag or (multiple and (delivery_tag == 0 or
                                                                       delivery.delivery_tag <= delivery_tag)):
                delivery.outcome, delivery.requeue, delivery.settled = outcome, requeue, self.now()

    def _note_basic_ack(self, original: Callable[..., Any], channel: Any, delivery_tag: int = 0,
                        multiple: bool = False) -> Any:
        result = original(channel, delivery_tag, multiple)
        self._settle(channel, delivery_tag, multiple, "ack", False)
        return result

    def _note_basic_nack(self, original: Callable[..., Any], channel: Any, delivery_tag: int = 0,
                         multiple: bool = False, requeue: bool = True) -> Any:
        result = original(channel, delivery_tag, multiple, requeue)
        self._settle(channel, delivery_tag, multiple, "nack", requeue)
        return result

    def _note_basic_reject(self, original: Callable[..., Any], channel: Any, delivery_tag: int = 0,
                           requeue: bool = True) -> Any:
        result = original(channel, delivery_tag, requeue)
        self._settle(channel, delivery_tag, False, "reject", requeue)
        return result

    def _note_queue_declare(self, original: Callable[..., Any], channel: Any, queue: str, passive: bool = False,
                            durable: bool = False, exclusive: bool = False, auto_delete: bool = False,
                            arguments: Any = None, callback: Any = None) -> Any:
        def declared(method_frame: Any) -> None:
            name = method_frame.method.queue
            if not passive and name not in self.queues:
                self.queues.append(name)
            if callback is not None:
                callback(method_frame)

        return original(channel, queue, passive, durable, exclusive, auto_delete, arguments, declared)

    def _note_exchange_declare(self, original: Callable[..., Any], channel: Any, exchange: str,
                               exchange_type: Any = "direct", passive: bool = False, durable: bool = False,
                               auto_delete: bool = False, internal: bool = False, arguments: Any = None,
                               callback: Any = None) -> Any:
        result = original(channel, exchange, exchange_type, passive, durable, auto_delete, internal, arguments,
                          callback)
        kind = getattr(exchange_type, "value", exchange_type)
        if not passive and exchange and not exchange.startswith("amq.") and \
                exchange not in [name for name, _ in self.exchanges]:
            self.exchanges.append((exchange, str(kind)))
        return result

    def _note_queue_bind(self, original: Callable[..., Any], channel: Any, queue: str, exchange: str,
                         routing_key: str | None = None, arguments: Any = None, callback: Any = None) -> Any:
        result = original(channel, queue, exchange, routing_key, arguments, callback)
        binding = (exchange, queue, queue if routing_key is None else routing_key)
        if binding not in self.bindings:
            self.bindings.append(binding)
        return result

    # views

    @property
    def consumed(self) -> list[Delivery]:
        """Deliveries the client acknowledged (or took with auto_ack), in delivery order."""
        return [d for d in self.deliveries if d.consumed]

    def events(self) -> list[Any]:
        """The notes as memq trace records (`Published`, `Delivered`, `Acked`...), in time order."""
        from memq import events as ev

        rows: list[tuple[float, int, Any]] = []
        for index, sent in enumerate(self.sent):
            rows.append((sent.time, len(rows), ev.Published(sent.time, index + 1, sent.connection, sent.channel,
                                                            sent.exchange, sent.routing_key, len(sent.body))))
        for d in self.deliveries:
            rows.append((d.time, len(rows), ev.Delivered(d.time, d.message, d.queue or "?", d.connection, d.channel,
                                                         d.consumer_tag, d.delivery_tag, d.redelivered)))
            at = d.settled if d.settled is not None else d.time
            if d.outcome == "ack":
                rows.append((at, len(rows), ev.Acked(at, d.message, d.queue or "?", d.connection,
                                                         d.channel, d.delivery_tag)))
            elif d.outcome is not None:
                cls = ev.Nacked if d.outcome == "nack" else ev.Rejected
                rows.append((at, len(rows), cls(at, d.message, d.queue or "?", d.connection, d.channel,
                                                    d.delivery_tag, d.requeue)))
        rows.sort(key=lambda row: (row[0], row[1]))
        return [row[2] for row in rows]


def _same_properties(sent: Any, received: Any) -> bool:
    for name in ("correlation_id", "message_id", "reply_to", "type", "content_type"):
        value = getattr(sent, name, None)
        if value is not None and getattr(received, name, None) != value:
            return False
    return True
