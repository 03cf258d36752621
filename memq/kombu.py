"""kombu transport `memq://`: kombu's client objects on top of the memq core.

Theory of operation: every AMQP-level call a kombu channel makes (declare, bind, publish, get,
consume, ack, reject, qos, recover, purge, delete) is the same call on a core `memq.Channel`, so
routing, requeue position, TTL, priorities and dead-lettering are the core's (RabbitMQ's), never
kombu's virtual emulation. Deliveries to consumers are buffered per connection, as bytes wait in a
socket, and handed to kombu callbacks only inside `Connection.drain_events()`, which waits on
virtual time: it runs the broker (and any driver registered with `add_pump`) until a delivery
arrives, jumping the clock to the next timer, and raises `socket.timeout` at the virtual deadline.

A URL reaches a broker through a registry keyed by host name: `register(broker)` makes
`memq://localhost//` reach it; `register(broker, "b1")` makes `memq://b1//` reach it. The host is
resolved when a kombu connection is established, never cached on the transport class.

Example:
    >>> import memq, memq.kombu, kombu
    >>> broker = memq.Broker()
    >>> url = memq.kombu.register(broker)
    >>> with kombu.Connection(url) as conn:
    ...     q = conn.SimpleQueue("hello")
    ...     q.put({"n": 1})
    ...     q.get(timeout=1).payload
    {'n': 1}
    >>> memq.kombu.unregister("localhost")
"""

from __future__ import annotations

import socket
from collections import deque
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Callable

import amqp.exceptions as amqp_errors
import kombu.transport
from amqp.protocol import queue_declare_ok_t
from kombu.transport import base
from kombu.transport.base import to_rabbitmq_queue_arguments

from . import errors
from ._messages import Properties

if TYPE_CHECKING:
    import memq

__all__ = [
    "Transport",
    "Channel",
    "Message",
    "register",
    "unregister",
    "resolve",
    "add_pump",
    "remove_pump",
    "add_publish_hook",
    "remove_publish_hook",
    "run_until",
    "settle",
]

#: Timers this close after a wait's deadline still fire before it ends: Celery carries ETAs as ISO
#: strings with microsecond precision, so `countdown=10` then `get(timeout=10)` may differ by 1 µs.
_SLACK = 1e-6

#: Longest run of timer jumps a wait without a timeout may make before it gives up with `Stalled`.
MAX_JUMPS = 200_000

_brokers: dict[str, "memq.Broker"] = {}
_publish_hooks: dict[int, list[Callable[..., Any]]] = {}

_PROPERTY_KEYS = (
    "delivery_mode", "priority", "correlation_id", "reply_to", "expiration", "message_id",
    "timestamp", "type", "user_id", "app_id", "cluster_id",
)
_PROPERTY_KEY_SET = frozenset(_PROPERTY_KEYS)
_property_values = attrgetter(*_PROPERTY_KEYS)


def register(broker: "memq.Broker", host: str = "localhost") -> str:
    """Make `memq://<host>/` URLs reach `broker`; returns that URL (vhost `/`)."""
    _brokers[host] = broker
    return f"memq://{host}//"


def unregister(host: str = "localhost") -> None:
    """Forget the broker registered under `host` (no error if none is)."""
    _brokers.pop(host, None)


def resolve(host: str | None) -> "memq.Broker":
    """The broker registered under `host`.

    Raises:
        errors.InvalidArgument: no broker is registered under that name.
    """
    try:
        return _brokers[host or "localhost"]
    except KeyError:
        known = ", ".join(sorted(_brokers)) or "none"
        raise errors.InvalidArgument(
            f"no memq broker registered as {host!r} (registered: {known}); "
            "call memq.kombu.register(broker, host) or memq.celery.attach(app) first"
        ) from None


def add_pump(broker: "memq.Broker", pump: Callable[[], bool]) -> None:
    """Let `pump()` do one unit of work whenever `broker` settles (see `Broker.add_pump`)."""
    broker.add_pump(pump)


