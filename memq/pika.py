"""Run unchanged pika code against a memq broker, on virtual time.

Inside `memq.pika.patched(broker)`, every `pika.BlockingConnection` and `pika.SelectConnection`
made to localhost:5672 talks to `broker` through an in-memory AMQP session instead of a
socket. Only pika's I/O is replaced: its connection, channel and error machinery run as
they do against RabbitMQ, so callbacks, exceptions and their timing are pika's own.

Example:
    >>> import memq, memq.pika, pika
    >>> with memq.pika.patched() as broker:
    ...     connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    ...     channel = connection.channel()
    ...     _ = channel.queue_declare("hello")
    ...     channel.basic_publish("", "hello", b"Hello World!")
    ...     method, properties, body = channel.basic_get("hello", auto_ack=True)
    ...     connection.close()
    >>> body
    b'Hello World!'

Theory of operation: pika's `BlockingConnection` builds a `select_connection.IOLoop` and
wraps it in `select_connection.SelectorIOServicesAdapter`; both names are looked up at call
time, so `patched` swaps them for `VirtualIOLoop` and `MemqIOServices`, and points
`pika.compat.time_now` (pika's only clock) at the broker's virtual clock. A connection's
frames go straight to a `ServerSession` as objects; the session's replies wait in memory
and reach pika on the loop's next `poll()`, never inside a write, as with a real socket.
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import itertools
import socket
import uuid
from typing import Any, Callable, Iterable, Iterator, Optional

import pika
import pika.compat
import pika.connection
import pika.channel
import pika.exceptions
import pika.heartbeat
from pika import frame, spec
from pika.adapters import select_connection
from pika.adapters.utils import nbio_interface

import memq
from memq import errors
from memq._amqp_session import ServerSession

__all__ = ["patched", "run_until_idle", "background", "VirtualIOLoop", "MemqIOServices",
           "SUPPORTED_PIKA"]

SUPPORTED_PIKA = ">=1.3,<1.5"
DEFAULT_ADDRESSES: tuple[tuple[str, int], ...] = (
    ("localhost", 5672), ("127.0.0.1", 5672), ("::1", 5672))

_HUBS: list["_Hub"] = []
_ORIGINALS: dict[str, Any] = {}


class _Hub:
    """What one `patched()` block shares: the broker, its addresses and the live loops."""

    def __init__(self, broker: Any, addresses: Iterable[tuple[str, int]], heartbeat: int,
                 wire: str, drop_idle_clients: bool = True) -> None:
        self.broker = broker
        self.clock = broker.clock
        self.addresses = {(host.lower(), int(port)) for host, port in addresses}
        self.heartbeat = heartbeat
        self.drop_idle_clients = drop_idle_clients
        self.wire = wire
        self.loops: list[VirtualIOLoop] = []
        self.background: list[Any] = []
        self.polling: list[VirtualIOLoop] = []

    def pump_background(self) -> bool:
        """Let background connections process what is waiting for them; True if any did."""
        progressed = False
        for connection in list(self.background):
            loop = _loop_of(connection)
            if loop is None or loop in self.polling or connection.is_closed:
                if connection.is_closed:
                    self.background.remove(connection)
                continue
            if loop.has_work() or _has_pending_dispatch(connection):
                _step(loop, connection)
                progressed = True
        return progressed


def _active_hub() -> _Hub:
    if not _HUBS:
        raise errors.InvalidArgument("memq.pika: this pika I/O loop needs memq.pika.patched()")
    return _HUBS[-1]


class _Timer:
    """A pika timer on the virtual clock; `housekeeping` timers (heartbeats) never count as work."""

    __slots__ = ("deadline", "callback", "cancelled", "housekeeping")

    def __init__(self, deadline: float, callback: Callable[[], None], housekeeping: bool) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False
        self.housekeeping = housekeeping

    def cancel(self) -> None:
        """Cancel the timer (idempotent)."""
        self.cancelled = True


class VirtualIOLoop:
    """A pika IOLoop whose I/O is memq sessions and whose time is the broker's virtual clock."""

    def __init__(self) -> None:
        self._hub = _active_hub()
        self._clock = self._hub.clock
        self._timers: list[tuple[float, int, _Timer]] = []
        self._housekeeping: list[tuple[float, int, _Timer]] = []
        self._seq = itertools.count()
        self._callbacks: collections.deque[Callable[[], None]] = collections.deque()
        self._streams: list[_Stream] = []
        self._stopping = False
        self._hub.loops.append(self)

    # -- pika's IOLoop API
    def activate_poller(self) -> None:
        """Nothing to activate: there is no selector."""

    def deactivate_poller(self) -> None:
        """Nothing to deactivate: there is no selector."""

    def close(self) -> None:
        """Forget this loop."""
        if self in self._hub.loops:
            self._hub.loops.remove(self)

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Timer:
        """Schedule `callback` after `delay` virtual seconds; returns a handle for remove_timeout."""
        housekeeping = isinstance(getattr(callback, "__self__", None), pika.heartbeat.HeartbeatChecker)
        timer = _Timer(self._clock.now() + max(delay, 0), callback, housekeeping)
        heap = self._housekeeping if housekeeping else self._timers
        heapq.heappush(heap, (timer.deadline, next(self._seq), timer))
        return timer

    def remove_timeout(self, timeout_handle: _Timer) -> None:
        """Cancel a timer made by call_later."""
        timeout_handle.cancelled = True

    def add_callback_threadsafe(self, callback: Callable[[], None]) -> None:
        """Run `callback` on the next `process_timeouts`."""
        if not callable(callback):
            raise TypeError("callback must be a callable, but got {!r}".format(callback))
        self._callbacks.append(callback)

    add_callback = add_callback_threadsafe

    def process_timeouts(self) -> None:
        """Run pending callbacks, then every timer due at the current virtual time."""
        for _ in range(len(self._callbacks)):
            self._callbacks.popleft()()
        now = self._clock.now()
        due: list[tuple[float, int, _Timer]] = []
        for heap in (self._timers, self._housekeeping):
            while heap and heap[0][0] <= now:
                entry = heapq.heappop(heap)
                if not entry[2].cancelled:
                    due.append(entry)
        if len(due) > 1:
            due.sort()
        for _, _, timer in due:
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback()

    def poll(self) -> None:
        """Deliver waiting frames; else let the broker work; else move virtual time on.

        Raises:
            memq.errors.Stalled: nothing can be delivered and no timer is left to wait for.
        """
        hub = self._hub
        hub.polling.append(self)
        try:
            if self._deliver() or self._timer_due():
                return
            hub.broker.run_until_idle()
            if self._deliver() or hub.pump_background():
                return
            self._advance()
        finally:
            hub.polling.pop()

    def start(self) -> None:
        """Run until `stop()` is called (SelectConnection's `ioloop.start()`)."""
        self._stopping = False
        while not self._stopping:
            self.poll()
            self.process_timeouts()
        self._stopping = False

    def stop(self) -> None:
        """Make `start()` return after the current iteration."""
        self._stopping = True

    # -- memq internals
    def has_work(self) -> bool:
        """True if frames, callbacks or due timers wait for this loop."""
        return (any(stream.session.has_output or stream.eof_pending for stream in self._streams)
                or bool(self._callbacks) or self._timer_due())

    def _timer_due(self) -> bool:
        if self._callbacks:
            return True
        now = self._clock.now()
        for heap in (self._timers, self._housekeeping):
            while heap and heap[0][2].cancelled:
                heapq.heappop(heap)
            if heap and heap[0][0] <= now:
                return True
        return False

    def _deliver(self) -> bool:
        delivered = False
        now = self._clock.now()
        for stream in list(self._streams):
            delivered = stream.flush(now) or delivered
        return delivered

    def _next_deadline(self, heap: list[tuple[float, int, _Timer]]) -> Optional[float]:
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def _advance(self) -> None:
        hub = self._hub
        meaningful = [self._next_deadline(self._timers), hub.clock.next_deadline()]
        for connection in hub.background:
            loop = _loop_of(connection)
            if loop is not None and loop is not self and loop not in hub.polling:
                meaningful.append(loop._next_deadline(loop._timers))
        live = [deadline for deadline in meaningful if deadline is not None]
        if not live:
            raise errors.Stalled(_describe_stall(hub, self))
        chores = [self._next_deadline(self._housekeeping)]
        chores += [stream.session.heartbeat_deadline() for stream in self._streams]
        chores += [stream.session.idle_deadline() for loop in hub.loops for stream in loop._streams]
        target = min(live + [deadline for deadline in chores if deadline is not None])
        self._clock.advance_to(max(target, self._clock.now()))


