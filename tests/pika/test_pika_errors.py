"""Broker errors reach pika with RabbitMQ's codes, texts and timing (each case checked against RabbitMQ 3.10)."""

from __future__ import annotations

import pika
import pytest
from pika import exceptions


def test_publish_to_missing_exchange_returns_and_404_surfaces_on_next_call(channel):
    """basic_publish returns normally; the channel's next blocking call raises the 404."""
    channel.basic_publish("missing", "rk", b"body")
    with pytest.raises(exceptions.ChannelClosedByBroker) as caught:
        channel.queue_declare("", exclusive=True)
    assert (caught.value.reply_code, caught.value.reply_text) == (
        404, "NOT_FOUND - no exchange 'missing' in vhost '/'")


def test_closed_channel_raises_wrong_state_afterwards(channel):
    """After ChannelClosedByBroker, every call on the channel raises ChannelWrongStateError."""
    with pytest.raises(exceptions.ChannelClosedByBroker):
        channel.queue_declare("nope", passive=True)
    assert channel.is_closed
    with pytest.raises(exceptions.ChannelWrongStateError, match="Channel is closed"):
        channel.queue_declare("", exclusive=True)


def test_soft_error_leaves_other_channels_open(connection):
    """A channel error closes only its own channel."""
    doomed, other = connection.channel(), connection.channel()
    with pytest.raises(exceptions.ChannelClosedByBroker):
        doomed.queue_declare("nope", passive=True)
    assert other.is_open and connection.is_open
    assert other.queue_declare("", exclusive=True).method.queue.startswith("amq.gen-")


def test_unknown_delivery_tag_is_406_on_next_call(channel):
    """An ack for an unknown tag returns, and the 406 comes with the next blocking call."""
    channel.basic_ack(99)
    with pytest.raises(exceptions.ChannelClosedByBroker) as caught:
        channel.queue_declare("", exclusive=True)
    assert (caught.value.reply_code, caught.value.reply_text) == (
        406, "PRECONDITION_FAILED - unknown delivery tag 99")


def test_redeclare_with_other_arguments_is_406(channel):
    """Redeclaring a queue with another durable flag is PRECONDITION_FAILED."""
    channel.queue_declare("q")
    with pytest.raises(exceptions.ChannelClosedByBroker) as caught:
        channel.queue_declare("q", durable=True)
    assert caught.value.args == (
        406, "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': "
             "received 'true' but current is 'false'")


def test_exclusive_queue_of_another_connection_is_405(broker, channel):
    """Another connection's exclusive queue is RESOURCE_LOCKED."""
    name = channel.queue_declare("", exclusive=True).method.queue
    other = pika.BlockingConnection(pika.ConnectionParameters("localhost")).channel()
    with pytest.raises(exceptions.ChannelClosedByBroker) as caught:
        other.queue_declare(name, passive=True)
    assert caught.value.reply_code == 405
    assert caught.value.reply_text.startswith("RESOURCE_LOCKED - cannot obtain exclusive access")


def test_hard_error_closes_the_connection(connection, channel):
    """basic_recover(requeue=False) is a connection error in RabbitMQ 3.10 (540)."""
    with pytest.raises(exceptions.ConnectionClosedByBroker) as caught:
        channel.basic_recover(requeue=False)
    assert caught.value.args == (540, "NOT_IMPLEMENTED - requeue=false")
    assert connection.is_closed
    with pytest.raises(exceptions.ChannelWrongStateError):
        channel.queue_declare("", exclusive=True)


def test_flow_off_is_a_connection_error(connection, channel):
    """channel.flow(False) is refused with a connection-level 540, as RabbitMQ 3.10 does."""
    with pytest.raises(exceptions.ConnectionClosedByBroker) as caught:
        channel.flow(False)
    assert caught.value.args == (540, "NOT_IMPLEMENTED - active=false")
    assert connection.is_closed


def test_flow_on_is_accepted(channel):
    """channel.flow(True) answers active."""
    assert channel.flow(True) is True


def test_second_channel_open_is_504(broker, connection):
    """Opening a channel number twice is a connection-level CHANNEL_ERROR."""
    connection.channel(5)
    with pytest.raises(exceptions.ConnectionClosedByBroker) as caught:
        connection._impl.channel(5, on_open_callback=lambda ch: None)  # pika refuses this itself
        connection.process_data_events(0)
    assert caught.value.args == (504, "CHANNEL_ERROR - second 'channel.open' seen")


def test_error_inside_consumer_callback_is_raised_by_start_consuming(broker, channel):
    """A 404 caused inside a consumer callback is raised by start_consuming."""
    channel.queue_declare("jobs")
    channel.basic_publish("", "jobs", b"x")

    def callback(ch, method, properties, body):
        ch.basic_publish("missing", "rk", body)
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume("jobs", callback)
    with pytest.raises(exceptions.ChannelClosedByBroker) as caught:
        channel.start_consuming()
    assert caught.value.reply_code == 404


def test_broker_dropped_connection_is_a_lost_stream(broker, connection, channel):
    """broker.drop_connection looks like a network failure: StreamLostError on the next call."""
    (core,) = broker.connections
    broker.drop_connection(core)
    with pytest.raises(exceptions.StreamLostError):
        channel.queue_declare("", exclusive=True)
    assert connection.is_closed


def test_long_reply_text_is_cut_to_255_bytes(channel):
    """A reply text over 255 bytes arrives cut to 252 bytes plus '...', as RabbitMQ sends it."""
    name = "q" + "n" * 250
    with pytest.raises(exceptions.ChannelClosedByBroker) as caught:
        channel.queue_purge(name)
    text = caught.value.reply_text
    assert len(text.encode()) == 255 and text.endswith("n...")
    assert text.startswith("NOT_FOUND - no queue 'qnnn")
