"""Message TTL (x-message-ttl, per-message expiration) and queue expiry (x-expires), on the virtual clock."""

from __future__ import annotations

import pytest

from memq import Properties, errors
from memq import events as ev

from .support import drain, publish


def _ready_count(ch, queue):
    return ch.queue_declare(queue, passive=True).message_count


def _exists(broker, queue):
    return queue in broker.vhosts["/"].queues


def _expire(ms):
    return Properties(expiration=str(ms))


# --- x-message-ttl ---------------------------------------------------------------------------


def test_queue_ttl_expires_message_at_deadline(ch, broker):
    """With x-message-ttl 1000 a message is there at 999 ms and gone at 1000 ms."""
    ch.queue_declare("q", arguments={"x-message-ttl": 1000})
    publish(ch, "", "q", "m")
    broker.clock.advance(0.999)
    assert _ready_count(ch, "q") == 1
    broker.clock.advance(0.001)
    assert _ready_count(ch, "q") == 0
    assert [e.message for e in broker.trace.of_type(ev.Expired)] == [1]


def test_queue_ttl_expires_each_message_at_its_own_time(ch, broker):
    """Messages published at different times expire one by one, each TTL after its publish."""
    ch.queue_declare("q", arguments={"x-message-ttl": 1000})
    publish(ch, "", "q", "a")
    broker.clock.advance(0.5)
    publish(ch, "", "q", "b")
    broker.clock.advance(0.6)
    assert drain(ch, "q") == [b"b"]


def test_queue_ttl_expired_message_is_not_delivered_to_late_consumer(ch, broker, inbox):
    """A consumer subscribing after the TTL passed gets only what has not expired."""
    ch.queue_declare("q", arguments={"x-message-ttl": 1000})
    publish(ch, "", "q", "old")
    broker.clock.advance(2)
    publish(ch, "", "q", "new")
    ch.basic_consume("q", inbox)
    broker.run_until_idle()
    assert inbox.bodies == [b"new"]


def test_queue_ttl_zero_expires_message_without_consumer(ch, broker):
    """x-message-ttl 0 with no consumer: the message expires at once."""
    ch.queue_declare("q", arguments={"x-message-ttl": 0})
    publish(ch, "", "q", "m")
    assert _ready_count(ch, "q") == 0


def test_queue_ttl_zero_delivers_to_waiting_consumer(ch, broker, inbox):
    """x-message-ttl 0 with a consumer ready to take it: the message is delivered."""
    ch.queue_declare("q", arguments={"x-message-ttl": 0})
    ch.basic_consume("q", inbox)
    publish(ch, "", "q", "m")
    broker.run_until_idle()
    assert inbox.bodies == [b"m"]


def test_unacked_message_does_not_expire(ch, broker):
    """A delivered, unacked message is not expired by its TTL; acking it later is fine."""
    ch.queue_declare("q", arguments={"x-message-ttl": 1000})
    publish(ch, "", "q", "m")
    got = ch.basic_get("q")
    broker.clock.advance(5)
    ch.basic_ack(got.delivery_tag)
    assert broker.trace.of_type(ev.Expired) == []


def test_requeued_message_past_its_ttl_expires_at_requeue(ch, broker):
    """A message requeued after its TTL passed is expired at once, not made ready again."""
    ch.queue_declare("q", arguments={"x-message-ttl": 1000})
    publish(ch, "", "q", "m")
    got = ch.basic_get("q")
    broker.clock.advance(1.5)
    ch.basic_nack(got.delivery_tag, requeue=True)
    assert _ready_count(ch, "q") == 0
    assert len(broker.trace.of_type(ev.Expired)) == 1


def test_requeued_message_keeps_its_original_deadline(ch, broker):
    """A message requeued before its TTL passed expires at its original deadline."""
    ch.queue_declare("q", arguments={"x-message-ttl": 1000})
    publish(ch, "", "q", "m")
    got = ch.basic_get("q")
    broker.clock.advance(0.6)
    ch.basic_reject(got.delivery_tag, requeue=True)
    assert _ready_count(ch, "q") == 1
    broker.clock.advance(0.4)
    assert _ready_count(ch, "q") == 0


# --- per-message expiration ------------------------------------------------------------------


def test_message_expiration_expires_message(ch, broker):
    """A message published with expiration '500' is gone after 500 ms."""
    ch.queue_declare("q")
    ch.basic_publish("", "q", b"m", _expire(500))
    broker.clock.advance(0.5)
    assert _ready_count(ch, "q") == 0


def test_message_expiration_shorter_than_queue_ttl_wins(ch, broker):
    """The smaller of x-message-ttl and the message's expiration applies."""
    ch.queue_declare("q", arguments={"x-message-ttl": 10000})
    ch.basic_publish("", "q", b"short", _expire(100))
    ch.basic_publish("", "q", b"long", _expire(60000))
    broker.clock.advance(0.1)
    assert _ready_count(ch, "q") == 1
    broker.clock.advance(10)
    assert _ready_count(ch, "q") == 0


def test_message_expiration_applies_only_at_head(ch, broker):
    """A short-lived message behind a long-lived one stays counted until it reaches the head."""
    ch.queue_declare("q")
    ch.basic_publish("", "q", b"long", _expire(5000))
    ch.basic_publish("", "q", b"short", _expire(100))
    broker.clock.advance(0.5)
    assert _ready_count(ch, "q") == 2
    assert ch.basic_get("q", auto_ack=True).body == b"long"
    assert ch.basic_get("q", auto_ack=True) is None
    assert _ready_count(ch, "q") == 0


def test_message_expiration_zero_expires_without_consumer(ch):
    """Expiration '0' with no consumer: the message expires at once."""
    ch.queue_declare("q")
    ch.basic_publish("", "q", b"m", _expire(0))
    assert _ready_count(ch, "q") == 0