class _Stream(nbio_interface.AbstractStreamTransport):
    """The in-memory link between one pika connection and its `ServerSession`."""

    def __init__(self, loop: VirtualIOLoop, protocol: Any, session: ServerSession) -> None:
        self.loop = loop
        self.protocol = protocol
        self.session = session
        self.aborted = False
        self.eof_pending = False
        self.connection = _fast_connection(protocol) if loop._hub.wire == "frames" else None
        if self.connection is not None:
            _install_fast_path(self.connection, session)

    def abort(self) -> None:
        """Close the link; pika hears `connection_lost` on the loop's next turn."""
        if self.aborted:
            return
        self.aborted = True
        self.session.connection_lost()
        if self in self.loop._streams:
            self.loop._streams.remove(self)
        self.loop.add_callback_threadsafe(lambda: self.protocol.connection_lost(None))

    def get_protocol(self) -> Any:
        """Return the pika protocol on this link."""
        return self.protocol

    def write(self, data: bytes) -> None:
        """Hand client bytes to the session (the bytes path)."""
        if not self.aborted:
            self.session.receive_data(data)

    def get_write_buffer_size(self) -> int:
        """Writes are consumed at once, so nothing is ever buffered."""
        return 0

    def flush(self, now: float) -> bool:
        """Deliver the session's queued frames to pika; True if anything was delivered."""
        if self.aborted:
            return False
        session = self.session
        session.heartbeat_due(now)
        delivered = False
        if session.has_output:
            session.mark_sent(now)
            delivered = True
            connection = self.connection
            if connection is not None:
                frames = session.frames_to_send()
                connection.bytes_received += len(frames)
                for value in frames:
                    if self.aborted:
                        break
                    connection._process_frame(value)
            else:
                self.protocol.data_received(session.data_to_send())
        if session.closed and not self.aborted and not session.has_output:
            # The broker closed the socket (after Connection.Close/CloseOk or a dropped link).
            self.aborted = True
            if self in self.loop._streams:
                self.loop._streams.remove(self)
            if session.lost:
                self.protocol.connection_lost(ConnectionResetError(104, "Connection reset by peer"))
            else:
                self.protocol.eof_received()
                self.protocol.connection_lost(None)
            delivered = True
        return delivered


