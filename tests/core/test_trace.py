"""The trace: frozen event records of what the broker did, in order, with virtual times."""

from __future__ import annotations

import json

import attrs
import pytest

import memq
from memq import events as ev

from .support import publish


def _kinds(broker, start=0):
    return [type(e).__name__ for e in broker.trace[start:]]


def test_trace_records_publish_route_deliver_ack(ch, broker):
    """A publish to a consumed queue is traced as Published, Routed, Delivered, then Acked."""
    ch.queue_declare("q")
    ch.basic_consume("q", lambda channel, d, p, b: channel.basic_ack(d.delivery_tag), consumer_tag="c")
    mark = len(broker.trace)
    ch.basic_publish("", "q", b"hi")
    broker.run_until_idle()
    assert _kinds(broker, mark) == ["Published", "Routed", "Delivered", "Acked"]
    published, routed, delivered, acked = broker.trace[mark:]
    assert published == ev.Published(0.0, 1, "conn-1", 1, "", "q", 2)
    assert routed == ev.Routed(0.0, 1, ("q",))
    assert delivered == ev.Delivered(0.0, 1, "q", "conn-1", 1, "c", 1, False)
    assert acked == ev.Acked(0.0, 1, "q", "conn-1", 1, 1)


def test_trace_records_topology_changes(ch, broker):
    """Declares, binds, unbinds and deletes are traced with their names."""
    mark = len(broker.trace)
    ch.exchange_declare("x", "topic")
    ch.queue_declare("q")
    ch.queue_bind("q", "x", "a.*")
    ch.queue_unbind("q", "x", "a.*")
    ch.queue_delete("q")
    ch.exchange_delete("x")
    assert broker.trace[mark:] == [
        ev.ExchangeDeclared(0.0, "/", "x", "topic"),
        ev.QueueDeclared(0.0, "/", "q"),
        ev.Bound(0.0, "/", "x", "q", "queue", "a.*"),
        ev.Unbound(0.0, "/", "x", "q", "queue", "a.*"),
        ev.QueueDeleted(0.0, "/", "q", "deleted"),
        ev.ExchangeDeleted(0.0, "/", "x"),
    ]


def test_trace_times_are_seconds_since_start(broker):
    """Event times are virtual seconds since the broker's start, whatever the origin."""
    late = memq.Broker(start=1_700_000_000)
    late.clock.advance(2.5)
    late.connect()
    assert late.trace[-1].time == 2.5


def test_trace_events_are_frozen(ch, broker):
    """Trace records cannot be changed."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        broker.trace[0].time = 99


def test_trace_of_type_filters_in_order(ch, broker):
    """of_type returns the events of the given types, in order."""
    ch.queue_declare("q")
    publish(ch, "", "q", "1", "2")
    ch.basic_publish("", "nowhere", b"3")
    assert [type(e).__name__ for e in broker.trace.of_type(ev.Routed, ev.Unroutable)] == [
        "Routed", "Routed", "Unroutable"]


def test_trace_dumps_json_lines(ch, broker):
    """dumps() gives one JSON object per event, with the event name first and fields in order."""
    ch.queue_declare("q")
    lines = broker.trace.dumps().splitlines()
    assert len(lines) == len(broker.trace)
    last = json.loads(lines[-1])
    assert list(last) == ["event", "time", "vhost", "queue"] and last["event"] == "QueueDeclared"


def test_trace_clear_forgets_events(ch, broker):
    """clear() empties the trace; later events are recorded again."""
    broker.trace.clear()
    assert len(broker.trace) == 0
    ch.queue_declare("q")
    assert _kinds(broker) == ["QueueDeclared"]


def test_trace_disabled_records_nothing():
    """A broker made with trace=False records no events."""
    broker = memq.Broker(trace=False, start=0)
    ch = broker.connect().channel()
    ch.queue_declare("q")
    ch.basic_publish("", "q", b"m")
    assert len(broker.trace) == 0 and broker.trace.dumps() == ""


def test_trace_format_is_readable(ch, broker):
    """format() gives one line per event with its time, name and fields."""
    ch.queue_declare("q")
    line = broker.trace.format(last=1)
    assert line == "+     0.000s QueueDeclared vhost='/' queue='q'"


def test_trace_records_channel_and_connection_closes(conn, ch, broker):
    """Closing by error and normally are traced with their reply codes."""
    with pytest.raises(memq.errors.NotFound):
        ch.queue_declare("missing", passive=True)
    conn.close()
    closes = broker.trace.of_type(ev.ChannelClosed, ev.ConnectionClosed)
    assert [(type(e).__name__, e.reply_code) for e in closes] == [("ChannelClosed", 404), ("ConnectionClosed", 200)]


def test_trace_records_confirms_and_returns(ch, broker):
    """A mandatory unroutable publish on a confirm channel is traced as Unroutable, Returned, Confirmed."""
    ch.confirm_delivery()
    mark = len(broker.trace)
    ch.basic_publish("", "nowhere", b"m", mandatory=True)
    assert _kinds(broker, mark) == ["Published", "Unroutable", "Returned", "Confirmed"]
    assert broker.trace[-1] == ev.Confirmed(0.0, "conn-1", 1, 1, True)


def test_trace_event_to_dict_names_event():
    """Event.to_dict() gives the fields with the event's class name under "event"."""
    assert ev.QueueDeclared(1.0, "/", "q").to_dict() == {"event": "QueueDeclared", "time": 1.0, "vhost": "/",
                                                         "queue": "q"}


def test_published_lists_publish_events_filtered_by_exchange_and_key() -> None:
    """broker.published() returns the Published events, optionally for one exchange and routing key."""
    import memq

    broker = memq.Broker()
    channel = broker.connect().channel()
    channel.queue_declare("q")
    channel.basic_publish("", "q", b"one")
    channel.basic_publish("amq.topic", "a.b", b"two")
    assert [e.routing_key for e in broker.published()] == ["q", "a.b"]
    assert [e.size for e in broker.published(exchange="amq.topic", routing_key="a.b")] == [3]
    assert broker.published(routing_key="nope") == []
