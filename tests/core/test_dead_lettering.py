"""Dead-lettering: reasons rejected/expired/maxlen, x-death entries and counts, x-first-death-*,
the dead-letter routing key, and cycles."""

from __future__ import annotations

import datetime

import pytest

from memq import Properties
from memq import events as ev

from .support import drain, publish

DLX = {"x-dead-letter-exchange": "dlx"}


@pytest.fixture
def dlq(ch):
    """A fanout exchange `dlx` with queue `dlq` bound to it; returns the channel."""
    ch.exchange_declare("dlx", "fanout")
    ch.queue_declare("dlq")
    ch.queue_bind("dlq", "dlx")
    return ch


def _dead(ch, queue="dlq"):
    got = ch.basic_get(queue, auto_ack=True)
    assert got is not None, f"nothing in {queue}"
    return got


# --- reasons ---------------------------------------------------------------------------------


def test_reject_without_requeue_dead_letters_with_reason_rejected(dlq):
    """basic_reject(requeue=False) dead-letters the message with reason `rejected`."""
    dlq.queue_declare("q", arguments=DLX)
    publish(dlq, "", "q", "m")
    dlq.basic_reject(dlq.basic_get("q").delivery_tag, requeue=False)
    got = _dead(dlq)
    assert (got.body, got.exchange, got.routing_key) == (b"m", "dlx", "q")
    assert got.properties.headers["x-death"][0]["reason"] == "rejected"


def test_nack_without_requeue_dead_letters(dlq):
    """basic_nack(requeue=False, multiple=True) dead-letters each message, in order."""
    dlq.queue_declare("q", arguments=DLX)
    publish(dlq, "", "q", "1", "2")
    dlq.basic_get("q")
    dlq.basic_get("q")
    dlq.basic_nack(2, multiple=True, requeue=False)
    assert drain(dlq, "dlq") == [b"1", b"2"]


def test_expired_message_dead_letters_with_reason_expired(dlq, broker):
    """A message expiring by x-message-ttl is dead-lettered with reason `expired` at its deadline (time in UTC, as pika decodes it)."""
    dlq.queue_declare("q", arguments={**DLX, "x-message-ttl": 1000})
    publish(dlq, "", "q", "m")
    broker.clock.advance(1)
    got = _dead(dlq)
    death = got.properties.headers["x-death"][0]
    assert (death["reason"], death["queue"], death["time"]) == (
        "expired", "q", datetime.datetime(1970, 1, 1, 0, 0, 1, tzinfo=datetime.timezone.utc))


def test_maxlen_drop_head_dead_letters_head(dlq):
    """Overflowing x-max-length (drop-head) dead-letters the oldest message with reason `maxlen`."""
    dlq.queue_declare("q", arguments={**DLX, "x-max-length": 1})
    publish(dlq, "", "q", "old", "new")
    got = _dead(dlq)
    assert got.body == b"old" and got.properties.headers["x-death"][0]["reason"] == "maxlen"
    assert drain(dlq, "q") == [b"new"]


def test_requeue_does_not_dead_letter(dlq):
    """A reject with requeue leaves the message in its queue: nothing is dead-lettered."""
    dlq.queue_declare("q", arguments=DLX)
    publish(dlq, "", "q", "m")
    dlq.basic_reject(dlq.basic_get("q").delivery_tag, requeue=True)
    assert drain(dlq, "dlq") == [] and drain(dlq, "q") == [b"m"]


def test_purge_and_delete_do_not_dead_letter(dlq):
    """Purged messages and those of a deleted queue are not dead-lettered."""
    dlq.queue_declare("q", arguments=DLX)
    publish(dlq, "", "q", "1")
    dlq.queue_purge("q")
    publish(dlq, "", "q", "2")
    dlq.queue_delete("q")
    assert drain(dlq, "dlq") == []


def test_missing_dead_letter_exchange_drops_message(ch, broker):
    """With x-dead-letter-exchange naming a missing exchange the rejected message is dropped."""
    ch.queue_declare("q", arguments=DLX)
    publish(ch, "", "q", "m")
    ch.basic_reject(ch.basic_get("q").delivery_tag, requeue=False)
    assert [(e.queue, e.reason) for e in broker.trace.of_type(ev.Dropped)] == [("q", "rejected")]


# --- x-death ---------------------------------------------------------------------------------


