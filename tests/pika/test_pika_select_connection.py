"""pika's asynchronous SelectConnection runs on memq: callbacks, ioloop.start/stop, call_later."""

from __future__ import annotations

import pika
import pytest

import memq
import memq.pika


def test_select_connection_publishes_and_consumes(broker):
    """The callback style of pika's asynchronous examples works end to end."""
    events = []

    def on_open(connection):
        connection.channel(on_open_callback=on_channel_open)

    def on_channel_open(channel):
        channel.queue_declare("async", callback=lambda frame: on_declared(channel))

    def on_declared(channel):
        channel.basic_consume("async", on_message, auto_ack=False)
        channel.basic_publish("", "async", b"hi")

    def on_message(channel, method, properties, body):
        events.append((body, broker.clock.now()))
        channel.basic_ack(method.delivery_tag)
        channel.connection.ioloop.call_later(60, channel.connection.close)

    def on_closed(connection, reason):
        events.append(type(reason).__name__)
        connection.ioloop.stop()

    start = broker.clock.now()
    connection = pika.SelectConnection(pika.ConnectionParameters("localhost"),
                                       on_open_callback=on_open, on_close_callback=on_closed)
    connection.ioloop.start()
    assert events == [(b"hi", start), "ConnectionClosedByClient"]
    assert broker.clock.now() == pytest.approx(start + 60)


def test_select_connection_open_error_callback(broker):
    """A refused login reaches on_open_error_callback as ProbableAuthenticationError."""
    errors = []

    def on_error(connection, error):
        errors.append(error)
        connection.ioloop.stop()

    connection = pika.SelectConnection(
        pika.ConnectionParameters("localhost", credentials=pika.PlainCredentials("guest", "no")),
        on_open_error_callback=on_error)
    connection.ioloop.start()
    assert isinstance(errors[0], pika.exceptions.ProbableAuthenticationError)


def test_idle_select_loop_stalls(broker):
    """An ioloop with nothing left to do raises Stalled rather than spinning forever."""
    connection = pika.SelectConnection(pika.ConnectionParameters("localhost"))
    with pytest.raises(memq.errors.Stalled):
        connection.ioloop.start()
    assert connection.is_open


def test_run_until_idle_accepts_select_connection(broker):
    """run_until_idle steps a SelectConnection's loop without moving time."""
    opened = []
    connection = pika.SelectConnection(pika.ConnectionParameters("localhost"),
                                       on_open_callback=opened.append)
    memq.pika.run_until_idle(connection)
    assert opened == [connection]


def test_select_connection_can_serve_in_background(broker):
    """A SelectConnection consumer marked background answers a BlockingConnection's request."""

    def on_open(connection):
        connection.channel(on_open_callback=on_channel)

    def on_channel(channel):
        channel.queue_declare("echo", callback=lambda frame: channel.basic_consume("echo", on_request))

    def on_request(channel, method, properties, body):
        channel.basic_publish("", properties.reply_to, body.upper())
        channel.basic_ack(method.delivery_tag)

    server = pika.SelectConnection(pika.ConnectionParameters("localhost"), on_open_callback=on_open)
    memq.pika.background(server)
    memq.pika.run_until_idle(server)
    client = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    channel = client.channel()
    replies = []
    channel.basic_consume("amq.rabbitmq.reply-to", lambda ch, m, p, b: replies.append(b), auto_ack=True)
    channel.basic_publish("", "echo", b"hello", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
    while not replies:
        client.process_data_events(time_limit=None)
    assert replies == [b"HELLO"]