def _fast_connection(protocol: Any) -> Optional[pika.connection.Connection]:
    """Return the pika Connection behind a protocol shim, if it can take frame objects."""
    connection = getattr(protocol, "conn", None)
    if isinstance(connection, pika.connection.Connection):
        return connection
    return None


def _install_fast_path(connection: pika.connection.Connection, session: ServerSession) -> None:
    """Make this one pika connection hand frame objects to the session instead of bytes.

    Frames are still encoded once (and the result dropped) so that values pika cannot
    marshal raise exactly where they would against RabbitMQ.
    """
    receive_frame, publish = session.receive_frame, session.publish

    def _send_frame(frame_value: Any) -> None:
        if connection.is_closed:
            raise pika.exceptions.ConnectionWrongStateError(
                "Attempted to send a frame on closed connection.")
        if frame_value.frame_type == spec.FRAME_METHOD:
            _check_encodable(frame_value.method)
        connection.frames_sent += 1
        receive_frame(frame_value)

    def _send_method(channel_number: int, method: Any, content: Any = None) -> None:
        if not content:
            _send_frame(frame.Method(channel_number, method))
            return
        if connection.is_closed:
            raise pika.exceptions.ConnectionWrongStateError(
                "Attempted to send a frame on closed connection.")
        properties, body = content
        len(body)  # pika raises TypeError here for a body without a length
        _check_encodable(method)
        if properties.__dict__ != _EMPTY_PROPERTIES:
            properties.encode()
        connection.frames_sent += 3
        publish(channel_number, method, properties, bytes(body))

    connection._send_frame = _send_frame  # type: ignore[method-assign]
    connection._send_method = _send_method  # type: ignore[method-assign]


