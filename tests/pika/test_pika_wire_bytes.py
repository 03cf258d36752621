"""The same pika programs run when frames go through the AMQP codec as bytes (the socket path)."""

from __future__ import annotations

import pika
import pytest
from pika import exceptions

import memq
import memq.pika


@pytest.fixture
def bytes_broker():
    """A broker reached through the bytes path of the session."""
    with memq.pika.patched(memq.Broker(seed=0), wire="bytes") as broker:
        yield broker


def test_round_trip_over_bytes(bytes_broker):
    """Declare, publish (large body), consume and ack over the byte stream."""
    connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    channel = connection.channel()
    channel.queue_declare("q")
    body = b"y" * 200_000
    channel.basic_publish("", "q", body, pika.BasicProperties(headers={"n": 1}))
    got = []
    channel.basic_consume("q", lambda ch, m, p, b: (got.append((b, p.headers)), ch.basic_ack(m.delivery_tag)))
    memq.pika.run_until_idle(connection)
    assert got == [(body, {"n": 1})]
    connection.close()
    assert bytes_broker.connections == []


def test_errors_over_bytes(bytes_broker):
    """A 404 and a refused login look the same over bytes."""
    channel = pika.BlockingConnection(pika.ConnectionParameters("localhost")).channel()
    channel.basic_publish("missing", "rk", b"")
    with pytest.raises(exceptions.ChannelClosedByBroker):
        channel.queue_declare("", exclusive=True)
    with pytest.raises(exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(pika.ConnectionParameters(
            "localhost", credentials=pika.PlainCredentials("guest", "x")))


def test_unknown_wire_is_refused():
    """patched() accepts only the two wires."""
    with pytest.raises(memq.errors.InvalidArgument):
        with memq.pika.patched(wire="carrier-pigeon"):
            pass
