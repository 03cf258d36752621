"""The `memq_server` fixture: a served broker on a free port for one test."""

from __future__ import annotations

import pika


def test_memq_server_serves_pika_over_a_socket(memq_server) -> None:  # type: ignore[no-untyped-def]
    """pika connects to the fixture's URL, and the server's broker sees the queue."""
    connection = pika.BlockingConnection(pika.URLParameters(memq_server.url))
    channel = connection.channel()
    channel.queue_declare("orders")
    channel.confirm_delivery()
    channel.basic_publish("", "orders", b"{}")
    connection.close()
    rows = memq_server.call(memq_server.broker.list_queues)
    assert [(q.name, q.messages_ready) for q in rows] == [("orders", 1)]


def test_memq_server_advance_jumps_its_clock(memq_server) -> None:  # type: ignore[no-untyped-def]
    """advance() moves the server's clock: a one-hour TTL is over at once."""
    # heartbeat=0: an hour without frames would otherwise get this client dropped, as RabbitMQ drops it
    connection = pika.BlockingConnection(pika.URLParameters(memq_server.url + "?heartbeat=0"))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.queue_declare("flash", arguments={"x-message-ttl": 3_600_000})
    channel.basic_publish("", "flash", b"soon gone")
    memq_server.advance(3601)
    assert channel.queue_declare("flash", passive=True).method.message_count == 0
    connection.close()
