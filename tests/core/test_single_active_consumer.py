"""x-single-active-consumer: one consumer at a time, the next in subscription order takes over."""

from __future__ import annotations

import memq

from .support import Inbox, publish

SAC = {"x-single-active-consumer": True}


def test_single_active_consumer_gets_every_message(broker, ch):
    """Only the first subscribed consumer receives; the others wait, and all count as consumers."""
    first, second = Inbox(), Inbox()
    ch.queue_declare("q", arguments=SAC)
    ch.basic_consume("q", first, consumer_tag="a")
    ch.basic_consume("q", second, consumer_tag="b")
    publish(ch, "", "q", "0", "1", "2")
    broker.run_until_idle()
    assert first.bodies == [b"0", b"1", b"2"] and second.bodies == []
    assert ch.queue_declare("q", arguments=SAC).consumer_count == 2
    assert [(c.consumer_tag, c.active) for c in broker.list_consumers()] == [("a", True), ("b", False)]


def test_single_active_consumer_cancelled_hands_over_to_next(broker, ch):
    """Cancelling the active consumer makes the next one (in subscription order) active."""
    inboxes = {tag: Inbox() for tag in "abc"}
    ch.queue_declare("q", arguments=SAC)
    for tag, inbox in inboxes.items():
        ch.basic_consume("q", inbox, consumer_tag=tag, auto_ack=True)
    ch.basic_cancel("a")
    publish(ch, "", "q", "0")
    broker.run_until_idle()
    assert inboxes["b"].bodies == [b"0"] and inboxes["c"].bodies == []
    assert [(c.consumer_tag, c.active) for c in broker.list_consumers()] == [("b", True), ("c", False)]


def test_single_active_consumer_channel_close_redelivers_to_next(broker, conn):
    """When the active consumer's channel closes, its unacked messages go to the next consumer, in order."""
    ch1, ch2 = conn.channel(), conn.channel()
    first, second = Inbox(), Inbox()
    ch1.queue_declare("q", arguments=SAC)
    ch1.basic_qos(prefetch_count=2)
    ch1.basic_consume("q", first, consumer_tag="a")
    ch2.basic_consume("q", second, consumer_tag="b")
    publish(ch1, "", "q", "0", "1", "2")
    broker.run_until_idle()
    assert first.bodies == [b"0", b"1"] and second.bodies == []
    ch1.close()
    broker.run_until_idle()
    assert [(d.routing_key, d.redelivered) for d in second.delivers] == [("q", True), ("q", True), ("q", False)]
    assert second.bodies == [b"0", b"1", b"2"]


def test_single_active_consumer_ignores_consumer_priority(broker, ch):
    """Mirrors RabbitMQ 3.10: a later consumer with a higher x-priority stays waiting."""
    low, high = Inbox(), Inbox()
    ch.queue_declare("q", arguments=SAC)
    ch.basic_consume("q", low, consumer_tag="low")
    ch.basic_consume("q", high, consumer_tag="high", arguments={"x-priority": 5})
    publish(ch, "", "q", "0", "1")
    broker.run_until_idle()
    assert (low.bodies, high.bodies) == ([b"0", b"1"], [])


def test_single_active_consumer_at_prefetch_limit_holds_messages(broker, ch):
    """A waiting consumer never gets messages, even while the active one is at its prefetch limit."""
    first, second = Inbox(), Inbox()
    ch.queue_declare("q", arguments=SAC)
    ch.basic_qos(prefetch_count=1)
    ch.basic_consume("q", first)
    ch.basic_consume("q", second)
    publish(ch, "", "q", "0", "1")
    broker.run_until_idle()
    assert (first.bodies, second.bodies) == ([b"0"], [])
    assert broker.queue("q").message_count == 1
    ch.basic_ack(first.tags[0])
    broker.run_until_idle()
    assert first.bodies == [b"0", b"1"]


def test_single_active_consumer_max_length_counts_waiting_messages(broker, ch):
    """A length limit counts the room of the active consumer only."""
    first, second = Inbox(), Inbox()
    ch.queue_declare("q", arguments={**SAC, "x-max-length": 1})
    ch.basic_qos(prefetch_count=1)
    ch.basic_consume("q", first)
    ch.basic_consume("q", second)
    publish(ch, "", "q", "0", "1", "2")
    broker.run_until_idle()
    assert first.bodies == [b"0"] and broker.queue("q").bodies == [b"2"]
    assert [e.reason for e in broker.trace.of_type(memq.events.Dropped)] == ["maxlen"]