def test_x_death_entry_has_rabbitmq_fields(dlq, broker):
    """An x-death entry has count, reason, queue, time, exchange and routing-keys of the dead message."""
    dlq.exchange_declare("src", "direct")
    dlq.queue_declare("q", arguments=DLX)
    dlq.queue_bind("q", "src", "k")
    broker.clock.advance(90)
    dlq.basic_publish("src", "k", b"m")
    dlq.basic_reject(dlq.basic_get("q").delivery_tag, requeue=False)
    headers = _dead(dlq).properties.headers
    assert headers["x-death"] == [{
        "count": 1, "reason": "rejected", "queue": "q", "time": datetime.datetime(1970, 1, 1, 0, 1, 30, tzinfo=datetime.timezone.utc),
        "exchange": "src", "routing-keys": ["k"],
    }]
    assert (headers["x-first-death-reason"], headers["x-first-death-queue"],
            headers["x-first-death-exchange"]) == ("rejected", "q", "src")


def test_x_death_keeps_original_headers_and_properties(dlq):
    """Dead-lettering adds headers; the message's own headers and other properties stay."""
    dlq.queue_declare("q", arguments=DLX)
    dlq.basic_publish("", "q", b"m", Properties(headers={"h": 1}, priority=3, correlation_id="c"))
    dlq.basic_reject(dlq.basic_get("q").delivery_tag, requeue=False)
    properties = _dead(dlq).properties
    assert (properties.headers["h"], properties.priority, properties.correlation_id) == (1, 3, "c")


@pytest.mark.parametrize("reason", ["rejected", "maxlen", "expired"])
def test_dead_lettering_removes_expiration_and_records_original(dlq, broker, reason):
    """A dead-lettered message loses its expiration, kept in x-death as original-expiration, for every reason."""
    arguments = {**DLX, "x-max-length": 1} if reason == "maxlen" else DLX
    dlq.queue_declare("q", arguments=arguments)
    dlq.basic_publish("", "q", b"m", Properties(expiration="60000"))
    if reason == "rejected":
        dlq.basic_reject(dlq.basic_get("q").delivery_tag, requeue=False)
    elif reason == "maxlen":
        publish(dlq, "", "q", "pusher")
    else:
        broker.clock.advance(60)
    properties = _dead(dlq).properties
    assert properties.expiration is None
    death = properties.headers["x-death"][0]
    assert (death["reason"], death["original-expiration"]) == (reason, "60000")


def test_x_death_count_grows_for_same_queue_and_reason(broker, ch):
    """A message rejected from the same queue twice has one x-death entry with count 2."""
    ch.exchange_declare("dlx", "fanout")
    ch.queue_declare("q", arguments=DLX)
    ch.queue_bind("q", "dlx")
    publish(ch, "", "q", "m")
    for _ in range(2):
        ch.basic_reject(ch.basic_get("q").delivery_tag, requeue=False)
    deaths = ch.basic_get("q", auto_ack=True).properties.headers["x-death"]
    assert [(d["queue"], d["reason"], d["count"], d["exchange"]) for d in deaths] == [("q", "rejected", 2, "")]


def test_x_death_lists_most_recent_death_first(broker, ch):
    """Dead-lettered through two queues, the newest x-death entry comes first; x-first-death-* stay."""
    ch.exchange_declare("dlx1", "fanout")
    ch.exchange_declare("dlx2", "fanout")
    ch.queue_declare("a", arguments={"x-dead-letter-exchange": "dlx1"})
    ch.queue_declare("b", arguments={"x-dead-letter-exchange": "dlx2", "x-message-ttl": 100})
    ch.queue_declare("c")
    ch.queue_bind("b", "dlx1")
    ch.queue_bind("c", "dlx2")
    publish(ch, "", "a", "m")
    ch.basic_reject(ch.basic_get("a").delivery_tag, requeue=False)
    broker.clock.advance(0.1)
    headers = ch.basic_get("c", auto_ack=True).properties.headers
    assert [(d["queue"], d["reason"], d["exchange"]) for d in headers["x-death"]] == [
        ("b", "expired", "dlx1"), ("a", "rejected", "")]
    assert (headers["x-first-death-queue"], headers["x-first-death-reason"]) == ("a", "rejected")


# --- routing key -----------------------------------------------------------------------------


def test_dead_letter_routing_key_replaces_original(ch):
    """x-dead-letter-routing-key sets the routing key of the dead-lettered message."""
    ch.exchange_declare("dlx", "direct")
    ch.queue_declare("dead")
    ch.queue_bind("dead", "dlx", "dead-key")
    ch.queue_declare("q", arguments={**DLX, "x-dead-letter-routing-key": "dead-key"})
    publish(ch, "", "q", "m")
    ch.basic_reject(ch.basic_get("q").delivery_tag, requeue=False)
    got = _dead(ch, "dead")
    assert got.routing_key == "dead-key"
    assert got.properties.headers["x-death"][0]["routing-keys"] == ["q"]