def remove_pump(broker: "memq.Broker", pump: Callable[[], bool]) -> None:
    """Undo `add_pump`."""
    broker.remove_pump(pump)


def add_publish_hook(broker: "memq.Broker", hook: Callable[..., Any]) -> None:
    """Call `hook(exchange, routing_key, properties, body)` after each kombu publish to `broker`."""
    _publish_hooks.setdefault(id(broker), []).append(hook)


def remove_publish_hook(broker: "memq.Broker", hook: Callable[..., Any]) -> None:
    """Undo `add_publish_hook`."""
    hooks = _publish_hooks.get(id(broker), [])
    if hook in hooks:
        hooks.remove(hook)
    if not hooks:
        _publish_hooks.pop(id(broker), None)


def settle(broker: "memq.Broker") -> None:
    """Run everything that can happen at the current virtual instant: deliveries, then pumps."""
    broker.settle()


def run_until(
    broker: "memq.Broker",
    predicate: Callable[[], bool],
    timeout: float | None = None,
    describe: Callable[[], str] | None = None,
) -> bool:
    """Run the simulation until `predicate()` holds or `timeout` virtual seconds pass (`Broker.run_until`).

    Raises:
        errors.Stalled: `timeout` is None and nothing is left that could make `predicate()` true.
    """
    return broker.run_until(predicate, timeout, describe, slack=_SLACK, max_jumps=MAX_JUMPS)


def _translate(exc: errors.MemqError) -> Exception:
    """What py-amqp raises against RabbitMQ for the same failure."""
    if isinstance(exc, errors.AMQPError):
        default = amqp_errors.ConnectionError if exc.hard else amqp_errors.ChannelError
        method = (exc.class_id, exc.method_id) if exc.class_id else None
        err = amqp_errors.error_for_code(exc.reply_code, exc.reply_text, method, default)
        if exc.hard != isinstance(err, amqp_errors.ConnectionError):
            err = default(exc.reply_text, method, reply_code=exc.reply_code)
        return err
    if isinstance(exc, errors.ChannelClosed):
        return amqp_errors.RecoverableConnectionError("Channel is closed.")
    if isinstance(exc, errors.ConnectionClosed):
        return amqp_errors.RecoverableConnectionError("Connection is closed.")
    return exc


class _Boundary:
    """Context manager translating memq core errors into py-amqp's at the adapter's edge."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ: Any, exc: Any, tb: Any) -> bool:
        if exc is None or not isinstance(exc, errors.MemqError):
            return False
        if isinstance(exc, (errors.Stalled, errors.InvalidArgument, errors.Unsupported)):
            return False
        raise _translate(exc) from exc


_boundary = _Boundary()


class Message(base.Message):
    """A delivered message, with py-amqp's `properties` and `delivery_info` keys."""

    def __init__(
        self,
        channel: "Channel",
        delivery_tag: int,
        redelivered: bool,
        exchange: str,
        routing_key: str,
        properties: Properties,
        body: bytes,
        consumer_tag: str | None = None,
    ) -> None:
        props = {key: value for key, value in zip(_PROPERTY_KEYS, _property_values(properties))
                 if value is not None}
        content_type, content_encoding = properties.content_type, properties.content_encoding
        if content_type is not None:
            props["content_type"] = content_type
        if content_encoding is not None:
            props["content_encoding"] = content_encoding
        headers = dict(properties.headers) if properties.headers else {}
        props["application_headers"] = headers
        info = {
            "consumer_tag": consumer_tag,
            "delivery_tag": delivery_tag,
            "redelivered": redelivered,
            "exchange": exchange,
            "routing_key": routing_key,
        }
        super().__init__(body=body, channel=channel, delivery_tag=delivery_tag, content_type=content_type,
                         content_encoding=content_encoding, delivery_info=info, properties=props,
                         headers=headers)


