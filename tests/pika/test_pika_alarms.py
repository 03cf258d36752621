"""Resource alarms: a publishing connection is blocked until the alarm clears, as RabbitMQ blocks it.

memq only: raising a real alarm on the shared RabbitMQ is not safe. RabbitMQ, under a memory or disk
alarm, sends Connection.Blocked ("low on memory" / "low on disk") to a connection that publishes and
stops reading from it; Connection.Unblocked follows when the alarm clears.
"""

from __future__ import annotations

import pika
import pytest

import memq
import memq.pika


def _connect(**params):  # type: ignore[no-untyped-def]
    return pika.BlockingConnection(pika.ConnectionParameters("localhost", **params))


def test_publish_during_alarm_blocks_connection_until_cleared() -> None:
    """The publisher is told it is blocked, its message waits unread, and arrives once the alarm clears."""
    broker = memq.Broker(start=0)
    events: list = []
    with memq.pika.patched(broker):
        connection = _connect()
        connection.add_on_connection_blocked_callback(lambda c, frame: events.append(frame.method.reason))
        connection.add_on_connection_unblocked_callback(lambda c, frame: events.append("unblocked"))
        channel = connection.channel()
        channel.queue_declare("q")
        broker.set_alarm("memory")
        channel.basic_publish("", "q", b"held")
        connection.process_data_events(0)
        assert events == ["low on memory"] and broker.queue("q").message_count == 0
        broker.clear_alarm()
        connection.process_data_events(0)
        assert events == ["low on memory", "unblocked"] and broker.queue("q").bodies == [b"held"]
        connection.close()
    broker.check_invariants()


def test_connection_that_does_not_publish_is_not_blocked() -> None:
    """An alarm blocks only connections that publish; a consumer's connection goes on working."""
    broker = memq.Broker(start=0)
    with memq.pika.patched(broker):
        connection = _connect()
        channel = connection.channel()
        channel.queue_declare("q")
        broker.set_alarm("disk")
        assert channel.queue_declare("q", passive=True).method.message_count == 0
        connection.close()


def test_blocked_connection_timeout_runs_on_virtual_time() -> None:
    """pika's blocked_connection_timeout fires after that many virtual seconds of being blocked."""
    broker = memq.Broker(start=0)
    with memq.pika.patched(broker):
        connection = _connect(blocked_connection_timeout=30)
        channel = connection.channel()
        channel.confirm_delivery()
        broker.set_alarm("disk")
        with pytest.raises(pika.exceptions.ConnectionBlockedTimeout):
            channel.basic_publish("", "q", b"never confirmed")
        assert broker.clock.now() == 30.0


def test_set_alarm_refuses_unknown_resources() -> None:
    """Only RabbitMQ's two alarms exist: memory and disk."""
    with pytest.raises(memq.errors.InvalidArgument):
        memq.Broker().set_alarm("cpu")