_EMPTY_PROPERTIES = spec.BasicProperties().__dict__
_SETTLE = (spec.Basic.Ack, spec.Basic.Nack, spec.Basic.Reject)
_NAMED = {spec.Basic.Publish: ("exchange", "routing_key"), spec.Basic.Get: ("queue",)}


def _check_encodable(method: Any) -> None:
    """Raise what pika's marshalling would raise for this method; cheap checks on hot methods."""
    kind = type(method)
    if kind in _SETTLE:
        tag = method.delivery_tag
        if type(tag) is int and 0 <= tag < 1 << 64:
            return
    elif kind in _NAMED:
        # Short strings of at most 63 characters are at most 252 bytes in UTF-8.
        if all(type(value) is str and len(value) < 64
               for value in (getattr(method, name) for name in _NAMED[kind])):
            return
    elif method.INDEX >> 16 == 10:
        return  # Connection methods are built by pika itself
    method.encode()


class MemqIOServices(nbio_interface.AbstractIOServices):
    """pika's I/O services on a `VirtualIOLoop`: name lookup, connect and streams go to memq."""

    def __init__(self, native_loop: VirtualIOLoop) -> None:
        if not isinstance(native_loop, VirtualIOLoop):
            raise errors.InvalidArgument(
                "memq.pika: a custom pika ioloop cannot reach a memq broker; let pika create it")
        self._loop = native_loop

    def get_native_ioloop(self) -> VirtualIOLoop:
        """Return the VirtualIOLoop."""
        return self._loop

    def close(self) -> None:
        """Close the loop."""
        self._loop.close()

    def run(self) -> None:
        """Run the loop until stop()."""
        self._loop.start()

    def stop(self) -> None:
        """Stop the loop."""
        self._loop.stop()

    def add_callback_threadsafe(self, callback: Callable[[], None]) -> None:
        """Run `callback` on the loop's next turn."""
        self._loop.add_callback_threadsafe(callback)

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Timer:
        """Schedule `callback` after `delay` virtual seconds."""
        return self._loop.call_later(delay, callback)

    def getaddrinfo(self, host: str, port: int, on_done: Callable[[Any], None], family: int = 0,
                    socktype: int = 0, proto: int = 0, flags: int = 0) -> _Task:
        """Resolve every host name to itself; whether anything listens is decided on connect."""
        record = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))
        return _Task(self._loop, on_done, [record])

    def connect_socket(self, sock: socket.socket, resolved_addr: Any,
                       on_done: Callable[[Optional[BaseException]], None]) -> _Task:
        """Succeed for the broker's addresses; refuse every other address like a closed port."""
        sock.close()
        host, port = resolved_addr[0], resolved_addr[1]
        if (str(host).lower(), int(port)) in self._loop._hub.addresses:
            return _Task(self._loop, on_done, None)
        return _Task(self._loop, on_done, ConnectionRefusedError(111, "Connection refused"))

    def create_streaming_connection(self, protocol_factory: Callable[[], Any], sock: socket.socket,
                                    on_done: Callable[[Any], None], ssl_context: Any = None,
                                    server_hostname: Optional[str] = None) -> _Task:
        """Link a fresh `ServerSession` to the pika protocol (TLS is accepted and ignored)."""
        sock.close()
        loop = self._loop
        hub = loop._hub
        task = _Task(loop, None, None)

        def link() -> None:
            if task.cancelled:
                return
            protocol = protocol_factory()
            session = ServerSession(hub.broker, heartbeat=hub.heartbeat, drop_idle=hub.drop_idle_clients)
            stream = _Stream(loop, protocol, session)
            loop._streams.append(stream)
            protocol.connection_made(stream)
            on_done((stream, protocol))

        loop.add_callback_threadsafe(link)
        return task

    # Needed by AbstractFileDescriptorServices users only; memq has no descriptors.
    def set_reader(self, fd: int, on_readable: Callable[[], None]) -> None:
        """Unsupported: memq has no file descriptors."""
        raise errors.Unsupported("memq.pika has no file descriptors")

    remove_reader = set_writer = remove_writer = set_reader  # type: ignore[assignment]