class Channel(base.StdChannel):
    """A kombu channel whose every AMQP method is the core channel's."""

    Message = Message

    def __init__(self, connection: "MemqConnection") -> None:
        self.connection = connection
        with _boundary:
            self._ch = connection.core.channel()
        self.channel_id = self._ch.channel_number
        self.events: dict[str, set[Callable[..., Any]]] = {"basic_return": set()}
        self.no_ack_consumers: set[str] = set()
        self._callbacks: dict[str, Callable[[Message], Any]] = {}
        self._on_cancel: dict[str, Callable[[str], Any]] = {}
        self._nacked = False
        self._confirm = bool(connection.client.transport_options.get("confirm_publish"))
        self._ch.add_on_return_callback(self._on_return)
        self._ch.add_on_cancel_callback(self._on_broker_cancel)
        if self._confirm:
            self._ch.add_on_confirm_callback(self._on_confirm)
            with _boundary:
                self._ch.confirm_delivery()

    @property
    def is_open(self) -> bool:
        """Whether the core channel is open."""
        return bool(self._ch.is_open)

    # exchanges and queues

    def exchange_declare(self, exchange: str = "", type: str = "direct", durable: bool = False,
                         auto_delete: bool = False, arguments: dict | None = None,
                         nowait: bool = False, passive: bool = False) -> None:
        """Declare an exchange (passive checks that it exists)."""
        with _boundary:
            self._ch.exchange_declare(exchange, type or "direct", passive=passive, durable=durable,
                                      auto_delete=auto_delete, arguments=arguments or None)

    def exchange_delete(self, exchange: str, if_unused: bool = False, nowait: bool = False) -> None:
        """Delete an exchange."""
        with _boundary:
            self._ch.exchange_delete(exchange, if_unused=if_unused)

    def exchange_bind(self, destination: str, source: str = "", routing_key: str = "",
                      nowait: bool = False, arguments: dict | None = None) -> None:
        """Bind an exchange to another exchange."""
        with _boundary:
            self._ch.exchange_bind(destination, source, routing_key, arguments=arguments or None)

    def exchange_unbind(self, destination: str, source: str = "", routing_key: str = "",
                        nowait: bool = False, arguments: dict | None = None) -> None:
        """Remove an exchange-to-exchange binding."""
        with _boundary:
            self._ch.exchange_unbind(destination, source, routing_key, arguments=arguments or None)

    def queue_declare(self, queue: str = "", passive: bool = False, durable: bool = False,
                      exclusive: bool = False, auto_delete: bool = False,
                      arguments: dict | None = None, nowait: bool = False) -> Any:
        """Declare a queue; returns py-amqp's `queue_declare_ok_t(queue, message_count, consumer_count)`."""
        with _boundary:
            ok = self._ch.queue_declare(queue or "", passive=passive, durable=durable,
                                        exclusive=exclusive, auto_delete=auto_delete,
                                        arguments=arguments or None)
        return queue_declare_ok_t(ok.queue, ok.message_count, ok.consumer_count)

    def queue_bind(self, queue: str, exchange: str = "", routing_key: str = "",
                   arguments: dict | None = None, nowait: bool = False, **kwargs: Any) -> None:
        """Bind a queue to an exchange."""
        with _boundary:
            self._ch.queue_bind(queue, exchange, routing_key or "", arguments=arguments or None)

    def queue_unbind(self, queue: str, exchange: str = "", routing_key: str = "",
                     arguments: dict | None = None, nowait: bool = False, **kwargs: Any) -> None:
        """Remove a queue binding."""
        with _boundary:
            self._ch.queue_unbind(queue, exchange, routing_key or "", arguments=arguments or None)

    def queue_purge(self, queue: str, nowait: bool = False, **kwargs: Any) -> int:
        """Remove the ready messages of a queue; returns how many."""
        with _boundary:
            return int(self._ch.queue_purge(queue))

    def queue_delete(self, queue: str, if_unused: bool = False, if_empty: bool = False,
                     nowait: bool = False, **kwargs: Any) -> int:
        """Delete a queue; returns how many messages it held."""
        with _boundary:
            return int(self._ch.queue_delete(queue, if_unused=if_unused, if_empty=if_empty))

    def prepare_queue_arguments(self, arguments: dict, **kwargs: Any) -> dict:
        """Turn kombu's `message_ttl=`, `max_priority=`, ... into RabbitMQ `x-` arguments."""
        return to_rabbitmq_queue_arguments(arguments, **kwargs)

    # publishing

    def prepare_message(self, body: Any, priority: int | None = None, content_type: str | None = None,
                        content_encoding: str | None = None, headers: dict | None = None,
                        properties: dict | None = None) -> tuple[bytes, Properties]:
        """Build the `(body, Properties)` pair that `basic_publish` sends."""
        if isinstance(body, str):
            body = body.encode(content_encoding or "utf-8")
        fields = {key: value for key, value in properties.items()
                  if value is not None and key in _PROPERTY_KEY_SET} if properties else {}
        expiration = fields.get("expiration")
        if expiration is not None:
            fields["expiration"] = str(expiration)
        if priority:
            fields["priority"] = priority
        return bytes(body or b""), Properties(
            content_type=content_type, content_encoding=content_encoding,
            headers=dict(headers) if headers else None, **fields,
        )

    def basic_publish(self, message: tuple[bytes, Properties], exchange: str = "",
                      routing_key: str = "", mandatory: bool = False, immediate: bool = False,
                      **kwargs: Any) -> None:
        """Publish a message prepared by `prepare_message`."""
        body, props = message
        self._nacked = False
        with _boundary:
            self._ch.basic_publish(exchange or "", routing_key or "", body, props, mandatory=mandatory)
        if self._nacked:
            raise amqp_errors.MessageNacked()
        hooks = _publish_hooks.get(self.connection.broker_id)
        if hooks:
            for hook in list(hooks):
                hook(exchange or "", routing_key or "", props, body)

    def _on_return(self, channel: Any, returned: Any) -> None:
        exc = amqp_errors.error_for_code(returned.reply_code, returned.reply_text,
                                         (60, 50), amqp_errors.ChannelError)
        message = Message(self, 0, False, returned.exchange, returned.routing_key,
                          returned.properties, returned.body)
        handlers = list(self.events["basic_return"])
        if not handlers:
            self.connection.inbox.append((self, None, exc))
            return
        for handler in handlers:
            handler(exc, returned.exchange, returned.routing_key, message)

    def _on_confirm(self, channel: Any, ack: bool, delivery_tag: int, multiple: bool) -> None:
        if not ack:
            self._nacked = True

    # consuming

    def basic_consume(self, queue: str, no_ack: bool = False, callback: Callable | None = None,
                      consumer_tag: str | None = None, nowait: bool = False,
                      arguments: dict | None = None, on_cancel: Callable | None = None,
                      **kwargs: Any) -> str:
        """Start a consumer; deliveries wait in the connection until `drain_events`."""
        with _boundary:
            tag = self._ch.basic_consume(queue, self._on_delivery, auto_ack=no_ack,
                                         consumer_tag=consumer_tag or None, arguments=arguments or None)
        if callback is not None:
            self._callbacks[tag] = callback
        if on_cancel is not None:
            self._on_cancel[tag] = on_cancel
        if no_ack:
            self.no_ack_consumers.add(tag)
        return str(tag)

    def basic_cancel(self, consumer_tag: str, nowait: bool = False) -> None:
        """Cancel a consumer."""
        self._callbacks.pop(consumer_tag, None)
        self._on_cancel.pop(consumer_tag, None)
        self.no_ack_consumers.discard(consumer_tag)
        if self._ch.is_open:
            with _boundary:
                self._ch.basic_cancel(consumer_tag)

    def _on_delivery(self, channel: Any, deliver: Any, properties: Properties, body: bytes) -> None:
        self.connection.inbox.append((self, deliver, (properties, body)))

    def _on_broker_cancel(self, channel: Any, consumer_tag: str) -> None:
        self._callbacks.pop(consumer_tag, None)
        on_cancel = self._on_cancel.pop(consumer_tag, None)
        if on_cancel is not None:
            on_cancel(consumer_tag)

    def _dispatch(self, deliver: Any, payload: Any) -> None:
        if deliver is None:
            raise payload
        properties, body = payload
        callback = self._callbacks.get(deliver.consumer_tag)
        if callback is None:
            # Mirrors py-amqp: a delivery for a cancelled consumer is rejected back to the queue.
            if deliver.consumer_tag not in self.no_ack_consumers and self._ch.is_open:
                with _boundary:
                    self._ch.basic_reject(deliver.delivery_tag, requeue=True)
            return
        callback(Message(self, deliver.delivery_tag, deliver.redelivered, deliver.exchange,
                         deliver.routing_key, properties, body, deliver.consumer_tag))

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Message | None:
        """Fetch one message, or None when the queue has none ready."""
        with _boundary:
            got = self._ch.basic_get(queue, auto_ack=no_ack)
        if got is None:
            return None
        return Message(self, got.delivery_tag, got.redelivered, got.exchange, got.routing_key,
                       got.properties, got.body)

    def message_to_python(self, raw_message: Any) -> Any:
        """Deliveries are already kombu messages."""
        return raw_message

    def basic_ack(self, delivery_tag: int, multiple: bool = False) -> None:
        """Acknowledge a delivery."""
        with _boundary:
            self._ch.basic_ack(delivery_tag, multiple=multiple)

    def basic_reject(self, delivery_tag: int, requeue: bool = False) -> None:
        """Reject a delivery (requeued at its original position when `requeue`)."""
        with _boundary:
            self._ch.basic_reject(delivery_tag, requeue=requeue)

    def basic_nack(self, delivery_tag: int, multiple: bool = False, requeue: bool = True) -> None:
        """Negatively acknowledge one or several deliveries."""
        with _boundary:
            self._ch.basic_nack(delivery_tag, multiple=multiple, requeue=requeue)

    def basic_qos(self, prefetch_size: int = 0, prefetch_count: int = 0,
                  apply_global: bool = False) -> None:
        """Set the prefetch window."""
        with _boundary:
            self._ch.basic_qos(prefetch_size, prefetch_count, apply_global)

    def basic_recover(self, requeue: bool = False) -> None:
        """Redeliver the unacknowledged messages (RabbitMQ refuses `requeue=False`)."""
        with _boundary:
            self._ch.basic_recover(requeue=requeue)

    def flow(self, active: bool = True) -> Any:
        """Channel.Flow, as RabbitMQ answers it."""
        with _boundary:
            return self._ch.flow(active)

    def after_reply_message_received(self, queue: str) -> None:
        """Nothing to do: reply queues go away through their `x-expires`, as on RabbitMQ."""

    def close(self) -> None:
        """Close the channel; the broker requeues what it had not acknowledged."""
        self._callbacks.clear()
        if self._ch.is_open:
            try:
                self._ch.close()
            except errors.MemqError:
                pass
        self.connection.forget_channel(self)

    def __repr__(self) -> str:
        return f"<memq.kombu.Channel {self.channel_id}>"


