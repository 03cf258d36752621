"""Connections and channels: the native, pika-shaped API over the broker.

A channel method checks its arguments, asks the broker to change state, and returns a frozen record.
An AMQP rule broken by the call raises the error *after* closing what RabbitMQ closes: the channel for
a soft error, the whole connection for a hard one.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from . import _events as ev
from . import errors
from ._messages import EMPTY_PROPERTIES, Deliver, GetOk, Properties, QueueDeclareOk
from ._replies import reply

if TYPE_CHECKING:
    from ._broker import Broker, VHost
    from ._queues import Consumer, Entry, Queue

__all__ = ["Connection", "Channel"]

_F = TypeVar("_F", bound=Callable[..., Any])


def _amqp_method(class_id: int, method_id: int) -> Callable[[_F], _F]:
    """Decorate a channel method: refuse it on a closed channel, close what an error closes."""

    def decorate(func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(self: "Channel", *args: Any, **kwargs: Any) -> Any:
            if not self.is_open:
                self._raise_closed()
            try:
                return func(self, *args, **kwargs)
            except errors.AMQPError as error:
                self._fail(error, class_id, method_id)

        return wrapper  # type: ignore[return-value]

    return decorate


class Unacked:
    """A delivery waiting for its ack: which entry, from which queue, to which consumer (None: basic_get)."""

    __slots__ = ("entry", "queue", "consumer")

    def __init__(self, entry: "Entry", queue: "Queue", consumer: "Consumer | None") -> None:
        self.entry = entry
        self.queue = queue
        self.consumer = consumer


class Connection:
    """A client connection to one virtual host; open it with `Broker.connect()`."""

    def __init__(self, broker: "Broker", vhost: "VHost", username: str, name: str,
                 client_properties: dict | None = None) -> None:
        self.broker = broker
        self._vhost = vhost
        self.vhost = vhost.name
        self.username = username
        self.name = name
        self.client_properties = dict(client_properties or {})
        self.channels: dict[int, Channel] = {}
        self.is_open = True
        self.lost = False
        self.close_reason: errors.AMQPError | None = None
        self._on_close: list[Callable[[Connection, errors.AMQPError | None], Any]] = []
        self.connected_at = broker.clock.now()

    @property
    def is_closed(self) -> bool:
        """Whether the connection is closed (the opposite of `is_open`, as pika has both)."""
        return not self.is_open

    def channel(self, channel_number: int | None = None) -> "Channel":
        """Open a channel (the lowest free number unless one is given).

        Raises:
            errors.ChannelError: the number is in use (504, closes the connection).
        """
        self._check_open()
        if channel_number is None:
            channel_number = next(n for n in range(1, len(self.channels) + 2) if n not in self.channels)
        elif channel_number in self.channels or not 1 <= channel_number <= 2047:
            error = reply("channel_in_use", class_id=20, method_id=10)
            self.broker._close_connection(self, error)
            raise error
        channel = Channel(self, channel_number)
        self.channels[channel_number] = channel
        self.broker._record(ev.ChannelOpened, self.name, channel_number)
        return channel

    def close(self, reply_code: int = 200, reply_text: str = "Normal shutdown") -> None:
        """Close the connection, its channels (requeueing their unacked messages) and its exclusive queues."""
        self._check_open()
        self.broker._close_connection(self, None, reply_code=reply_code, reply_text=reply_text)

    def add_on_close_callback(self, callback: Callable[["Connection", errors.AMQPError | None], Any]) -> None:
        """Call `callback(connection, error)` when the connection closes (error is None for a client close)."""
        self._on_close.append(callback)

    def _check_open(self) -> None:
        if not self.is_open:
            raise errors.ConnectionClosed(f"connection {self.name} is closed", self.close_reason)

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.is_open:
            self.close()

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"<Connection {self.name} vhost={self.vhost!r} {state}>"


class Channel:
    """An AMQP channel, with pika's method names, argument names and defaults."""

    def __init__(self, connection: Connection, channel_number: int) -> None:
        self.connection = connection
        self.channel_number = channel_number
        self._broker = connection.broker
        self.is_open = True
        self.close_reason: errors.AMQPError | None = None
        self.unacked: dict[int, Unacked] = {}
        self.consumers: dict[str, Consumer] = {}
        self._next_tag = 0
        self.prefetch_count = 0
        self.global_prefetch = 0
        self.global_unacked = 0
        self.confirming = False
        self.publish_seq = 0
        self.transactional = False
        self.last_queue = ""  # the queue this channel declared last: what an empty queue name means
        self._tx: list[tuple[str, tuple]] = []  # ("publish" | "settle", arguments) until tx_commit
        self._on_return: list[Callable[..., Any]] = []
        self._on_confirm: list[Callable[..., Any]] = []
        self._on_cancel: list[Callable[..., Any]] = []
        self._on_close: list[Callable[..., Any]] = []

    @property
    def is_closed(self) -> bool:
        """Whether the channel is closed (the opposite of `is_open`, as pika has both)."""
        return not self.is_open

    # --- closing and errors --------------------------------------------------------------------

    def close(self, reply_code: int = 200, reply_text: str = "Normal shutdown") -> None:
        """Close the channel: cancel its consumers and requeue its unacked messages."""
        if not self.is_open:
            self._raise_closed()
        self._broker._close_channel(self, None, reply_code, reply_text)

    def _raise_closed(self) -> None:
        raise errors.ChannelClosed(f"channel {self.channel_number} is closed", self.close_reason)

    def _fail(self, error: errors.AMQPError, class_id: int, method_id: int) -> None:
        if not error.class_id:
            error.class_id, error.method_id = class_id, method_id
        if error.hard:
            self._broker._close_connection(self.connection, error)
        else:
            self._broker._close_channel(self, error, error.reply_code, error.reply_text)
        raise error

    def add_on_close_callback(self, callback: Callable[["Channel", errors.AMQPError | None], Any]) -> None:
        """Call `callback(channel, error)` when the channel closes (error is None for a client close)."""
        self._on_close.append(callback)

    def add_on_return_callback(self, callback: Callable[..., Any]) -> None:
        """Call `callback(channel, returned)` for each mandatory message no queue took."""
        self._on_return.append(callback)

    def add_on_confirm_callback(self, callback: Callable[..., Any]) -> None:
        """Call `callback(channel, ack, delivery_tag, multiple)` for each confirm (after `confirm_delivery()`)."""
        self._on_confirm.append(callback)

    def add_on_cancel_callback(self, callback: Callable[..., Any]) -> None:
        """Call `callback(channel, consumer_tag)` when the broker cancels a consumer (its queue went away)."""
        self._on_cancel.append(callback)

    # --- exchanges -----------------------------------------------------------------------------

    @_amqp_method(40, 10)
    def exchange_declare(self, exchange: str, exchange_type: str = "direct", passive: bool = False,
                         durable: bool = False, auto_delete: bool = False, internal: bool = False,
                         arguments: dict | None = None) -> None:
        """Declare an exchange, or check that it exists with `passive=True`."""
        self._vhost.exchange_declare(
            _strip_cr_lf(exchange), str(exchange_type), passive, durable, auto_delete, internal, arguments or {}
        )

    @_amqp_method(40, 20)
    def exchange_delete(self, exchange: str | None = None, if_unused: bool = False) -> None:
        """Delete an exchange (deleting one that does not exist is not an error)."""
        self._vhost.exchange_delete(_strip_cr_lf(exchange or ""), if_unused)

    @_amqp_method(40, 30)
    def exchange_bind(self, destination: str, source: str, routing_key: str = "",
                      arguments: dict | None = None) -> None:
        """Bind exchange `destination` to exchange `source`."""
        self._vhost.bind(_strip_cr_lf(source), _strip_cr_lf(destination), "exchange", routing_key or "",
                         arguments or {}, self.connection)

    @_amqp_method(40, 40)
    def exchange_unbind(self, destination: str | None = None, source: str | None = None,
                        routing_key: str = "", arguments: dict | None = None) -> None:
        """Remove an exchange-to-exchange binding."""
        self._vhost.unbind(_strip_cr_lf(source or ""), _strip_cr_lf(destination or ""), "exchange",
                           routing_key or "", arguments or {}, self.connection)

    # --- queues --------------------------------------------------------------------------------

    @_amqp_method(50, 10)
    def queue_declare(self, queue: str, passive: bool = False, durable: bool = False,
                      exclusive: bool = False, auto_delete: bool = False,
                      arguments: dict | None = None) -> QueueDeclareOk:
        """Declare a queue (an empty name gets a server-generated one) and return its counts."""
        q = self._vhost.queue_declare(
            _strip_cr_lf(queue or ""), passive, durable, exclusive, auto_delete, arguments or {}, self.connection
        )
        self.last_queue = q.name
        return QueueDeclareOk(q.name, q.message_count, len(q.consumers))

    @_amqp_method(50, 20)
    def queue_bind(self, queue: str, exchange: str, routing_key: str | None = None,
                   arguments: dict | None = None) -> None:
        """Bind a queue to an exchange (the routing key defaults to the queue's name)."""
        name, key = _strip_cr_lf(self._queue_name(queue)), self._binding_key(queue, routing_key)
        self._vhost.bind(_strip_cr_lf(exchange), name, "queue", key, arguments or {}, self.connection)

    @_amqp_method(50, 50)
    def queue_unbind(self, queue: str, exchange: str | None = None, routing_key: str | None = None,
                     arguments: dict | None = None) -> None:
        """Remove a binding of a queue (unbinding one that does not exist is not an error)."""
        name, key = _strip_cr_lf(self._queue_name(queue)), self._binding_key(queue, routing_key)
        self._vhost.unbind(_strip_cr_lf(exchange or ""), name, "queue", key, arguments or {}, self.connection)

    @_amqp_method(50, 30)
    def queue_purge(self, queue: str) -> int:
        """Remove every ready message from a queue; returns how many."""
        return self._vhost.queue_purge(self._queue_name(queue), self.connection)

    @_amqp_method(50, 40)
    def queue_delete(self, queue: str, if_unused: bool = False, if_empty: bool = False) -> int:
        """Delete a queue; returns how many ready messages went with it."""
        return self._vhost.queue_delete(_strip_cr_lf(self._queue_name(queue)), if_unused, if_empty,
                                        self.connection)

    def _queue_name(self, queue: str | None) -> str:
        """The queue a method names; Mirrors RabbitMQ: "" is the queue this channel declared last.

        Raises:
            errors.NotFound: "" on a channel that has declared no queue.
        """
        if queue:
            return queue
        if not self.last_queue:
            raise reply("no_previous_queue")
        return self.last_queue

    def _binding_key(self, queue: str | None, routing_key: str | None) -> str:
        """Mirrors RabbitMQ: a binding of queue "" with routing key "" uses the last declared queue's name."""
        if routing_key is None or (not queue and routing_key == ""):
            return self._queue_name(queue)
        return routing_key

    # --- publishing ----------------------------------------------------------------------------

    def basic_publish(self, exchange: str, routing_key: str, body: bytes | str,
                      properties: Properties | None = None, mandatory: bool = False) -> None:
        """Publish a message; consumers see it at the next `run_until_idle()`.

        A mandatory message no queue takes goes to the return callbacks before this returns; in
        confirm mode the confirm callbacks are called before this returns too.
        """
        if not self.is_open:
            self._raise_closed()
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):
            body = _as_bytes(body)
        try:
            if self.transactional:
                # Mirrors RabbitMQ: a transactional publish is checked when it is sent, applied at commit.
                _, checked = self._broker._check_publish(self, exchange or "", properties or EMPTY_PROPERTIES)
                self._tx.append(("publish", (exchange or "", routing_key or "", body, checked, mandatory)))
                return
            self._broker._publish(
                self, exchange or "", routing_key or "", body, properties or EMPTY_PROPERTIES, mandatory
            )
        except errors.AMQPError as error:
            self._fail(error, 60, 40)

    @_amqp_method(85, 10)
    def confirm_delivery(self) -> None:
        """Put the channel in publisher-confirm mode.

        Raises:
            errors.PreconditionFailed: the channel is transactional.
        """
        if self.transactional:
            raise errors.PreconditionFailed(
                "PRECONDITION_FAILED - cannot switch from tx to confirm mode"
            )
        self.confirming = True

    # --- getting and consuming -----------------------------------------------------------------

    @_amqp_method(60, 70)
    def basic_get(self, queue: str, auto_ack: bool = False) -> GetOk | None:
        """Take the message at the head of a queue, or None if it has none ready."""
        q = self._vhost.queue_for(self._queue_name(queue), self.connection)
        return self._broker._get(self, q, auto_ack)

    @_amqp_method(60, 20)
    def basic_consume(self, queue: str, on_message_callback: Callable[..., Any], auto_ack: bool = False,
                      exclusive: bool = False, consumer_tag: str | None = None,
                      arguments: dict | None = None) -> str:
        """Subscribe `on_message_callback(channel, deliver, properties, body)` to a queue; returns the tag."""
        if not callable(on_message_callback):
            raise errors.InvalidArgument("on_message_callback must be callable")
        return self._broker._consume(
            self, self._queue_name(queue), on_message_callback, auto_ack, exclusive, consumer_tag or "", arguments or {}
        )

    @_amqp_method(60, 30)
    def basic_cancel(self, consumer_tag: str) -> None:
        """Cancel a consumer; its unacked messages stay unacked on this channel."""
        consumer = self.consumers.get(consumer_tag)
        if consumer is not None:
            self._broker._cancel(consumer, by_broker=False)

    @_amqp_method(60, 10)
    def basic_qos(self, prefetch_size: int = 0, prefetch_count: int = 0, global_qos: bool = False) -> None:
        """Limit unacked deliveries: per new consumer, or for the whole channel with `global_qos=True`."""
        if prefetch_size:
            raise reply("prefetch_size", size=prefetch_size)
        if not 0 <= prefetch_count <= 65535:
            raise errors.InvalidArgument(f"prefetch_count must be 0..65535, got {prefetch_count}")
        if global_qos:
            self.global_prefetch = prefetch_count
            self._broker._capacity_changed(self)
        else:
            self.prefetch_count = prefetch_count

    # --- acknowledgements ----------------------------------------------------------------------

    def basic_ack(self, delivery_tag: int = 0, multiple: bool = False) -> None:
        """Acknowledge one delivery, or every one up to `delivery_tag` with `multiple=True` (0: all)."""
        if not self.is_open:
            self._raise_closed()
        try:
            if self.transactional:
                items = self._collect(delivery_tag, multiple)
                self._tx.append(("settle", (items, "ack", False)))
                return
            self._broker._settle_many(self, self._collect(delivery_tag, multiple), "ack", False)
        except errors.AMQPError as error:
            self._fail(error, 60, 80)

    def basic_nack(self, delivery_tag: int = 0, multiple: bool = False, requeue: bool = True) -> None:
        """Negatively acknowledge: requeue, or dead-letter/discard with `requeue=False`."""
        self._reject(delivery_tag, multiple, requeue, "nack", 120)

    def basic_reject(self, delivery_tag: int = 0, requeue: bool = True) -> None:
        """Reject one delivery: requeue, or dead-letter/discard with `requeue=False`."""
        self._reject(delivery_tag, False, requeue, "reject", 90)

    def _reject(self, delivery_tag: int, multiple: bool, requeue: bool, how: str, method_id: int) -> None:
        if not self.is_open:
            self._raise_closed()
        try:
            items = self._collect(delivery_tag, multiple)
            if self.transactional:
                self._tx.append(("settle", (items, how, requeue)))
                return
            self._broker._settle_many(self, items, how, requeue)
        except errors.AMQPError as error:
            self._fail(error, 60, method_id)

    def _collect(self, delivery_tag: int, multiple: bool) -> list[tuple[int, Unacked]]:
        """Take the deliveries an ack names out of the unacked table (RabbitMQ's collect_acks)."""
        unacked = self.unacked
        if multiple:
            if delivery_tag == 0:
                items = list(unacked.items())
            elif delivery_tag in unacked:
                items = []
                for tag in unacked:
                    if tag > delivery_tag:
                        break
                    items.append((tag, unacked[tag]))
            else:
                raise reply("unknown_delivery_tag", tag=delivery_tag)
            for tag, _ in items:
                del unacked[tag]
            return items
        item = unacked.pop(delivery_tag, None)
        if item is None:
            raise reply("unknown_delivery_tag", tag=delivery_tag)
        return [(delivery_tag, item)]

    @_amqp_method(60, 110)
    def basic_recover(self, requeue: bool = True) -> None:
        """Requeue every unacked delivery of this channel (RabbitMQ refuses `requeue=False`)."""
        if not requeue:
            raise reply("recover_no_requeue")
        self._broker._settle_many(self, self._collect(0, True), "recover", True)

    @_amqp_method(20, 20)
    def flow(self, active: bool) -> bool:
        """Channel.Flow: RabbitMQ accepts only `active=True`."""
        if not active:
            raise reply("flow_inactive")
        return True

    # --- transactions --------------------------------------------------------------------------

    @_amqp_method(90, 10)
    def tx_select(self) -> None:
        """Make the channel transactional: publishes and acks wait for `tx_commit()`."""
        if self.confirming:
            raise errors.PreconditionFailed("PRECONDITION_FAILED - cannot switch from confirm to tx mode")
        self.transactional = True

    @_amqp_method(90, 20)
    def tx_commit(self) -> None:
        """Apply the publishes and acks made since the last commit or rollback, in order."""
        self._check_tx()
        pending, self._tx = self._tx, []
        for kind, args in pending:
            if kind == "publish":
                self._broker._publish(self, *args)
            else:
                self._broker._settle_many(self, *args)

    @_amqp_method(90, 30)
    def tx_rollback(self) -> None:
        """Forget the publishes and acks made since the last commit; the acked messages stay unacked."""
        self._check_tx()
        self._discard_tx()

    def _discard_tx(self) -> None:
        """Forget uncommitted publishes and acks, making the acked deliveries unacked again (rollback, close)."""
        pending, self._tx = self._tx, []
        for kind, args in pending:
            if kind == "settle":
                self.unacked.update(args[0])
        self.unacked = dict(sorted(self.unacked.items()))

    def _check_tx(self) -> None:
        if not self.transactional:
            raise errors.PreconditionFailed("PRECONDITION_FAILED - channel is not transactional")

    # --- helpers -------------------------------------------------------------------------------

    @property
    def _vhost(self) -> "VHost":
        return self.connection._vhost

    def _deliver(self, consumer: "Consumer", queue: "Queue", entry: "Entry") -> None:
        """Hand one entry to one of this channel's consumers (called by the broker's dispatch)."""
        self._next_tag += 1
        tag = self._next_tag
        message = entry.message
        entry.delivery_count += 1
        broker = self._broker
        if consumer.auto_ack:
            broker._count_settled("acked")
        else:
            self.unacked[tag] = Unacked(entry, queue, consumer)
            consumer.unacked += 1
            self.global_unacked += 1
            queue.unacked += 1
        if broker.trace.enabled:
            broker._record(ev.Delivered, message.mid, queue.name, self.connection.name,
                           self.channel_number, consumer.tag, tag, entry.redelivered)
            if consumer.auto_ack:
                broker._record(ev.Acked, message.mid, queue.name, self.connection.name,
                               self.channel_number, tag)
        consumer.callback(
            self,
            Deliver(consumer.tag, tag, entry.redelivered, message.exchange, message.routing_key),
            broker.delivered_properties(queue, entry, False) if queue.quorum else message.properties,
            message.body,
        )

    def __enter__(self) -> "Channel":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.is_open:
            self.close()

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"<Channel {self.connection.name}/{self.channel_number} {state}>"


def _strip_cr_lf(name: str) -> str:
    """Mirrors RabbitMQ 3.10: declare, delete, bind and unbind drop CR and LF from the names they are given.

    (Basic.Publish, Basic.Get, Basic.Consume and Queue.Purge take names as they are. RabbitMQ itself never
    answers a queue.declare whose name has CR or LF in it; memq strips them there too.)
    """
    if "\r" in name or "\n" in name:
        return name.replace("\r", "").replace("\n", "")
    return name


def _as_bytes(body: Any) -> bytes:
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    raise errors.InvalidArgument(f"body must be bytes or str, not {type(body).__name__}")
