"""A sans-IO AMQP 0-9-1 server session over the memq core, speaking as RabbitMQ 3.10.

Theory of operation: a `ServerSession` is one client connection seen from the broker's side.
Frames come in through `receive_frame` (frame objects, the fast in-process path) or
`receive_data` (bytes, for a socket); each is handled at once against the core, and every
reply or asynchronous event (deliveries, returns, confirms, cancels, closes) is queued as a
pika frame object until the I/O layer collects it with `frames_to_send()` or
`data_to_send()`. Nothing here reads a clock by itself, sleeps or touches a socket: the
I/O layer passes the virtual time to `heartbeat_due`.

The codec is pika's own `pika.frame` / `pika.spec`; no pika client class is used.
"""

from __future__ import annotations

import copy
from functools import partial
from typing import Any, Optional, Union

from pika import frame, spec

from memq import errors
from memq._amqp_methods import HANDLERS, ProtocolError
from memq._messages import EMPTY_PROPERTIES, Properties
from memq._replies import reply

FrameLike = Union[frame.Frame, frame.ProtocolHeader]

CHANNEL_MAX = 2047
FRAME_MAX = 131072
HEARTBEAT = 60

# Mirrors RabbitMQ 3.10.8's Connection.Start, as captured from a live broker.
SERVER_PROPERTIES: dict[str, Any] = {
    "capabilities": {
        "publisher_confirms": True,
        "exchange_exchange_bindings": True,
        "basic.nack": True,
        "consumer_cancel_notify": True,
        "connection.blocked": True,
        "consumer_priorities": True,
        "authentication_failure_close": True,
        "per_consumer_qos": True,
        "direct_reply_to": True,
    },
    "cluster_name": "rabbit@memq",
    "copyright": "Copyright (c) 2007-2022 VMware, Inc. or its affiliates.",
    "information": "Licensed under the MPL 2.0. Website: https://rabbitmq.com",
    "platform": "Erlang/OTP 25.2.3",
    "product": "RabbitMQ",
    "version": "3.10.8",
}

LOGIN_REFUSED = (
    "ACCESS_REFUSED - Login was refused using authentication mechanism {}. "
    "For details see the broker logfile."
)

PROPERTY_NAMES = (
    "content_type", "content_encoding", "headers", "delivery_mode", "priority",
    "correlation_id", "reply_to", "expiration", "message_id", "timestamp", "type",
    "user_id", "app_id", "cluster_id",
)  # pika's BasicProperties fields, which are also memq's Properties fields

# Connection states.
_AWAIT_HEADER, _AWAIT_START_OK, _AWAIT_TUNE_OK, _AWAIT_OPEN, _OPEN, _CLOSING, _CLOSED = range(7)


class _Channel:
    """Per-channel state: the core channel, a closing flag and content being assembled."""

    __slots__ = ("number", "core", "closing", "publish", "props", "size", "chunks", "got",
                 "consumers")

    def __init__(self, number: int, core: Any) -> None:
        self.number = number
        self.core = core
        self.closing = False
        self.publish: Optional[spec.Basic.Publish] = None
        self.props: Optional[spec.BasicProperties] = None
        self.size = 0
        self.chunks: list[bytes] = []
        self.got = 0
        self.consumers: dict[str, str] = {}


def wire_text(text: str) -> Union[str, bytes]:
    """Fit a reply text into an AMQP short string as RabbitMQ does.

    Mirrors RabbitMQ (rabbit_binary_generator): a text over 255 bytes is cut to 252 bytes plus
    "..."; pika decodes it as UTF-8, or keeps the bytes if the cut split a character.
    """
    data = text.encode("utf-8")
    if len(data) <= 255:
        return text
    cut = data[:252] + b"..."
    try:
        return cut.decode("utf-8")
    except UnicodeDecodeError:
        return cut


def _ids(method: Any) -> tuple[int, int]:
    """Return the (class_id, method_id) of a pika method object."""
    index = method.INDEX
    return index >> 16, index & 0xFFFF