class MemqConnection:
    """What `Transport.establish_connection` returns: a core connection plus its delivery buffer."""

    def __init__(self, client: Any, broker: "memq.Broker", core: Any) -> None:
        self.client = client
        self.broker = broker
        self.broker_id = id(broker)
        self.core = core
        self.channels: list[Channel] = []
        self.inbox: deque[tuple[Channel, Any, Any]] = deque()

    @property
    def is_open(self) -> bool:
        """Whether the core connection is open."""
        return bool(self.core.is_open)

    def forget_channel(self, channel: Channel) -> None:
        """Drop a closed channel and its buffered deliveries."""
        if channel in self.channels:
            self.channels.remove(channel)
        if self.inbox:
            self.inbox = deque(item for item in self.inbox if item[0] is not channel)

    def dispatch_one(self, channels: "tuple[Channel, ...] | None" = None) -> bool:
        """Hand the oldest buffered delivery (of `channels`, if given) to its callback."""
        inbox = self.inbox
        if not inbox:
            return False
        if channels is None:
            channel, deliver, payload = inbox.popleft()
        else:
            for index, item in enumerate(inbox):
                if item[0] in channels:
                    break
            else:
                return False
            channel, deliver, payload = item
            del inbox[index]
        channel._dispatch(deliver, payload)
        return True

    def close(self) -> None:
        """Close every channel, then the core connection."""
        for channel in list(self.channels):
            channel.close()
        self.inbox.clear()
        if self.core.is_open:
            try:
                self.core.close()
            except errors.MemqError:
                pass