def test_message_expiration_zero_delivers_only_what_consumers_can_take(ch, broker, inbox):
    """Expiration '0' with a prefetch-1 consumer: the first message is delivered, the second expires."""
    ch.basic_qos(prefetch_count=1)
    ch.queue_declare("q")
    ch.basic_consume("q", inbox)
    ch.basic_publish("", "q", b"a", _expire(0))
    ch.basic_publish("", "q", b"b", _expire(0))
    broker.run_until_idle()
    assert inbox.bodies == [b"a"]
    assert _ready_count(ch, "q") == 0
    ch.basic_ack(inbox.tags[0])
    broker.clock.advance(1)
    assert inbox.bodies == [b"a"]


def test_message_expiration_zero_requeued_expires(ch, broker):
    """A message with expiration '0' that was delivered expires when it is requeued."""
    ch.queue_declare("q")
    seen = []

    def nack(channel, deliver, properties, body):
        seen.append(body)
        channel.basic_nack(deliver.delivery_tag, requeue=True)

    ch.basic_consume("q", nack)
    ch.basic_publish("", "q", b"m", _expire(0))
    broker.clock.advance(1)
    assert seen == [b"m"] and _ready_count(ch, "q") == 0


@pytest.mark.parametrize(
    ("expiration", "problem"),
    [("abc", "no_integer"), ("-1", "{value_negative,-1}"), ("1.5", '{leftover_string,".5"}'),
     (" 5", "no_integer")],
)
def test_invalid_expiration_is_406(conn, ch, expiration, problem):
    """A publish with an expiration that is not a non-negative integer is 406 and closes the channel."""
    ch.queue_declare("q")
    with pytest.raises(errors.PreconditionFailed) as caught:
        ch.basic_publish("", "q", b"m", Properties(expiration=expiration))
    assert caught.value.reply_text == f"PRECONDITION_FAILED - invalid expiration '{expiration}': {problem}"
    assert not ch.is_open and conn.is_open
    assert conn.channel().queue_declare("q", passive=True).message_count == 0


def test_expiration_is_delivered_unchanged(ch):
    """The expiration property reaches the consumer as published."""
    ch.queue_declare("q")
    ch.basic_publish("", "q", b"m", _expire(60000))
    assert ch.basic_get("q", auto_ack=True).properties.expiration == "60000"


# --- x-expires -------------------------------------------------------------------------------


def test_unused_queue_expires_after_x_expires(ch, broker):
    """A queue with x-expires 2000 and no use is deleted at 2000 ms, not before."""
    ch.queue_declare("q", arguments={"x-expires": 2000})
    broker.clock.advance(1.999)
    assert _exists(broker, "q")
    broker.clock.advance(0.001)
    assert not _exists(broker, "q")
    assert [(e.queue, e.reason) for e in broker.trace.of_type(ev.QueueDeleted)] == [("q", "expired")]


def test_queue_with_consumer_does_not_expire(ch, broker, inbox):
    """A queue with a consumer does not expire; after the consumer goes the countdown starts again."""
    ch.queue_declare("q", arguments={"x-expires": 1000})
    tag = ch.basic_consume("q", inbox)
    broker.clock.advance(10)
    assert _exists(broker, "q")
    ch.basic_cancel(tag)
    broker.clock.advance(0.9)
    assert _exists(broker, "q")
    broker.clock.advance(0.1)
    assert not _exists(broker, "q")


def test_basic_get_renews_queue_lease(ch, broker):
    """basic_get (even on an empty queue) restarts the x-expires countdown."""
    ch.queue_declare("q", arguments={"x-expires": 1000})
    broker.clock.advance(0.7)
    ch.basic_get("q")
    broker.clock.advance(0.7)
    assert _exists(broker, "q")
    broker.clock.advance(0.3)
    assert not _exists(broker, "q")


@pytest.mark.parametrize("passive", [False, True])
def test_redeclare_renews_queue_lease(ch, broker, passive):
    """Redeclaring a queue, actively or passively, restarts its x-expires countdown."""
    arguments = {"x-expires": 2000}
    ch.queue_declare("q", arguments=arguments)
    broker.clock.advance(1.5)
    ch.queue_declare("q", passive=passive, arguments=arguments)
    broker.clock.advance(1.25)
    assert _exists(broker, "q")
    broker.clock.advance(0.75)
    assert not _exists(broker, "q")


def test_publish_does_not_renew_queue_lease(ch, broker):
    """Publishing to a queue does not count as use: it expires on schedule with its messages."""
    ch.queue_declare("q", arguments={"x-expires": 2000})
    broker.clock.advance(1.4)
    publish(ch, "", "q", "m")
    broker.clock.advance(0.6)
    assert not _exists(broker, "q")


def test_expired_queue_cancels_nothing_and_drops_messages(ch, broker):
    """An expiring queue takes its ready messages with it."""
    ch.queue_declare("q", arguments={"x-expires": 1000})
    publish(ch, "", "q", "1", "2")
    broker.clock.advance(1)
    assert [(e.reason, e.queue) for e in broker.trace.of_type(ev.Dropped)] == [("queue_deleted", "q")] * 2


def test_clock_advance_fires_ttl_and_expiry_in_time_order(ch, broker):
    """One long advance expires a message (1 s) before its queue (3 s), each at its own instant."""
    ch.queue_declare("q", arguments={"x-expires": 3000, "x-message-ttl": 1000})
    publish(ch, "", "q", "m")
    broker.clock.advance(60)
    kinds = [(type(e).__name__, e.time) for e in broker.trace.of_type(ev.Expired, ev.QueueDeleted)]
    assert kinds == [("Expired", 1.0), ("QueueDeleted", 3.0)]