class _Task(nbio_interface.AbstractIOReference):
    """An asynchronous result delivered on the loop's next turn; cancellable until then."""

    def __init__(self, loop: VirtualIOLoop, on_done: Optional[Callable[[Any], None]], result: Any):
        self.cancelled = False
        if on_done is not None:
            loop.add_callback_threadsafe(lambda: None if self.cancelled else on_done(result))

    def cancel(self) -> bool:
        """Cancel the pending result."""
        if self.cancelled:
            return False
        self.cancelled = True
        return True


def _loop_of(connection: Any) -> Optional[VirtualIOLoop]:
    """Return the VirtualIOLoop of a Blocking- or SelectConnection."""
    impl = getattr(connection, "_impl", connection)
    nbio = getattr(impl, "_nbio", None)
    loop = nbio.get_native_ioloop() if nbio is not None else None
    return loop if isinstance(loop, VirtualIOLoop) else None


def _describe_stall(hub: _Hub, loop: VirtualIOLoop) -> str:
    """Say what the waiting connection waits for, for the Stalled message."""
    lines = ["pika is waiting, but nothing can be delivered and no timer is left "
             "(virtual time {:.3f})".format(hub.clock.now())]
    for stream in loop._streams:
        lines.extend(stream.session.describe())
    for other in hub.loops:
        for stream in other._streams if other is not loop else ():
            if stream.session.has_output:
                name = getattr(stream.session.connection, "name", "another connection")
                lines.append("{} has frames it never read: if it stands for a server, run it with "
                             "memq.pika.background(connection)".format(name))
    describe = getattr(hub.broker, "describe", None)
    if callable(describe):
        lines.append(str(describe()))
    return "\n  ".join(lines)


