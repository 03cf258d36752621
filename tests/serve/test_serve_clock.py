"""The served broker's clock: it follows wall time, and reads it whenever a client's bytes arrive."""

from __future__ import annotations

import asyncio

from memq._server import PROTOCOL_HEADER, AMQPServer, _Client


class _Transport:
    """Just enough of an asyncio transport for `_Client` (output is dropped)."""

    def write(self, data: bytes) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def test_clock_reads_wall_time_when_bytes_arrive() -> None:
    """Bytes arriving between two ticks see the current time, so a TTL counts from the publish, not the tick."""

    async def scenario() -> tuple[float, float]:
        server = AMQPServer(port=0)
        await server.start()
        try:
            await asyncio.sleep(0.02)  # less than a tick: the ticker has not moved the clock since start()
            loop = asyncio.get_running_loop()
            elapsed = loop.time() - server._started_at
            client = _Client(server)
            client.connection_made(_Transport())  # type: ignore[arg-type]
            client.data_received(PROTOCOL_HEADER)
            return server.broker.clock.now() - server._origin, elapsed
        finally:
            await server.stop()

    seen, elapsed = asyncio.run(scenario())
    assert seen >= elapsed >= 0.02
