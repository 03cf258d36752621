"""`memq serve`: the simulated broker behind a real AMQP 0-9-1 socket.

Each TCP connection gets its own `ServerSession` (the same sans-IO session the pika adapter uses), all
over one `memq.Broker`, driven by an asyncio loop. In this mode the virtual clock follows the wall
clock: TTLs, queue expiry and heartbeats happen in real time. A control port lets a test jump the clock
forward (`advance 3600`), so a one-hour TTL still costs nothing.

Differs from RabbitMQ: one process, one vhost "/" by default, no management API; see docs/serve.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any, TextIO

from ._amqp_session import ServerSession
from ._broker import Broker

__all__ = ["AMQPServer", "ServerThread", "control", "main"]

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


def _check_frame_size(session: ServerSession) -> None:
    """Refuse a partial frame that announces more than frame_max bytes (rather than wait for it)."""
    pending = session._buffer  # the bytes of a frame not yet complete
    if len(pending) >= 7:
        size = int.from_bytes(pending[3:7], "big")
        if size + 8 > max(session.frame_max, 4096):
            raise ValueError(f"frame of {size} bytes announced, frame_max is {session.frame_max}")


def feed(session: ServerSession, data: bytes) -> str | None:
    """Give a client's bytes to its session; on a frame it cannot parse, drop the connection.

    Mirrors RabbitMQ: a malformed or oversized frame resets that socket; other connections are
    untouched. Returns what was wrong, or None.
    """
    try:
        session.receive_data(data)
        _check_frame_size(session)
    except Exception as error:  # noqa: BLE001 - whatever the bytes, only this connection ends
        session.connection_lost()
        return repr(error)
    return None


class _Client(asyncio.Protocol):
    """One client socket: bytes in to its session, the session's bytes out."""

    def __init__(self, server: "AMQPServer") -> None:
        self.server = server
        self.session = ServerSession(server.broker, heartbeat=server.heartbeat)
        self.transport: asyncio.Transport | None = None
        self._header = b""  # the first 8 bytes, until they are known to be AMQP 0-9-1's header

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.clients.append(self)

    def data_received(self, data: bytes) -> None:
        if self._header is not None:
            self._header += data
            if len(self._header) < len(PROTOCOL_HEADER) and PROTOCOL_HEADER.startswith(self._header):
                return
            data, self._header = self._header, None
            if not data.startswith(PROTOCOL_HEADER):
                # Mirrors RabbitMQ: answer any other header with the one it speaks, then close.
                if self.transport is not None:
                    self.transport.write(PROTOCOL_HEADER)
                    self.transport.close()
                return
        self.server.catch_up()
        problem = feed(self.session, data)
        if problem is not None:
            self.server.log(f"closing a connection after a malformed frame: {problem}")
            if self.transport is not None:
                self.transport.abort()
        self.server.pump()

    def flush(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        data = self.session.data_to_send()
        if data:
            transport.write(data)
            self.session.mark_sent(self.server.broker.clock.now())
        if self.session.closed:
            if self.session.lost:
                transport.abort()
            else:
                transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self in self.server.clients:
            self.server.clients.remove(self)
        self.session.connection_lost()
        self.server.pump()


class AMQPServer:
    """An AMQP 0-9-1 server on `host:port` for a `memq.Broker`, with the clock following wall time.

    Args:
        broker: the broker to serve (default: a fresh one, seeded with `seed`).
        host, port: where to listen (port 0 picks a free port; see `port` after `start()`).
        control_port: where to listen for control commands (None: no control port; 0: a free port).
        heartbeat: the heartbeat proposed in Connection.Tune.
    """

    def __init__(self, broker: Broker | None = None, *, host: str = "127.0.0.1", port: int = 5673,
                 control_port: int | None = None, heartbeat: int = 60, seed: int = 0,
                 log: TextIO | None = None) -> None:
        self.broker = broker if broker is not None else Broker(seed=seed)
        self.host = host
        self.port = port
        self.control_port = control_port
        self.heartbeat = heartbeat
        self.clients: list[_Client] = []
        self._log = log
        self._servers: list[asyncio.AbstractServer] = []
        self._ticker: asyncio.Task | None = None
        self._origin = self.broker.clock.now()
        self._started_at = 0.0
        self._jumped = 0.0

    @property
    def url(self) -> str:
        """The `amqp://` URL clients connect to."""
        return f"amqp://guest:guest@{self.host}:{self.port}/%2F"

    def log(self, line: str) -> None:
        if self._log is not None:
            self._log.write(line + "\n")
            self._log.flush()

    async def start(self) -> None:
        """Listen on the AMQP port (and the control port), and start following the wall clock."""
        loop = asyncio.get_running_loop()
        self._started_at = loop.time()
        server = await loop.create_server(lambda: _Client(self), self.host, self.port)
        self.port = server.sockets[0].getsockname()[1]
        self._servers.append(server)
        if self.control_port is not None:
            control_server = await asyncio.start_server(self._on_control, self.host, self.control_port)
            self.control_port = control_server.sockets[0].getsockname()[1]
            self._servers.append(control_server)
        self._ticker = loop.create_task(self._follow_wall_clock())

    async def stop(self) -> None:
        """Stop listening and close every client connection."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for client in list(self.clients):
            if client.transport is not None:
                client.transport.close()
        for server in self._servers:
            server.close()
            await server.wait_closed()

    def pump(self) -> None:
        """Deliver what can be delivered and write every session's output."""
        self.broker.run_until_idle()
        for client in list(self.clients):
            client.flush()

    def advance(self, seconds: float) -> float:
        """Jump the virtual clock forward by `seconds` (on top of wall time); returns the new time."""
        if seconds < 0:
            raise ValueError("time can't go backwards")
        self._jumped += seconds
        self._sync_clock()
        return self.broker.clock.now()

    def catch_up(self) -> None:
        """Move the virtual clock to wall time (plus the jumps), firing whatever fell due on the way.

        Mirrors RabbitMQ: a message's TTL counts from when it arrived, not from the last tick.
        """
        loop = asyncio.get_running_loop()
        target = self._origin + (loop.time() - self._started_at) + self._jumped
        clock = self.broker.clock
        if target > clock.now():
            clock.advance_to(target)

    def _sync_clock(self) -> None:
        self.catch_up()
        now = self.broker.clock.now()
        for client in self.clients:
            client.session.heartbeat_due(now)
        self.pump()

    async def _follow_wall_clock(self) -> None:
        while True:
            self._sync_clock()
            delay = 0.05
            deadline = self.broker.clock.next_deadline()
            if deadline is not None:
                delay = min(delay, max(0.0, deadline - self.broker.clock.now()))
            await asyncio.sleep(delay)

    async def _on_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Control commands, one per line: `advance SECONDS`, `now`, `snapshot`, `check`."""
        try:
            while line := await reader.readline():
                writer.write((self._control(line.decode().split()) + "\n").encode())
                await writer.drain()
        finally:
            writer.close()

    def _control(self, words: list[str]) -> str:
        try:
            if words[:1] == ["advance"] and len(words) == 2:
                return f"ok {self.advance(float(words[1])):.6f}"
            if words == ["now"]:
                self._sync_clock()
                return f"ok {self.broker.clock.now():.6f}"
            if words == ["snapshot"]:
                return "ok " + self.broker.snapshot().replace("\n", "\\n")
            if words == ["check"]:
                self.broker.check_invariants()
                return f"ok {len(self.clients)} connections"
        except ValueError as error:
            return f"error {error}"
        except AssertionError as error:
            return "error invariant broken: " + str(error).replace("\n", "\\n")
        return "error unknown command (advance SECONDS | now | snapshot | check)"


class ServerThread:
    """An `AMQPServer` on its own event-loop thread, for a test process that talks to it over sockets.

    The broker lives on that thread: use `advance()` and `call()` to reach it, not the broker directly.

    Example:
        with ServerThread() as served:
            pika.BlockingConnection(pika.URLParameters(served.url))
    """

    def __init__(self, broker: Broker | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 heartbeat: int = 60, seed: int = 0) -> None:
        self.server = AMQPServer(broker, host=host, port=port, heartbeat=heartbeat, seed=seed)
        self._loop = asyncio.new_event_loop()
        self._thread: Any = None

    @property
    def url(self) -> str:
        """The `amqp://` URL to connect to."""
        return self.server.url

    @property
    def broker(self) -> Broker:
        return self.server.broker

    def start(self) -> "ServerThread":
        """Start listening; returns when the port is open."""
        import threading

        self._thread = threading.Thread(target=self._loop.run_forever, name="memq-serve", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(timeout=10)
        return self

    def call(self, function: Any, *args: Any) -> Any:
        """Run `function(*args)` on the server's thread and return its result."""
        async def run() -> Any:
            return function(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def advance(self, seconds: float) -> float:
        """Jump the server's clock forward; returns its new time."""
        return self.call(self.server.advance, seconds)

    def stop(self) -> None:
        """Close every connection and stop the thread."""
        if self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._thread = None

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def control(host: str, port: int, command: str, timeout: float = 5.0) -> str:
    """Send one control command to a running `memq serve` and return its answer.

    Example:
        control("127.0.0.1", 5674, "advance 3600")   # an hour passes on the server's clock
    """
    import socket

    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(command.encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    text = answer.decode().strip()
    if not text.startswith("ok"):
        raise RuntimeError(f"memq control: {text}")
    return text[3:]


def _parse(argv: list[str]) -> Any:
    import argparse

    parser = argparse.ArgumentParser(prog="memq serve", description="Serve a simulated RabbitMQ over AMQP 0-9-1.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5673, help="AMQP port (0: a free one)")
    parser.add_argument("--control-port", type=int, default=None, help="control port (0: a free one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--heartbeat", type=int, default=60)
    parser.add_argument("--trace", default=None, help="write the trace here (JSON lines) on exit")
    return parser.parse_args(argv)


async def _serve(args: Any, out: TextIO) -> None:
    server = AMQPServer(host=args.host, port=args.port, control_port=args.control_port,
                        heartbeat=args.heartbeat, seed=args.seed, log=sys.stderr)
    await server.start()
    control_text = f" control {server.host}:{server.control_port}" if server.control_port is not None else ""
    out.write(f"memq serving {server.url}{control_text}\n")
    out.flush()
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
        if args.trace:
            with open(args.trace, "w", encoding="utf-8") as handle:
                handle.write(server.broker.trace.dumps())


def main(argv: list[str], out: TextIO = sys.stdout) -> int:
    """`memq serve [--host H] [--port P] [--control-port C] [--seed N] [--trace FILE]`."""
    args = _parse(argv)
    import signal

    loop = asyncio.new_event_loop()
    task = loop.create_task(_serve(args, out))
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError:
        pass
    finally:
        loop.close()
    return 0
