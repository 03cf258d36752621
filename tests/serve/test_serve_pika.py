"""Unmodified pika over a real socket to `memq serve`."""

from __future__ import annotations

import socket
import uuid

import pika
import pytest


def _connect(served):  # type: ignore[no-untyped-def]
    return pika.BlockingConnection(pika.URLParameters(served.url))


def test_blocking_connection_publishes_and_gets_over_a_socket(served) -> None:  # type: ignore[no-untyped-def]
    """A BlockingConnection declares, publishes with confirms and gets back the message."""
    connection = _connect(served)
    channel = connection.channel()
    channel.confirm_delivery()
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.basic_publish("", queue, b"over the wire", pika.BasicProperties(correlation_id="c1"))
    method, properties, body = channel.basic_get(queue, auto_ack=True)
    assert (body, properties.correlation_id, method.message_count) == (b"over the wire", "c1", 0)
    connection.close()


def test_errors_come_back_with_rabbitmq_codes_and_texts(served) -> None:  # type: ignore[no-untyped-def]
    """A passive declare of a missing queue closes the channel with 404 and RabbitMQ's text."""
    connection = _connect(served)
    channel = connection.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as raised:
        channel.queue_declare("missing-queue", passive=True)
    assert (raised.value.reply_code, raised.value.reply_text) == (404, "NOT_FOUND - no queue 'missing-queue' in vhost '/'")
    assert connection.channel().is_open
    connection.close()


def test_wrong_password_is_refused_as_rabbitmq_refuses(served) -> None:  # type: ignore[no-untyped-def]
    """Bad credentials raise ProbableAuthenticationError with RabbitMQ's 403 text."""
    params = pika.ConnectionParameters(served.host, served.port, credentials=pika.PlainCredentials("guest", "nope"))
    with pytest.raises(pika.exceptions.ProbableAuthenticationError) as raised:
        pika.BlockingConnection(params)
    assert "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN" in str(raised.value)


def test_consumer_on_another_connection_gets_deliveries(served) -> None:  # type: ignore[no-untyped-def]
    """A consumer connection receives what a producer connection publishes."""
    consumer = _connect(served)
    queue = f"serve-{uuid.uuid4().hex[:8]}"
    channel = consumer.channel()
    channel.queue_declare(queue, auto_delete=True)
    producer = _connect(served)
    for i in range(3):
        producer.channel().basic_publish("", queue, f"m{i}".encode())
    got = []
    for method, properties, body in channel.consume(queue, inactivity_timeout=2):
        if method is None:
            break
        got.append(body)
        channel.basic_ack(method.delivery_tag)
        if len(got) == 3:
            break
    assert got == [b"m0", b"m1", b"m2"]
    channel.cancel()
    consumer.close()
    producer.close()


def test_control_port_jumps_the_clock_past_a_ttl(served) -> None:  # type: ignore[no-untyped-def]
    """`advance 3601` on the control port expires a message with a one-hour TTL at once."""
    # Without heartbeats: a client that sent nothing for an hour would be dropped, as RabbitMQ drops it.
    connection = pika.BlockingConnection(pika.URLParameters(served.url + "?heartbeat=0"))
    channel = connection.channel()
    channel.confirm_delivery()
    queue = channel.queue_declare("", exclusive=True, arguments={"x-message-ttl": 3_600_000}).method.queue
    channel.basic_publish("", queue, b"stale soon")
    assert channel.queue_declare(queue, passive=True).method.message_count == 1
    served.control("advance 3601")
    assert channel.queue_declare(queue, passive=True).method.message_count == 0
    connection.close()


def test_control_port_checks_the_brokers_invariants(served) -> None:  # type: ignore[no-untyped-def]
    """`check` on the control port runs `Broker.check_invariants()` and counts the open connections, also after a close."""
    connection = _connect(served)
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.basic_publish("", queue, b"kept")
    channel.basic_get(queue)  # one unacked delivery on an open channel
    assert served.control("check").endswith(" connections")
    connection.close()
    assert served.control("check").endswith(" connections")


def test_select_connection_runs_its_ioloop_against_the_server(served) -> None:  # type: ignore[no-untyped-def]
    """A SelectConnection opens a channel, declares a queue and closes, driven by its own ioloop."""
    seen = []

    def on_open(connection):  # type: ignore[no-untyped-def]
        connection.channel(on_open_callback=lambda ch: ch.queue_declare(
            "", exclusive=True, callback=lambda frame: (seen.append(frame.method.queue), connection.close())))

    connection = pika.SelectConnection(pika.URLParameters(served.url), on_open_callback=on_open,
                                       on_close_callback=lambda c, reason: c.ioloop.stop())
    connection.ioloop.call_later(10, connection.ioloop.stop)
    connection.ioloop.start()
    assert seen and seen[0].startswith("amq.gen-")


def test_wrong_protocol_header_gets_rabbitmqs_answer(served) -> None:  # type: ignore[no-untyped-def]
    """A client speaking another protocol gets AMQP's protocol header back, then the socket closes."""
    with socket.create_connection((served.host, served.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        answer = b""
        while chunk := sock.recv(64):
            answer += chunk
    assert answer == b"AMQP\x00\x00\x09\x01"


def test_garbage_after_handshake_ends_only_that_connection(served) -> None:  # type: ignore[no-untyped-def]
    """A malformed frame closes its own connection; another connection goes on working."""
    healthy = _connect(served)
    channel = healthy.channel()
    with socket.create_connection((served.host, served.port), timeout=5) as sock:
        sock.sendall(b"AMQP\x00\x00\x09\x01")
        sock.recv(4096)  # Connection.Start
        sock.sendall(b"\x01\x00\x00\xff\xff\xff\xff" + b"x" * 64)  # a method frame of absurd size
        sock.settimeout(5)
        try:
            while sock.recv(4096):
                pass
        except (ConnectionResetError, socket.timeout):
            pass
    assert channel.queue_declare("", exclusive=True).method.queue.startswith("amq.gen-")
    healthy.close()


def test_many_connections_each_keep_their_own_messages(served) -> None:  # type: ignore[no-untyped-def]
    """Thirty connections publish to their own queues; each gets back exactly its messages."""
    connections = [_connect(served) for _ in range(30)]
    channels = [c.channel() for c in connections]
    queues = []
    for index, channel in enumerate(channels):
        channel.confirm_delivery()
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.basic_publish("", queue, str(index).encode())
        queues.append(queue)
    for index, (channel, queue) in enumerate(zip(channels, queues)):
        assert channel.basic_get(queue, auto_ack=True)[2] == str(index).encode()
    for connection in connections:
        connection.close()
