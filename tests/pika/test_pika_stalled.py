"""A wait that could never end raises memq.errors.Stalled instead of hanging; run_until_idle stops there."""

from __future__ import annotations

import pika
import pytest

import memq
import memq.pika


def test_start_consuming_on_empty_queue_stalls(broker, channel):
    """start_consuming with nothing to deliver and no timer raises Stalled naming the consumer's queue."""
    channel.queue_declare("jobs")
    channel.basic_consume("jobs", lambda *args: None)
    with pytest.raises(memq.errors.Stalled) as caught:
        channel.start_consuming()
    message = str(caught.value)
    assert "'jobs'" in message and "consumer" in message


def test_connection_is_usable_after_stalled(broker, connection, channel):
    """Stalled leaves pika in a usable state: consume, stall, publish, consume again."""
    channel.queue_declare("jobs")
    got = []
    channel.basic_consume("jobs", lambda ch, m, p, b: got.append(b), auto_ack=True)
    with pytest.raises(memq.errors.Stalled):
        channel.start_consuming()
    channel.basic_publish("", "jobs", b"late")
    memq.pika.run_until_idle(connection)
    assert got == [b"late"]


def test_process_data_events_forever_stalls(broker, connection):
    """process_data_events(time_limit=None) with nothing that could ever happen raises Stalled."""
    with pytest.raises(memq.errors.Stalled):
        connection.process_data_events(time_limit=None)


def test_pending_timer_is_waited_for_not_stalled(broker, connection, channel):
    """A pending broker timer (message TTL) is something to wait for: time jumps, no Stalled."""
    channel.queue_declare("q", arguments={"x-message-ttl": 1000, "x-dead-letter-exchange": "",
                                          "x-dead-letter-routing-key": "dlq"})
    channel.queue_declare("dlq")
    channel.basic_publish("", "q", b"m")
    got = []
    channel.basic_consume("dlq", lambda ch, m, p, b: (got.append(b), ch.stop_consuming()), auto_ack=True)
    channel.start_consuming()
    assert got == [b"m"]


def test_run_until_idle_does_not_move_time(broker, connection, channel):
    """run_until_idle delivers what can be delivered now and leaves the clock alone."""
    channel.queue_declare("q")
    for n in range(3):
        channel.basic_publish("", "q", str(n))
    got = []
    channel.basic_consume("q", lambda ch, m, p, b: (got.append(b), ch.basic_ack(m.delivery_tag)))
    connection.call_later(10, lambda: got.append("timer"))
    start = broker.clock.now()
    memq.pika.run_until_idle(connection)
    assert got == [b"0", b"1", b"2"] and broker.clock.now() == start


def test_run_until_idle_follows_messages_between_connections(broker):
    """Messages bounce between two connections' consumers until no one has anything left."""
    ping = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    pong = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    a, b = ping.channel(), pong.channel()
    a.queue_declare("a")
    b.queue_declare("b")
    seen = []

    def bounce(target):
        def callback(ch, method, properties, body):
            seen.append(body)
            if int(body) < 5:
                ch.basic_publish("", target, str(int(body) + 1))
        return callback

    a.basic_consume("a", bounce("b"), auto_ack=True)
    b.basic_consume("b", bounce("a"), auto_ack=True)
    a.basic_publish("", "a", "0")
    memq.pika.run_until_idle(ping, pong)
    assert seen == [b"0", b"1", b"2", b"3", b"4", b"5"]


def test_stalled_names_an_unpumped_server(broker):
    """An RPC client waiting on a server that nobody runs stalls, and the message says why."""
    server = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    server_channel = server.channel()
    server_channel.queue_declare("rpc")
    server_channel.basic_consume("rpc", lambda *args: None)
    client = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    channel = client.channel()
    channel.basic_consume("amq.rabbitmq.reply-to", lambda *args: None, auto_ack=True)
    channel.basic_publish("", "rpc", b"?", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
    with pytest.raises(memq.errors.Stalled, match="memq.pika.background"):
        client.process_data_events(time_limit=None)