def to_pika_properties(props: Any) -> spec.BasicProperties:
    """Convert core message properties into a fresh pika `BasicProperties` (headers copied)."""
    if props is None or props is EMPTY_PROPERTIES:
        return spec.BasicProperties()
    values = {name: getattr(props, name) for name in PROPERTY_NAMES}
    if values["headers"]:
        values["headers"] = copy.deepcopy(values["headers"])
    return spec.BasicProperties(**values)


_EMPTY_PIKA_PROPERTIES = spec.BasicProperties().__dict__

# The methods in which RabbitMQ reads queue "" as the channel's last declared queue.
_QUEUE_SHORTCUT_METHODS = (spec.Basic.Get, spec.Basic.Consume, spec.Queue.Bind, spec.Queue.Unbind,
                           spec.Queue.Purge, spec.Queue.Delete)


def to_core_properties(props: Optional[spec.BasicProperties]) -> Any:
    """Convert pika `BasicProperties` into the core's frozen `Properties` (headers copied)."""
    if props is None:
        return None
    values = props.__dict__
    if values == _EMPTY_PIKA_PROPERTIES:
        return None
    values = {name: values.get(name) for name in PROPERTY_NAMES}
    if values["headers"]:
        values["headers"] = copy.deepcopy(values["headers"])
    return Properties(**values)


def _is_publish(value: FrameLike) -> bool:
    return isinstance(getattr(value, "method", None), spec.Basic.Publish)