@contextlib.contextmanager
def patched(broker: Any = None, *, addresses: Iterable[tuple[str, int]] = DEFAULT_ADDRESSES,
            heartbeat: int = 60, wire: str = "frames", drop_idle_clients: bool = True) -> Iterator[Any]:
    """Make pika's BlockingConnection and SelectConnection connect to `broker` on virtual time.

    Args:
        broker: the `memq.Broker` to serve (default: a fresh `memq.Broker()`).
        addresses: the (host, port) pairs the broker answers at; others refuse the connection.
        heartbeat: the heartbeat the broker proposes in Connection.Tune (RabbitMQ: 60).
        wire: "frames" hands pika frame objects to the broker; "bytes" goes through the AMQP codec.
        drop_idle_clients: as RabbitMQ does, drop a connection whose client sent nothing (no frame,
            not even a heartbeat, i.e. it was not pumped) for two heartbeat checks while virtual time
            moved; the client sees `StreamLostError` on its next call. False keeps such clients
            (so does `heartbeat=0`).

    Yields:
        The broker.
    """
    if wire not in ("frames", "bytes"):
        raise errors.InvalidArgument("wire must be 'frames' or 'bytes', not {!r}".format(wire))
    broker = memq.Broker() if broker is None else broker
    hub = _Hub(broker, addresses, heartbeat, wire, drop_idle_clients)
    if not _HUBS:
        _ORIGINALS.update(
            IOLoop=select_connection.IOLoop,
            SelectorIOServicesAdapter=select_connection.SelectorIOServicesAdapter,
            time_now=pika.compat.time_now)
        select_connection.IOLoop = VirtualIOLoop  # type: ignore[misc,assignment]
        select_connection.SelectorIOServicesAdapter = MemqIOServices  # type: ignore[misc,assignment]
    previous_time_now, previous_uuid = pika.compat.time_now, pika.channel.uuid
    pika.compat.time_now = hub.clock.now
    pika.channel.uuid = _SeededUUID(broker.rng)  # type: ignore[assignment]
    _HUBS.append(hub)
    try:
        yield broker
    finally:
        _HUBS.remove(hub)
        pika.compat.time_now = previous_time_now
        pika.channel.uuid = previous_uuid
        if not _HUBS:
            select_connection.IOLoop = _ORIGINALS["IOLoop"]
            select_connection.SelectorIOServicesAdapter = _ORIGINALS["SelectorIOServicesAdapter"]
            pika.compat.time_now = _ORIGINALS["time_now"]
            _ORIGINALS.clear()


class _SeededUUID:
    """Stands in for the `uuid` module inside `pika.channel`, so pika's consumer tags come from the seeded RNG."""

    def __init__(self, rng: Any) -> None:
        self._rng = rng

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=self._rng.getrandbits(128), version=4)


def background(connection: Any) -> Any:
    """Let `connection` process its events whenever another memq-backed connection waits.

    Use it for a consumer that would run in another process against RabbitMQ (an RPC
    server, a worker), so that a client's blocking call in the same test can be answered.
    Returns the connection.
    """
    loop = _loop_of(connection)
    if loop is None:
        raise errors.InvalidArgument("memq.pika.background() needs a connection made inside patched()")
    if connection not in loop._hub.background:
        loop._hub.background.append(connection)
    return connection


def run_until_idle(*connections: Any) -> None:
    """Process the connections' events until nothing more can happen without moving time.

    Consumer callbacks run (and may publish, ack or reply), deliveries flow between the
    given connections, and due timers fire; virtual time stays where it is.

    Example:
        channel.basic_consume("tasks", on_message_callback=handle)
        memq.pika.run_until_idle(connection)   # instead of channel.start_consuming()
    """
    loops = [(_loop_of(connection), connection) for connection in connections]
    if any(loop is None for loop, _ in loops):
        raise errors.InvalidArgument("memq.pika.run_until_idle() needs connections made inside patched()")
    hub = loops[0][0]._hub if loops else _active_hub()  # type: ignore[union-attr]
    while True:
        busy = False
        for loop, connection in loops:
            if connection.is_closed:
                continue
            if loop.has_work() or _has_pending_dispatch(connection):  # type: ignore[union-attr]
                _step(loop, connection)  # type: ignore[arg-type]
                busy = True
        if not busy and not hub.broker.run_until_idle() and not hub.pump_background():
            if not any(loop.has_work() for loop, c in loops if not c.is_closed):  # type: ignore[union-attr]
                return


def _has_pending_dispatch(connection: Any) -> bool:
    return bool(getattr(connection, "_channels_pending_dispatch", None)
                or getattr(connection, "_ready_events", None))


def _step(loop: VirtualIOLoop, connection: Any) -> None:
    if hasattr(connection, "process_data_events"):
        connection.process_data_events(0)
    else:
        loop._deliver()
        loop.process_timeouts()