def test_dead_letter_keeps_routing_key_without_override(ch):
    """Without x-dead-letter-routing-key the dead-lettered message keeps its routing key."""
    ch.exchange_declare("dlx", "direct")
    ch.queue_declare("dead")
    ch.queue_bind("dead", "dlx", "orig")
    ch.queue_declare("q", arguments=DLX)
    ch.queue_bind("q", "amq.direct", "orig")
    ch.basic_publish("amq.direct", "orig", b"m")
    ch.basic_reject(ch.basic_get("q").delivery_tag, requeue=False)
    assert _dead(ch, "dead").routing_key == "orig"


def test_default_exchange_as_dead_letter_exchange_routes_by_queue_name(ch):
    """x-dead-letter-exchange '' with a routing key sends the message to the queue of that name."""
    ch.queue_declare("dead")
    ch.queue_declare("q", arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dead"})
    publish(ch, "", "q", "m")
    ch.basic_reject(ch.basic_get("q").delivery_tag, requeue=False)
    assert _dead(ch, "dead").exchange == ""


def test_unroutable_dead_letter_is_dropped(ch, broker):
    """A dead-lettered message its exchange cannot route is dropped."""
    ch.exchange_declare("dlx", "direct")
    ch.queue_declare("q", arguments=DLX)
    publish(ch, "", "q", "m")
    ch.basic_reject(ch.basic_get("q").delivery_tag, requeue=False)
    assert [e.exchange for e in broker.trace.of_type(ev.Unroutable)] == ["dlx"]


# --- cycles ----------------------------------------------------------------------------------


def test_expired_cycle_is_dropped(ch, broker):
    """A message that expires into a dead-letter exchange routing back to its queue is dropped, not looped."""
    ch.exchange_declare("dlx", "fanout")
    ch.queue_declare("q", arguments={**DLX, "x-message-ttl": 100})
    ch.queue_bind("q", "dlx")
    publish(ch, "", "q", "m")
    broker.clock.advance(10)
    assert drain(ch, "q") == []
    assert len(broker.trace.of_type(ev.DeadLettered)) == 1


def test_expired_cycle_through_two_queues_is_dropped(ch, broker):
    """An expiry cycle a -> b -> a is cut when the message would reach a again."""
    ch.exchange_declare("to_b", "fanout")
    ch.exchange_declare("to_a", "fanout")
    ch.queue_declare("a", arguments={"x-dead-letter-exchange": "to_b", "x-message-ttl": 100})
    ch.queue_declare("b", arguments={"x-dead-letter-exchange": "to_a", "x-message-ttl": 100})
    ch.queue_bind("b", "to_b")
    ch.queue_bind("a", "to_a")
    publish(ch, "", "a", "m")
    broker.clock.advance(10)
    assert [e.queue for e in broker.trace.of_type(ev.DeadLettered)] == ["a", "b"]
    assert drain(ch, "a") == [] and drain(ch, "b") == []


def test_rejected_cycle_is_not_dropped(ch):
    """A rejected message may go round a dead-letter cycle: each rejection is a client decision."""
    ch.exchange_declare("dlx", "fanout")
    ch.queue_declare("q", arguments=DLX)
    ch.queue_bind("q", "dlx")
    publish(ch, "", "q", "m")
    for _ in range(3):
        ch.basic_reject(ch.basic_get("q").delivery_tag, requeue=False)
    assert ch.basic_get("q", auto_ack=True).properties.headers["x-death"][0]["count"] == 3


def test_expired_cycle_with_rejection_in_it_is_not_dropped(ch, broker):
    """An expiry cycle a -> b -> a in which b rejected the message goes on: a client took part in it."""
    ch.exchange_declare("to_b", "fanout")
    ch.exchange_declare("to_a", "fanout")
    ch.queue_declare("a", arguments={"x-dead-letter-exchange": "to_b", "x-message-ttl": 100})
    ch.queue_declare("b", arguments={"x-dead-letter-exchange": "to_a"})
    ch.queue_bind("b", "to_b")
    ch.queue_bind("a", "to_a")
    publish(ch, "", "a", "m")
    broker.clock.advance(0.1)
    ch.basic_reject(ch.basic_get("b").delivery_tag, requeue=False)
    broker.clock.advance(0.1)
    deaths = ch.basic_get("b", auto_ack=True).properties.headers["x-death"]
    assert [(d["queue"], d["reason"], d["count"]) for d in deaths] == [("a", "expired", 2), ("b", "rejected", 1)]


def test_expiry_after_rejection_into_same_queue_is_a_cycle(ch, broker):
    """Rejected back into its own queue and then expired there, the message is dropped (RabbitMQ's is_cycle)."""
    ch.exchange_declare("dlx", "fanout")
    ch.queue_declare("q", arguments={**DLX, "x-message-ttl": 100})
    ch.queue_bind("q", "dlx")
    publish(ch, "", "q", "m")
    ch.basic_reject(ch.basic_get("q").delivery_tag, requeue=False)
    broker.clock.advance(0.1)
    assert drain(ch, "q") == []
