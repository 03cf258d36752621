"""pika's waits run on the broker's virtual clock and return at once."""

from __future__ import annotations

import pika
import pytest

import memq
import memq.pika


def test_sleep_moves_virtual_time_only(broker, connection):
    """connection.sleep(3600) returns at once, an hour later in virtual time."""
    start = broker.clock.now()
    connection.sleep(3600)
    assert broker.clock.now() - start == pytest.approx(3600)
    assert connection.is_open


def test_process_data_events_time_limit(broker, connection):
    """process_data_events(time_limit=5) with nothing to do waits 5 virtual seconds."""
    start = broker.clock.now()
    connection.process_data_events(time_limit=5)
    assert broker.clock.now() - start == pytest.approx(5)


def test_process_data_events_zero_does_not_move_time(broker, connection):
    """process_data_events() (time_limit=0) never advances the clock."""
    start = broker.clock.now()
    connection.process_data_events()
    assert broker.clock.now() == start


def test_call_later_fires_on_virtual_time(broker, connection):
    """A connection.call_later callback fires when virtual time reaches it."""
    fired = []
    connection.call_later(30, lambda: fired.append(broker.clock.now()))
    start = broker.clock.now()
    connection.process_data_events(time_limit=None)
    assert fired == [pytest.approx(start + 30)]


def test_consume_inactivity_timeout_yields_none(broker, channel):
    """consume(inactivity_timeout=10) yields the message, then (None, None, None) 10 s later."""
    channel.queue_declare("q")
    channel.basic_publish("", "q", b"m")
    start = broker.clock.now()
    events = []
    for method, properties, body in channel.consume("q", inactivity_timeout=10):
        events.append(body)
        if method is None:
            break
        channel.basic_ack(method.delivery_tag)
    assert events == [b"m", None]
    assert broker.clock.now() - start == pytest.approx(10)
    channel.cancel()


def test_message_ttl_expires_while_sleeping(broker, connection, channel):
    """A per-queue TTL takes effect during connection.sleep: the message is gone afterwards."""
    channel.queue_declare("ttl", arguments={"x-message-ttl": 60_000})
    channel.basic_publish("", "ttl", b"m")
    connection.sleep(59)
    assert channel.queue_declare("ttl", passive=True).method.message_count == 1
    connection.sleep(2)
    assert channel.queue_declare("ttl", passive=True).method.message_count == 0


def test_clock_advance_between_calls_drops_idle_connection(broker, connection, channel):
    """broker.clock.advance(1 day) without pumping pika drops the connection, as RabbitMQ drops a silent client."""
    channel.queue_declare("q")
    broker.clock.advance(86_400)
    with pytest.raises(pika.exceptions.StreamLostError):
        channel.queue_declare("q", passive=True)
    assert not connection.is_open


def test_clock_advance_between_calls_keeps_connection_with_drop_idle_clients_off():
    """With drop_idle_clients=False, a connection that was not pumped for a day stays usable."""
    with memq.pika.patched(memq.Broker(seed=0), drop_idle_clients=False) as broker:
        connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
        channel = connection.channel()
        channel.queue_declare("q")
        broker.clock.advance(86_400)
        channel.basic_publish("", "q", b"m")
        assert channel.queue_declare("q", passive=True).method.message_count == 1
        connection.sleep(200)
        assert connection.is_open
        connection.close()


def test_clock_advance_within_two_heartbeat_checks_keeps_connection(broker, connection, channel):
    """An idle client survives until the second heartbeat check after its last frame (60 s heartbeat: 120-180 s)."""
    channel.queue_declare("q")
    broker.clock.advance(119)
    channel.basic_publish("", "q", b"m")
    assert channel.queue_declare("q", passive=True).method.message_count == 1


def test_long_sleep_exchanges_heartbeats(broker, connection):
    """A day of connection.sleep keeps both heartbeat monitors content."""
    connection.sleep(86_400)
    assert connection.is_open
    assert connection._impl._heartbeat_checker._heartbeat_frames_sent >= 2800


def test_delayed_dead_letter_retry_pattern(broker, connection, channel):
    """A retry queue with TTL and a dead-letter exchange delivers back after the delay."""
    channel.queue_declare("work")
    channel.queue_declare("retry", arguments={
        "x-message-ttl": 30_000, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "work"})
    channel.basic_publish("", "retry", b"again")
    got = []
    channel.basic_consume("work", lambda ch, m, p, b: got.append((broker.clock.now(), b)), auto_ack=True)
    start = broker.clock.now()
    connection.process_data_events(time_limit=None)
    assert got == [(pytest.approx(start + 30), b"again")]