class Transport(base.Transport):
    """kombu transport for `memq://` URLs."""

    Channel = Channel
    Connection = MemqConnection

    default_port = 5672
    driver_type = "memq"
    driver_name = "memq"
    connection_errors = (amqp_errors.ConnectionError, socket.error, IOError, OSError)
    channel_errors = (amqp_errors.ChannelError,)
    recoverable_connection_errors = (amqp_errors.RecoverableConnectionError,)
    recoverable_channel_errors = (amqp_errors.RecoverableChannelError,)

    implements = base.Transport.implements.extend(
        asynchronous=False,
        exchange_type=frozenset(["direct", "topic", "fanout", "headers"]),
        heartbeats=False,
    )

    def establish_connection(self) -> MemqConnection:
        """Connect to the broker registered under the URL's host."""
        client = self.client
        broker = resolve(client.hostname)
        vhost = client.virtual_host or "/"
        with _boundary:
            core = broker.connect(vhost, username=client.userid or "guest",
                                  password=client.password or "guest")
        return MemqConnection(client, broker, core)

    def close_connection(self, connection: MemqConnection) -> None:
        """Close the connection and its channels."""
        connection.close()

    def _collect(self, connection: MemqConnection | None) -> None:
        if connection is not None:
            connection.close()

    def create_channel(self, connection: MemqConnection) -> Channel:
        """Open a channel on the core connection."""
        channel = Channel(connection)
        connection.channels.append(channel)
        return channel

    def close_channel(self, channel: Channel) -> None:
        """Close a channel."""
        channel.close()

    def verify_connection(self, connection: MemqConnection) -> bool:
        """Whether the core connection is still open."""
        return connection.is_open

    def qos_semantics_matches_spec(self, connection: MemqConnection) -> bool:
        """False, as for RabbitMQ 3.x: `global` prefetch applies per channel (Celery sets it)."""
        return False

    def drain_events(self, connection: MemqConnection, timeout: float | None = None, **kwargs: Any) -> None:
        """Deliver one buffered message, waiting up to `timeout` virtual seconds for one.

        Raises:
            socket.timeout: nothing arrived within `timeout`.
            errors.Stalled: `timeout` is None and nothing can ever arrive.
        """
        if not connection.inbox:
            def describe() -> str:
                return f"Connection {connection.core.name!r} has nothing to receive."
            if not run_until(connection.broker, lambda: bool(connection.inbox), timeout, describe):
                raise socket.timeout("timed out")
        connection.dispatch_one()

    @property
    def default_connection_params(self) -> dict[str, Any]:
        """Defaults for URL parts left out: `memq://` means host `localhost`, guest/guest, vhost `/`."""
        return {"hostname": "localhost", "port": self.default_port, "userid": "guest",
                "password": "guest", "virtual_host": "/"}



kombu.transport.TRANSPORT_ALIASES["memq"] = "memq.kombu:Transport"
