"""Direct, fanout and default-exchange routing, and unroutable messages."""

from __future__ import annotations

import pytest

from memq import errors
from memq import events as ev

from .support import drain, publish


def test_default_exchange_routes_to_queue_named_by_key(ch):
    """The default exchange delivers to the queue whose name is the routing key, with exchange ''."""
    ch.queue_declare("q")
    ch.basic_publish("", "q", b"m")
    got = ch.basic_get("q")
    assert (got.body, got.exchange, got.routing_key) == (b"m", "", "q")


def test_default_exchange_drops_key_without_queue(ch, broker):
    """A default-exchange message for a missing queue is dropped and traced as unroutable."""
    ch.basic_publish("", "nowhere", b"m")
    assert [e.routing_key for e in broker.trace.of_type(ev.Unroutable)] == ["nowhere"]


def test_direct_routes_on_exact_key(ch):
    """A direct binding takes messages whose routing key equals its key, exactly (case too)."""
    ch.exchange_declare("d", "direct")
    ch.queue_declare("q")
    ch.queue_bind("q", "d", "info")
    publish(ch, "d", "info", "1")
    publish(ch, "d", "Info", "2")
    publish(ch, "d", "info.x", "3")
    publish(ch, "d", "", "4")
    assert drain(ch, "q") == [b"1"]


def test_direct_binding_key_defaults_to_queue_name(ch):
    """queue_bind without a routing key binds with the queue's name."""
    ch.queue_declare("q")
    ch.queue_bind("q", "amq.direct")
    publish(ch, "amq.direct", "q", "m")
    assert drain(ch, "q") == [b"m"]


def test_direct_empty_binding_key_matches_empty_routing_key(ch):
    """A binding with key '' takes messages published with key ''."""
    ch.exchange_declare("d", "direct")
    ch.queue_declare("q")
    ch.queue_bind("q", "d", "")
    publish(ch, "d", "", "m")
    publish(ch, "d", "x", "n")
    assert drain(ch, "q") == [b"m"]


def test_direct_one_key_reaches_every_bound_queue(ch):
    """Several queues bound with the same key each get a copy."""
    ch.exchange_declare("d", "direct")
    for queue in ("q1", "q2", "q3"):
        ch.queue_declare(queue)
        ch.queue_bind(queue, "d", "k")
    publish(ch, "d", "k", "m")
    assert [drain(ch, q) for q in ("q1", "q2", "q3")] == [[b"m"]] * 3


def test_direct_queue_bound_with_two_keys_gets_each_matching_message(ch):
    """A queue bound with keys a and b gets messages of both keys, in publish order."""
    ch.exchange_declare("d", "direct")
    ch.queue_declare("q")
    ch.queue_bind("q", "d", "a")
    ch.queue_bind("q", "d", "b")
    publish(ch, "d", "a", "1")
    publish(ch, "d", "b", "2")
    publish(ch, "d", "c", "3")
    publish(ch, "d", "a", "4")
    assert drain(ch, "q") == [b"1", b"2", b"4"]


def test_direct_duplicate_binding_is_one_binding(ch):
    """Binding the same queue with the same key twice makes one binding; one unbind removes it."""
    ch.exchange_declare("d", "direct")
    ch.queue_declare("q")
    ch.queue_bind("q", "d", "k")
    ch.queue_bind("q", "d", "k")
    publish(ch, "d", "k", "1")
    ch.queue_unbind("q", "d", "k")
    publish(ch, "d", "k", "2")
    assert drain(ch, "q") == [b"1"]


def test_direct_unbind_stops_routing(ch):
    """After queue_unbind, messages with that key no longer reach the queue."""
    ch.exchange_declare("d", "direct")
    ch.queue_declare("q")
    ch.queue_bind("q", "d", "k")
    ch.queue_unbind("q", "d", "k")
    publish(ch, "d", "k", "m")
    assert drain(ch, "q") == []


def test_direct_unbind_of_missing_binding_is_accepted(ch):
    """Unbinding a binding, queue or exchange that does not exist is not an error."""
    ch.exchange_declare("d", "direct")
    ch.queue_declare("q")
    ch.queue_unbind("q", "d", "nope")
    ch.queue_unbind("noqueue", "d", "k")
    ch.queue_unbind("q", "noexchange", "k")
    assert ch.is_open


def test_fanout_ignores_routing_key(ch):
    """A fanout exchange copies every message to every bound queue, whatever the keys."""
    ch.exchange_declare("f", "fanout")
    for queue, key in (("q1", "x"), ("q2", "")):
        ch.queue_declare(queue)
        ch.queue_bind(queue, "f", key)
    publish(ch, "f", "anything", "m")
    assert (drain(ch, "q1"), drain(ch, "q2")) == ([b"m"], [b"m"])


def test_fanout_queue_bound_twice_gets_one_copy(ch):
    """A queue bound to a fanout with two keys is enqueued once per message."""
    ch.queue_declare("q")
    ch.queue_bind("q", "amq.fanout", "a")
    ch.queue_bind("q", "amq.fanout", "b")
    publish(ch, "amq.fanout", "", "m")
    assert drain(ch, "q") == [b"m"]


def test_routed_event_lists_queues_in_binding_order(ch, broker):
    """The Routed trace record names the queues a message reached, in the order they were bound."""
    ch.exchange_declare("f", "fanout")
    for queue in ("b", "a", "c"):
        ch.queue_declare(queue)
        ch.queue_bind(queue, "f")
    publish(ch, "f", "", "m")
    assert [e.queues for e in broker.trace.of_type(ev.Routed)] == [("b", "a", "c")]


def test_publish_to_missing_exchange_closes_channel_with_404(conn, ch):
    """Publishing to an exchange that does not exist is 404 and closes the channel only."""
    with pytest.raises(errors.NotFound) as caught:
        ch.basic_publish("nope", "k", b"m")
    assert caught.value.reply_text == "NOT_FOUND - no exchange 'nope' in vhost '/'"
    assert not ch.is_open and conn.is_open


def test_publish_to_amq_default_is_404(ch):
    """`amq.default` is not a name for the default exchange when publishing."""
    with pytest.raises(errors.NotFound) as caught:
        ch.basic_publish("amq.default", "q", b"m")
    assert caught.value.reply_text == "NOT_FOUND - no exchange 'amq.default' in vhost '/'"


def test_message_properties_and_body_arrive_unchanged(ch):
    """Properties and body come out of the queue exactly as published."""
    from memq import Properties

    properties = Properties(content_type="text/plain", headers={"k": [1, "two"]}, correlation_id="c",
                            reply_to="r", message_id="id", timestamp=7, type="t", app_id="a",
                            delivery_mode=2, priority=3)
    ch.queue_declare("q")
    ch.basic_publish("", "q", b"\x00\xff", properties)
    got = ch.basic_get("q", auto_ack=True)
    assert (got.body, got.properties) == (b"\x00\xff", properties)


def test_str_body_is_encoded_as_utf8(ch):
    """A str body is published as its UTF-8 bytes."""
    ch.queue_declare("q")
    ch.basic_publish("", "q", "héllo")
    assert drain(ch, "q") == ["héllo".encode()]


def test_vhosts_route_independently(broker):
    """Two virtual hosts have separate queues: a queue of one is not reachable from the other."""
    broker.add_vhost("other")
    a = broker.connect().channel()
    b = broker.connect("other").channel()
    a.queue_declare("q")
    b.queue_declare("q")
    a.basic_publish("", "q", b"from-a")
    assert (drain(b, "q"), drain(a, "q")) == ([], [b"from-a"])