class ServerSession:
    """One AMQP 0-9-1 connection served by a `memq.Broker`, as RabbitMQ 3.10 would serve it.

    Args:
        broker: the `memq.Broker` to serve.
        heartbeat: the heartbeat proposed in Connection.Tune (RabbitMQ's default 60; 0 disables).
        frame_max: the frame_max proposed in Connection.Tune.
        channel_max: the channel_max proposed in Connection.Tune.
        drop_idle: drop the connection, as RabbitMQ does, when the client sent nothing for two
            heartbeat checks (see `idle_deadline`); False keeps idle clients forever.
    """

    def __init__(
        self,
        broker: Any,
        *,
        heartbeat: int = HEARTBEAT,
        frame_max: int = FRAME_MAX,
        channel_max: int = CHANNEL_MAX,
        drop_idle: bool = True,
    ) -> None:
        self.broker = broker
        self.heartbeat = heartbeat
        self.frame_max = frame_max
        self.channel_max = channel_max
        self.connection: Any = None
        self.closed = False
        self.lost = False
        self.username = ""
        self._password = ""
        self._client_properties: dict[str, Any] = {}
        self._held: list[tuple[str, Any]] | None = None  # frames left unread while blocked by an alarm
        self._told_blocked = False
        self._state = _AWAIT_HEADER
        self._channels: dict[int, _Channel] = {}
        self._out: list[FrameLike] = []
        self._buffer = b""
        self.last_sent = 0.0
        self._busy = False
        self.drop_idle = drop_idle
        self.last_received = 0.0
        self._opened_at = 0.0

    # ------------------------------------------------------------------ I/O surface

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the client; complete frames are handled at once."""
        self._buffer += data
        while self._buffer and not self.closed:
            consumed, value = frame.decode_frame(self._buffer)
            if value is None:
                return
            self._buffer = self._buffer[consumed:]
            self.receive_frame(value)

    def data_to_send(self) -> bytes:
        """Return (and forget) the bytes queued for the client."""
        return b"".join(value.marshal() for value in self.frames_to_send())

    def frames_to_send(self) -> list[FrameLike]:
        """Return (and forget) the frame objects queued for the client."""
        out, self._out = self._out, []
        return out

    @property
    def has_output(self) -> bool:
        """True when frames are waiting for the client."""
        return bool(self._out)

    def heartbeat_deadline(self) -> Optional[float]:
        """Return when the server next owes the client a heartbeat frame, or None if disabled."""
        if not self.heartbeat or self._state != _OPEN:
            return None
        return self.last_sent + self.heartbeat / 2

    def heartbeat_due(self, now: float) -> None:
        """Queue a heartbeat frame if nothing was sent for half the heartbeat interval.

        Mirrors RabbitMQ's heartbeat sender, which sends when the socket was idle for timeout/2.
        """
        deadline = self.heartbeat_deadline()
        if deadline is not None and now >= deadline and not self._out:
            self._out.append(frame.Heartbeat())

    def idle_deadline(self) -> Optional[float]:
        """Return when the broker drops this client if it sends nothing more, or None if it never does.

        Mirrors RabbitMQ's heartbeat receiver: every heartbeat interval since the connection opened it
        checks whether bytes arrived; the second check in a row that finds none closes the socket
        (logged as "missed heartbeats from client"). So the drop comes at the first check at least
        two intervals after the client's last frame.
        """
        if not self.heartbeat or not self.drop_idle or self._state != _OPEN:
            return None
        interval = self.heartbeat
        checks = -(-(self.last_received + 2 * interval - self._opened_at) // interval)
        return self._opened_at + max(checks, 2) * interval

    def _check_idle(self) -> bool:
        """A broker pump: drop the connection once its idle deadline has passed; True if it did."""
        deadline = self.idle_deadline()
        if deadline is None:
            self.broker.remove_pump(self._check_idle)
            return False
        if self.broker.clock.now() < deadline or self.connection is None:
            return False
        self.broker.remove_pump(self._check_idle)
        self.broker.drop_connection(self.connection)
        return True

    def mark_sent(self, now: float) -> None:
        """Record that queued frames reached the client at virtual time `now`."""
        self.last_sent = now

    def describe(self) -> list[str]:
        """Describe this connection's consumers, for diagnostics."""
        name = getattr(self.connection, "name", None) or "connection of {!r}".format(self.username)
        lines = []
        for number, channel in self._channels.items():
            for tag, queue in channel.consumers.items():
                lines.append("{} channel {}: consumer {!r} waits for a message on queue {!r}{}".format(
                    name, number, tag, queue, self._queue_state(queue)))
        if not lines:
            lines.append("{}: no consumers".format(name))
        return lines

    def _queue_state(self, name: str) -> str:
        vhost = getattr(self.connection, "vhost", None)
        for info in self.broker.list_queues(vhost):
            if info.name == name:
                return " ({} ready, {} unacked)".format(info.messages_ready, info.messages_unacknowledged)
        return ""

    def connection_lost(self) -> None:
        """The client dropped the transport: close the core connection as RabbitMQ would."""
        self.closed = True
        self._state = _CLOSED
        self._channels.clear()
        connection, self.connection = self.connection, None
        if connection is not None and connection.is_open:
            connection.close()

    # ------------------------------------------------------------------ frames in

    def receive_frame(self, value: FrameLike) -> None:
        """Handle one frame from the client."""
        if self.closed:
            return
        self.last_received = self.broker.clock._now
        if self._held is not None or (self.broker.alarm is not None and _is_publish(value)):
            self._hold(("frame", value))
            return
        try:
            self._dispatch(value)
        except ProtocolError as exc:
            self._close_connection(exc.reply_code, exc.reply_text, exc.class_id, exc.method_id)
        # Mirrors RabbitMQ: queues deliver as soon as they can, before the next command is read.
        self.broker.run_until_idle()

    def publish(self, number: int, method: spec.Basic.Publish,
                properties: spec.BasicProperties, body: bytes) -> None:
        """Handle a whole Basic.Publish (method, header and body) at once: the fast path."""
        if self._state != _OPEN:
            return
        self.last_received = self.broker.clock._now
        if self._held is not None or self.broker.alarm is not None:
            self._hold(("publish", (number, method, properties, body)))
            return
        channel = self._channels.get(number)
        if channel is None:
            self.receive_frame(frame.Method(number, method))
            return
        if channel.closing:
            return
        if channel.publish is not None:
            self._close_connection(505, "UNEXPECTED_FRAME - expected content header for class 60, "
                                   "got non content header frame instead", 60, 40)
            return
        self._do_publish(channel, method, properties, body)
        self.broker.run_until_idle()

    # ------------------------------------------------------------------ resource alarms

    def _hold(self, item: tuple[str, Any]) -> None:
        """Keep a client's frame unread while the connection is blocked by a resource alarm.

        Mirrors RabbitMQ: a connection that publishes during an alarm is blocked; it is told so with
        Connection.Blocked when its client supports that, and the broker stops reading from it.
        """
        if self._held is None:
            self._held = []
            capabilities = self._client_properties.get("capabilities") or {}
            self._told_blocked = bool(capabilities.get("connection.blocked"))
            if self._told_blocked:
                self._send(0, spec.Connection.Blocked(f"low on {self.broker.alarm}"))
            self.broker.on_alarm_cleared(self._unblock)
        self._held.append(item)

    def _unblock(self) -> None:
        held, self._held = self._held or [], None
        if self.closed:
            return
        if self._told_blocked:
            self._send(0, spec.Connection.Unblocked())
        for kind, value in held:
            if kind == "frame":
                self.receive_frame(value)
            else:
                self.publish(*value)

    def _dispatch(self, value: FrameLike) -> None:
        state = self._state
        if state == _OPEN:
            if value.frame_type == spec.FRAME_METHOD:
                self._on_method(value)  # type: ignore[arg-type]
            elif value.frame_type == spec.FRAME_HEADER:
                self._on_header(value)  # type: ignore[arg-type]
            elif value.frame_type == spec.FRAME_BODY:
                self._on_body(value)  # type: ignore[arg-type]
            return
        if isinstance(value, frame.Heartbeat):
            return
        if state == _AWAIT_HEADER:
            self._on_protocol_header(value)
            return
        if state == _CLOSING:
            self._on_closing(value)
            return
        method = getattr(value, "method", None)
        expected = {_AWAIT_START_OK: spec.Connection.StartOk, _AWAIT_TUNE_OK: spec.Connection.TuneOk,
                    _AWAIT_OPEN: spec.Connection.Open}[state]
        if not isinstance(method, expected):
            if isinstance(method, spec.Connection.Close):
                self._send(0, spec.Connection.CloseOk())
                self._finish()
                return
            raise ProtocolError(503, "COMMAND_INVALID - expected '{}'".format(expected.NAME.lower()))
        if state == _AWAIT_START_OK:
            self._on_start_ok(method)
        elif state == _AWAIT_TUNE_OK:
            self._on_tune_ok(method)
        else:
            self._on_open(method)

    # ------------------------------------------------------------------ handshake

    def _on_protocol_header(self, value: FrameLike) -> None:
        if not isinstance(value, frame.ProtocolHeader) or (value.major, value.minor) != (0, 9):
            # Mirrors RabbitMQ: answer with the supported protocol header, then close.
            self._out.append(frame.ProtocolHeader())
            self._finish()
            return
        self._state = _AWAIT_START_OK
        self._send(0, spec.Connection.Start(0, 9, dict(SERVER_PROPERTIES), "PLAIN AMQPLAIN", "en_US"))

    def _on_start_ok(self, method: spec.Connection.StartOk) -> None:
        self._client_properties = dict(method.client_properties or {})
        if method.mechanism != "PLAIN":
            self._close_connection(403, LOGIN_REFUSED.format(method.mechanism))
            return
        response = method.response or b""
        if isinstance(response, str):
            response = response.encode()
        parts = response.split(b"\x00")
        if len(parts) != 3:
            self._close_connection(403, LOGIN_REFUSED.format("PLAIN"))
            return
        self.username, self._password = parts[1].decode(), parts[2].decode()
        if not _login_ok(self.broker, self.username, self._password):
            self._close_connection(403, LOGIN_REFUSED.format("PLAIN"))
            return
        self._state = _AWAIT_TUNE_OK
        self._send(0, spec.Connection.Tune(self.channel_max, self.frame_max, self.heartbeat))

    def _on_tune_ok(self, method: spec.Connection.TuneOk) -> None:
        if method.channel_max:
            self.channel_max = min(self.channel_max, method.channel_max) if self.channel_max else method.channel_max
        if method.frame_max:
            self.frame_max = min(self.frame_max, method.frame_max)
        self.heartbeat = method.heartbeat
        self._state = _AWAIT_OPEN

    def _on_open(self, method: spec.Connection.Open) -> None:
        try:
            self.connection = self.broker.connect(
                method.virtual_host, username=self.username, password=self._password,
                client_properties=self._client_properties)
        except errors.AMQPError as exc:
            self._close_connection(exc.reply_code, exc.reply_text, 10, 40)
            return
        self.connection.add_on_close_callback(self._on_core_connection_closed)
        self._state = _OPEN
        self._opened_at = self.broker.clock.now()
        if self.heartbeat and self.drop_idle:
            self.broker.add_pump(self._check_idle)
        self._send(0, spec.Connection.OpenOk())

    # ------------------------------------------------------------------ closing

    def _close_connection(self, code: int, text: str, class_id: int = 0, method_id: int = 0) -> None:
        """Send Connection.Close and discard everything but Close/CloseOk until CloseOk."""
        if self._state in (_CLOSING, _CLOSED):
            return
        self._state = _CLOSING
        self._channels.clear()
        connection, self.connection = self.connection, None
        if connection is not None and connection.is_open:
            connection.close()
        self._send(0, spec.Connection.Close(code, wire_text(text), class_id, method_id))

    def _on_closing(self, value: FrameLike) -> None:
        method = getattr(value, "method", None)
        if isinstance(method, spec.Connection.CloseOk):
            self._finish()
        elif isinstance(method, spec.Connection.Close):
            self._send(0, spec.Connection.CloseOk())

    def _finish(self) -> None:
        self._state = _CLOSED
        self.closed = True

    def _on_core_connection_closed(self, connection: Any, error: Any) -> None:
        if connection is not self.connection or self._state != _OPEN or self._busy:
            return  # closed by this session, or a call in progress reports the error itself
        self.connection = None
        if getattr(connection, "lost", False):
            # A simulated network failure: no Connection.Close, the socket just goes away.
            self.lost = True
            self._channels.clear()
            self._finish()
            return
        if error is None:
            error = errors.ConnectionForced(
                "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'")
        self._close_connection(error.reply_code, error.reply_text, error.class_id, error.method_id)

    def _on_core_channel_closed(self, number: int, _channel: Any, error: Any) -> None:
        channel = self._channels.get(number)
        if channel is None or channel.closing or error is None or self._busy:
            return
        if _is_hard(error):
            return  # the connection-level close follows
        self._soft_close(channel, error)

    def _soft_close(self, channel: _Channel, error: Any) -> None:
        channel.closing = True
        channel.publish = None
        self._send(channel.number, spec.Channel.Close(
            error.reply_code, wire_text(error.reply_text), error.class_id, error.method_id))

    def _amqp_error(self, channel: _Channel, exc: errors.AMQPError, method: Any) -> None:
        """Translate a core error into Channel.Close (soft) or Connection.Close (hard)."""
        class_id, method_id = getattr(exc, "class_id", 0), getattr(exc, "method_id", 0)
        if not class_id and method is not None:
            class_id, method_id = _ids(method)
        if _is_hard(exc):
            self._close_connection(exc.reply_code, exc.reply_text, class_id, method_id)
            return
        if not channel.closing:
            channel.closing = True
            channel.publish = None
            self._send(channel.number, spec.Channel.Close(exc.reply_code, wire_text(exc.reply_text),
                                                          class_id, method_id))

    # ------------------------------------------------------------------ frames out

    def _send(self, number: int, method: Any) -> None:
        self._out.append(frame.Method(number, method))

    def _send_content(self, number: int, method: Any, properties: Any, body: bytes) -> None:
        out = self._out
        out.append(frame.Method(number, method))
        out.append(frame.Header(number, len(body), to_pika_properties(properties)))
        if body:
            step = self.frame_max - 8 if self.frame_max else len(body)
            if len(body) <= step:
                out.append(frame.Body(number, body))
            else:
                for start in range(0, len(body), step):
                    out.append(frame.Body(number, body[start:start + step]))

    # ------------------------------------------------------------------ channel frames

    def _on_method(self, value: frame.Method) -> None:
        number, method = value.channel_number, value.method
        if number == 0:
            self._on_connection_method(method)
            return
        channel = self._channels.get(number)
        if channel is None:
            if isinstance(method, spec.Channel.Open):
                self._open_channel(number)
            elif getattr(method, "queue", None) == "" and type(method) in _QUEUE_SHORTCUT_METHODS:
                self._stray_close(number, method)
            elif not isinstance(method, (spec.Channel.CloseOk, spec.Channel.Close)):
                raise ProtocolError(504, "CHANNEL_ERROR - expected 'channel.open'", *_ids(method))
            return
        if channel.closing:
            if isinstance(method, spec.Channel.CloseOk):
                del self._channels[number]
            elif isinstance(method, spec.Channel.Close):
                self._send(number, spec.Channel.CloseOk())
            elif isinstance(method, spec.Channel.Open):
                # Mirrors RabbitMQ: a channel waiting for Channel.CloseOk takes Channel.Open as a second one.
                raise ProtocolError(504, "CHANNEL_ERROR - second 'channel.open' seen", 20, 10)
            return
        if channel.publish is not None:
            raise ProtocolError(505, "UNEXPECTED_FRAME - expected content header for class 60, "
                                "got non content header frame instead", 60, 40)
        handler = HANDLERS.get(type(method))
        if handler is None:
            raise ProtocolError(540, "NOT_IMPLEMENTED - {}".format(method.NAME), *_ids(method))
        self._busy = True
        try:
            reply = handler(self, channel, method)
        except errors.AMQPError as exc:
            self._amqp_error(channel, exc, method)
            return
        finally:
            self._busy = False
        if reply is not None:
            self._send(number, reply)

    def _stray_close(self, number: int, method: Any) -> None:
        """A method naming queue "" on a channel that was never opened.

        Mirrors RabbitMQ 3.10: the channel process started for it expands the empty queue name (the
        channel's last declared queue: none) before it checks that the channel is open, so the answer is
        a Channel.Close with 404 on that number, which then waits for Channel.CloseOk.
        """
        stray = _Channel(number, None)
        stray.closing = True
        self._channels[number] = stray
        error = reply("no_previous_queue")
        self._send(number, spec.Channel.Close(error.reply_code, error.reply_text, *_ids(method)))

    def _on_connection_method(self, method: Any) -> None:
        if isinstance(method, spec.Connection.Close):
            self._channels.clear()
            connection, self.connection = self.connection, None
            if connection is not None and connection.is_open:
                connection.close()
            self._send(0, spec.Connection.CloseOk())
            self._finish()
        elif isinstance(method, spec.Connection.UpdateSecret):
            self._send(0, spec.Connection.UpdateSecretOk())
        elif isinstance(method, spec.Connection.CloseOk):
            self._finish()
        else:
            raise ProtocolError(503, "COMMAND_INVALID - unexpected method on channel 0", *_ids(method))

    def _forget_channel(self, number: int) -> None:
        del self._channels[number]

    def _open_channel(self, number: int) -> None:
        if number > self.channel_max:
            raise ProtocolError(530, "NOT_ALLOWED - channel_max exceeded", 20, 10)
        core = self.connection.channel(number)
        channel = _Channel(number, core)
        self._channels[number] = channel
        core.add_on_close_callback(partial(self._on_core_channel_closed, number))
        core.add_on_return_callback(partial(self._on_return, number))
        core.add_on_confirm_callback(partial(self._on_confirm, number))
        core.add_on_cancel_callback(partial(self._on_cancel, number))
        self._send(number, spec.Channel.OpenOk())

    def _on_header(self, value: frame.Header) -> None:
        channel = self._channels.get(value.channel_number)
        if channel is None or channel.closing:
            return
        if channel.publish is None or channel.props is not None:
            raise ProtocolError(505, "UNEXPECTED_FRAME - expected method frame, got non method frame "
                                "instead", 0, 0)
        channel.props, channel.size = value.properties, value.body_size
        if value.body_size == 0:
            self._complete_publish(channel)

    def _on_body(self, value: frame.Body) -> None:
        channel = self._channels.get(value.channel_number)
        if channel is None or channel.closing:
            return
        if channel.props is None:
            raise ProtocolError(505, "UNEXPECTED_FRAME - expected method frame, got non method frame "
                                "instead", 0, 0)
        channel.chunks.append(value.fragment)
        channel.got += len(value.fragment)
        if channel.got >= channel.size:
            self._complete_publish(channel)

    def _complete_publish(self, channel: _Channel) -> None:
        method, props, body = channel.publish, channel.props, b"".join(channel.chunks)
        channel.publish, channel.props, channel.size, channel.chunks, channel.got = None, None, 0, [], 0
        self._do_publish(channel, method, props, body)  # type: ignore[arg-type]

    def _do_publish(self, channel: _Channel, method: spec.Basic.Publish,
                    properties: Any, body: bytes) -> None:
        if method.immediate:
            # Mirrors RabbitMQ 3.10: it does not implement the immediate flag, and says so on the connection.
            self._close_connection(540, "NOT_IMPLEMENTED - immediate=true", 60, 40)
            return
        self._busy = True
        try:
            channel.core.basic_publish(method.exchange, method.routing_key, body,
                                       to_core_properties(properties), method.mandatory)
        except errors.AMQPError as exc:
            self._amqp_error(channel, exc, method)
        finally:
            self._busy = False

    # ------------------------------------------------------------------ asynchronous events

    def _on_deliver(self, number: int, _core: Any, deliver: Any, properties: Any, body: bytes) -> None:
        if number not in self._channels or self._state != _OPEN:
            return
        self._send_content(number, spec.Basic.Deliver(
            deliver.consumer_tag, deliver.delivery_tag, deliver.redelivered,
            deliver.exchange, deliver.routing_key), properties, body)

    def _on_return(self, number: int, _core: Any, returned: Any) -> None:
        if number not in self._channels or self._state != _OPEN:
            return
        self._send_content(number, spec.Basic.Return(
            returned.reply_code, returned.reply_text, returned.exchange, returned.routing_key),
            returned.properties, returned.body)

    def _on_confirm(self, number: int, _core: Any, ack: bool, delivery_tag: int, multiple: bool) -> None:
        if number not in self._channels or self._state != _OPEN:
            return
        if ack:
            self._send(number, spec.Basic.Ack(delivery_tag, multiple))
        else:
            self._send(number, spec.Basic.Nack(delivery_tag, multiple, False))

    def _on_cancel(self, number: int, _core: Any, consumer_tag: str) -> None:
        if number not in self._channels or self._state != _OPEN:
            return
        self._channels[number].consumers.pop(consumer_tag, None)
        # Mirrors RabbitMQ: a server-sent basic.cancel has nowait set.
        self._send(number, spec.Basic.Cancel(consumer_tag, True))


def _is_hard(exc: errors.AMQPError) -> bool:
    """True if the core error closes the connection rather than the channel (the error's `hard`)."""
    return bool(exc.hard)


def _login_ok(broker: Any, username: str, password: str) -> bool:
    """Check PLAIN credentials against the broker's users."""
    return bool(broker.users.get(username) == password)
