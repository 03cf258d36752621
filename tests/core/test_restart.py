"""broker.restart() and broker.drop_connection(): what survives, what is requeued, what is lost."""

from __future__ import annotations

import pytest

from memq import Properties, errors
from memq import events as ev

from .support import drain

PERSISTENT = Properties(delivery_mode=2)


def _exists(broker, kind, name):
    vhost = broker.vhosts["/"]
    return name in (vhost.queues if kind == "queue" else vhost.exchanges)


# --- restart ---------------------------------------------------------------------------------


def test_restart_keeps_durable_topology_and_drops_the_rest(ch, broker):
    """Durable exchanges, queues and their bindings survive a restart; non-durable ones do not."""
    ch.exchange_declare("dx", "direct", durable=True)
    ch.exchange_declare("tx", "direct")
    ch.queue_declare("dq", durable=True)
    ch.queue_declare("tq")
    ch.queue_bind("dq", "dx", "k")
    ch.queue_bind("tq", "dx", "k")
    broker.restart()
    assert [_exists(broker, kind, name) for kind, name in
            (("exchange", "dx"), ("exchange", "tx"), ("queue", "dq"), ("queue", "tq"))] == [True, False, True, False]
    fresh = broker.connect().channel()
    fresh.basic_publish("dx", "k", b"m")
    assert drain(fresh, "dq") == [b"m"]


def test_restart_keeps_persistent_messages_of_durable_queues(ch, broker):
    """Persistent messages in durable queues survive a restart, in order; transient ones are lost."""
    ch.queue_declare("dq", durable=True)
    ch.queue_declare("tq")
    for body, properties in ((b"p1", PERSISTENT), (b"t", None), (b"p2", PERSISTENT)):
        ch.basic_publish("", "dq", body, properties)
        ch.basic_publish("", "tq", body, properties)
    broker.restart()
    assert drain(broker.connect().channel(), "dq") == [b"p1", b"p2"]
    assert [e.reason for e in broker.trace.of_type(ev.Dropped)] == ["restart"] + ["queue_deleted"] * 3


def test_restart_returns_unacked_persistent_messages_redelivered(ch, broker):
    """An unacked persistent message comes back after a restart at its place, marked redelivered."""
    ch.queue_declare("dq", durable=True)
    for body in (b"1", b"2"):
        ch.basic_publish("", "dq", body, PERSISTENT)
    ch.basic_get("dq")
    broker.restart()
    fresh = broker.connect().channel()
    got = [fresh.basic_get("dq", auto_ack=True) for _ in range(2)]
    assert [(g.body, g.redelivered) for g in got] == [(b"1", True), (b"2", False)]


def test_restart_closes_connections_with_320(conn, ch, broker):
    """A restart closes every connection with 320 CONNECTION_FORCED, telling its close callbacks."""
    closed = []
    conn.add_on_close_callback(lambda connection, error: closed.append(error.reply_code))
    ch.add_on_close_callback(lambda channel, error: closed.append(("channel", error.reply_code)))
    broker.restart()
    assert not conn.is_open and not ch.is_open
    assert closed == [("channel", 320), 320]
    with pytest.raises(errors.ChannelClosed):
        ch.queue_declare("q")
    with pytest.raises(errors.ConnectionClosed):
        conn.channel()


def test_restart_deletes_exclusive_durable_queue(ch, broker):
    """An exclusive queue goes with its connection at restart, durable or not."""
    ch.queue_declare("eq", durable=True, exclusive=True)
    broker.restart()
    assert not _exists(broker, "queue", "eq")


def test_restart_keeps_predeclared_exchange_bindings_to_durable_queues(ch, broker):
    """Bindings from amq.* exchanges to durable queues survive a restart."""
    ch.queue_declare("dq", durable=True)
    ch.queue_bind("dq", "amq.topic", "a.#")
    broker.restart()
    fresh = broker.connect().channel()
    fresh.basic_publish("amq.topic", "a.b", b"m")
    assert drain(fresh, "dq") == [b"m"]


def test_restart_keeps_message_ttl_deadlines(ch, broker):
    """A persistent message with a TTL keeps its deadline across a restart."""
    ch.queue_declare("dq", durable=True, arguments={"x-message-ttl": 1000})
    ch.basic_publish("", "dq", b"m", PERSISTENT)
    broker.clock.advance(0.5)
    broker.restart()
    broker.clock.advance(0.5)
    assert broker.connect().channel().queue_declare("dq", passive=True).message_count == 0


def test_restart_restarts_x_expires_countdown(ch, broker):
    """A durable queue with x-expires starts its countdown again at restart."""
    ch.queue_declare("dq", durable=True, arguments={"x-expires": 1000})
    broker.clock.advance(0.5)
    broker.restart()
    broker.clock.advance(0.75)
    assert _exists(broker, "queue", "dq")
    broker.clock.advance(0.25)
    assert not _exists(broker, "queue", "dq")


def test_restart_records_event_and_keeps_working(ch, broker):
    """After a restart the trace ends with BrokerRestarted and new connections work."""
    broker.restart()
    assert isinstance(broker.trace[-1], ev.BrokerRestarted)
    fresh = broker.connect().channel()
    fresh.queue_declare("q")
    fresh.basic_publish("", "q", b"m")
    assert drain(fresh, "q") == [b"m"]


# --- drop_connection -------------------------------------------------------------------------


def test_drop_connection_requeues_and_closes(broker):
    """A dropped connection's unacked messages are requeued redelivered; its callbacks get None."""
    lost = broker.connect()
    ch = lost.channel()
    ch.queue_declare("q")
    ch.basic_publish("", "q", b"m")
    ch.basic_get("q")
    closed = []
    lost.add_on_close_callback(lambda connection, error: closed.append(error))
    broker.drop_connection(lost)
    assert closed == [None] and not lost.is_open and lost.lost
    got = broker.connect().channel().basic_get("q", auto_ack=True)
    assert (got.body, got.redelivered) == (b"m", True)


def test_drop_connection_deletes_exclusive_queues_and_cancels_consumers(broker, inbox):
    """A dropped connection's exclusive queues go, and its consumers are cancelled."""
    lost = broker.connect()
    ch = lost.channel()
    ch.queue_declare("eq", exclusive=True)
    ch.queue_declare("q")
    ch.basic_consume("q", inbox)
    broker.drop_connection(lost)
    assert not _exists(broker, "queue", "eq")
    assert broker.connect().channel().queue_declare("q", passive=True).consumer_count == 0


def test_drop_connection_leaves_other_connections(broker):
    """Dropping one connection leaves the others open."""
    lost, kept = broker.connect(), broker.connect()
    kept_channel = kept.channel()
    broker.drop_connection(lost)
    kept_channel.queue_declare("q")
    assert kept.is_open and kept_channel.is_open


def test_drop_connection_twice_is_harmless(conn, broker):
    """Dropping an already closed connection does nothing."""
    broker.drop_connection(conn)
    broker.drop_connection(conn)
    assert not conn.is_open
