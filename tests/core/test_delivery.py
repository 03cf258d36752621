"""Delivery to consumers and basic_get: delivery tags, round-robin, prefetch, consumer priorities, counts."""

from __future__ import annotations

import re

import pytest

import memq
from memq import errors

from .support import Inbox, publish


def test_delivery_tags_count_per_channel_from_one(conn, broker):
    """Each channel numbers its deliveries from 1; basic_get and consumers share the sequence."""
    one, two = conn.channel(), conn.channel()
    one.queue_declare("q")
    publish(one, "", "q", "1", "2", "3", "4")
    inbox = Inbox()
    assert one.basic_get("q").delivery_tag == 1
    assert two.basic_get("q").delivery_tag == 1
    one.basic_consume("q", inbox)
    broker.run_until_idle()
    assert inbox.tags == [2, 3]


def test_deliver_carries_consumer_tag_exchange_and_key(ch, broker, inbox):
    """The Deliver given to a callback names consumer tag, delivery tag, redelivered, exchange and key."""
    ch.queue_declare("q")
    ch.queue_bind("q", "amq.direct", "k")
    ch.basic_consume("q", inbox, consumer_tag="c1")
    ch.basic_publish("amq.direct", "k", b"m")
    broker.run_until_idle()
    assert inbox.delivers == [memq.Deliver("c1", 1, False, "amq.direct", "k")]


def test_callbacks_run_only_inside_run_until_idle(ch, broker, inbox):
    """basic_publish does not call consumer callbacks; run_until_idle does and returns the count."""
    ch.queue_declare("q")
    ch.basic_consume("q", inbox)
    publish(ch, "", "q", "1", "2")
    assert len(inbox) == 0
    assert broker.run_until_idle() == 2
    assert inbox.bodies == [b"1", b"2"]
    assert broker.run_until_idle() == 0


def test_messages_published_before_consume_are_delivered(ch, broker, inbox):
    """A consumer registered after messages arrived gets them, in order."""
    ch.queue_declare("q")
    publish(ch, "", "q", "1", "2", "3")
    ch.basic_consume("q", inbox)
    broker.run_until_idle()
    assert inbox.bodies == [b"1", b"2", b"3"]


def test_generated_consumer_tag_has_rabbitmq_shape(ch, inbox):
    """A consumer without a tag gets `amq.ctag-` and 22 URL-safe base64 characters."""
    ch.queue_declare("q")
    assert re.fullmatch(r"amq\.ctag-[A-Za-z0-9_-]{22}", ch.basic_consume("q", inbox))


def test_reused_consumer_tag_closes_connection_with_530(conn, ch, inbox):
    """Reusing a consumer tag on a channel is a hard 530 NOT_ALLOWED."""
    ch.queue_declare("q")
    ch.basic_consume("q", inbox, consumer_tag="t1")
    with pytest.raises(errors.NotAllowed) as caught:
        ch.basic_consume("q", inbox, consumer_tag="t1")
    assert caught.value.reply_text == "NOT_ALLOWED - attempt to reuse consumer tag 't1'"
    assert not conn.is_open


def test_same_consumer_tag_on_two_channels_is_accepted(conn, inbox):
    """Consumer tags are per channel: two channels may use the same one."""
    one, two = conn.channel(), conn.channel()
    one.queue_declare("q")
    one.basic_consume("q", inbox, consumer_tag="t")
    two.basic_consume("q", inbox, consumer_tag="t")
    assert one.is_open and two.is_open


def test_basic_cancel_of_unknown_tag_is_accepted(ch):
    """Cancelling a consumer tag that does not exist is not an error."""
    ch.basic_cancel("nope")
    assert ch.is_open


def test_basic_consume_missing_queue_is_404(conn, ch, inbox):
    """Consuming from a missing queue is 404 and closes the channel."""
    with pytest.raises(errors.NotFound) as caught:
        ch.basic_consume("q", inbox)
    assert caught.value.reply_text == "NOT_FOUND - no queue 'q' in vhost '/'"
    assert not ch.is_open and conn.is_open


def test_exclusive_consumer_excludes_others(ch, inbox):
    """An exclusive consume with another consumer present, or any consume after one, is 403."""
    ch.queue_declare("q")
    ch.basic_consume("q", inbox, exclusive=True)
    with pytest.raises(errors.AccessRefused) as caught:
        ch.connection.channel().basic_consume("q", inbox)
    assert caught.value.reply_text == "ACCESS_REFUSED - queue 'q' in vhost '/' in exclusive use"
    other = ch.connection.channel()
    other.queue_declare("p")
    other.basic_consume("p", inbox)
    with pytest.raises(errors.AccessRefused):
        other.basic_consume("p", inbox, exclusive=True)


# --- round-robin -----------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2])
def test_two_consumers_share_messages_round_robin(conn, broker, channels):
    """Two consumers of one queue get messages alternately, on one channel or two."""
    chans = [conn.channel() for _ in range(channels)]
    chans[0].queue_declare("q")
    a, b = Inbox(), Inbox()
    chans[0].basic_consume("q", a)
    chans[-1].basic_consume("q", b)
    publish(chans[0], "", "q", *"123456")
    broker.run_until_idle()
    assert (a.bodies, b.bodies) == ([b"1", b"3", b"5"], [b"2", b"4", b"6"])


def test_round_robin_continues_after_a_consumer_is_cancelled(ch, broker):
    """Cancelling one of three consumers leaves the other two alternating."""
    ch.queue_declare("q")
    inboxes = [Inbox(), Inbox(), Inbox()]
    tags = [ch.basic_consume("q", inbox) for inbox in inboxes]
    publish(ch, "", "q", "1", "2")
    broker.run_until_idle()
    ch.basic_cancel(tags[0])
    publish(ch, "", "q", "3", "4", "5")
    broker.run_until_idle()
    assert [i.bodies for i in inboxes] == [[b"1"], [b"2", b"4"], [b"3", b"5"]]


# --- prefetch --------------------------------------------------------------------------------


def test_prefetch_limits_each_consumer_created_after_qos(ch, broker):
    """basic_qos(prefetch_count=2) limits consumers created after it to 2 unacked each."""
    ch.queue_declare("q")
    before = Inbox()
    ch.basic_consume("q", before)
    ch.basic_qos(prefetch_count=2)
    after = Inbox()
    ch.basic_consume("q", after)
    publish(ch, "", "q", *"12345678")
    broker.run_until_idle()
    assert (len(before), len(after)) == (6, 2)


def test_prefetch_ack_lets_one_more_through(ch, broker, inbox):
    """Acking one delivery of a consumer at its prefetch limit lets exactly one more through."""
    ch.basic_qos(prefetch_count=1)
    ch.queue_declare("q")
    ch.basic_consume("q", inbox)
    publish(ch, "", "q", "1", "2", "3")
    broker.run_until_idle()
    assert inbox.bodies == [b"1"]
    ch.basic_ack(inbox.tags[-1])
    broker.run_until_idle()
    assert inbox.bodies == [b"1", b"2"]


def test_prefetch_does_not_limit_basic_get_or_auto_ack(ch, broker, inbox):
    """basic_get and auto-ack consumers ignore the prefetch limit."""
    ch.basic_qos(prefetch_count=1)
    ch.queue_declare("q")
    publish(ch, "", "q", "1", "2", "3", "4")
    assert ch.basic_get("q") is not None and ch.basic_get("q") is not None
    ch.basic_consume("q", inbox, auto_ack=True)
    broker.run_until_idle()
    assert inbox.bodies == [b"3", b"4"]


def test_prefetch_slow_consumer_leaves_messages_to_free_one(ch, broker):
    """With prefetch 1, a consumer that does not ack leaves the rest to a consumer that does."""
    ch.basic_qos(prefetch_count=1)
    ch.queue_declare("q")
    slow = Inbox()

    def fast(channel, deliver, properties, body):
        fast_bodies.append(body)
        channel.basic_ack(deliver.delivery_tag)

    fast_bodies: list[bytes] = []
    ch.basic_consume("q", slow)
    ch.basic_consume("q", fast)
    publish(ch, "", "q", *"12345")
    broker.run_until_idle()
    assert (slow.bodies, fast_bodies) == ([b"1"], [b"2", b"3", b"4", b"5"])


def test_global_prefetch_is_shared_by_channel_consumers(ch, broker):
    """global_qos=True limits the unacked deliveries of all the channel's consumers together."""
    ch.basic_qos(prefetch_count=3, global_qos=True)
    ch.queue_declare("q")
    a, b = Inbox(), Inbox()
    ch.basic_consume("q", a)
    ch.basic_consume("q", b)
    publish(ch, "", "q", *"123456")
    broker.run_until_idle()
    assert (a.bodies, b.bodies) == ([b"1", b"3"], [b"2"])
    ch.basic_ack(a.tags[0])
    broker.run_until_idle()
    assert len(a) + len(b) == 4


def test_per_consumer_and_global_prefetch_combine(ch, broker):
    """Per-consumer 1 and global 3 with four consumers: three get one each, the fourth none."""
    ch.basic_qos(prefetch_count=1)
    ch.basic_qos(prefetch_count=3, global_qos=True)
    ch.queue_declare("q")
    inboxes = [Inbox() for _ in range(4)]
    for inbox in inboxes:
        ch.basic_consume("q", inbox)
    publish(ch, "", "q", *"123456")
    broker.run_until_idle()
    assert [len(i) for i in inboxes] == [1, 1, 1, 0]


def test_global_prefetch_raised_later_releases_messages(ch, broker, inbox):
    """Raising the channel's global prefetch lets waiting messages through."""
    ch.basic_qos(prefetch_count=1, global_qos=True)
    ch.queue_declare("q")
    ch.basic_consume("q", inbox)
    publish(ch, "", "q", "1", "2", "3")
    broker.run_until_idle()
    ch.basic_qos(prefetch_count=3, global_qos=True)
    broker.run_until_idle()
    assert inbox.bodies == [b"1", b"2", b"3"]


def test_prefetch_size_closes_connection_with_540(conn, ch):
    """basic_qos with a prefetch_size is a hard 540 NOT_IMPLEMENTED."""
    with pytest.raises(errors.NotImplementedAMQP) as caught:
        ch.basic_qos(prefetch_size=1)
    assert caught.value.reply_text == "NOT_IMPLEMENTED - prefetch_size!=0 (1)" and not conn.is_open


def test_prefetch_count_65535_is_accepted(ch):
    """The largest prefetch count is accepted."""
    ch.basic_qos(prefetch_count=65535)
    assert ch.is_open


# --- consumer priorities ---------------------------------------------------------------------


def test_higher_priority_consumer_gets_messages_first(ch, broker):
    """A consumer with a higher x-priority gets every message while it has capacity."""
    ch.queue_declare("q")
    low, high = Inbox(), Inbox()
    ch.basic_consume("q", low)
    ch.basic_consume("q", high, arguments={"x-priority": 10})
    publish(ch, "", "q", "1", "2", "3")
    broker.run_until_idle()
    assert (low.bodies, high.bodies) == ([], [b"1", b"2", b"3"])


def test_lower_priority_consumer_gets_messages_when_higher_is_full(ch, broker):
    """When the higher-priority consumer reaches its prefetch limit the lower one gets the rest."""
    ch.basic_qos(prefetch_count=2)
    ch.queue_declare("q")
    low, high = Inbox(), Inbox()
    ch.basic_consume("q", low)
    ch.basic_consume("q", high, arguments={"x-priority": 5})
    publish(ch, "", "q", *"12345")
    broker.run_until_idle()
    assert (high.bodies, low.bodies) == ([b"1", b"2"], [b"3", b"4"])


def test_equal_priority_consumers_alternate_above_lower(ch, broker):
    """Consumers of equal high priority alternate; a lower-priority one gets nothing."""
    ch.queue_declare("q")
    low, a, b = Inbox(), Inbox(), Inbox()
    ch.basic_consume("q", low, arguments={"x-priority": -1})
    ch.basic_consume("q", a, arguments={"x-priority": 3})
    ch.basic_consume("q", b, arguments={"x-priority": 3})
    publish(ch, "", "q", *"1234")
    broker.run_until_idle()
    assert (low.bodies, a.bodies, b.bodies) == ([], [b"1", b"3"], [b"2", b"4"])


# --- basic_get -------------------------------------------------------------------------------


def test_basic_get_message_count_is_ready_left_after(ch):
    """GetOk.message_count is the number of ready messages left after the one taken."""
    ch.queue_declare("q")
    publish(ch, "", "q", "1", "2", "3")
    assert [ch.basic_get("q").message_count for _ in range(3)] == [2, 1, 0]


def test_basic_get_empty_queue_returns_none(ch):
    """basic_get of an empty queue returns None."""
    ch.queue_declare("q")
    assert ch.basic_get("q") is None


def test_basic_get_missing_queue_is_404(conn, ch):
    """basic_get of a missing queue is 404 and closes the channel."""
    with pytest.raises(errors.NotFound):
        ch.basic_get("q")
    assert not ch.is_open and conn.is_open


def test_basic_get_auto_ack_leaves_nothing_unacked(ch):
    """basic_get with auto_ack settles the message at once: acking its tag is then an unknown tag."""
    ch.queue_declare("q")
    publish(ch, "", "q", "m")
    got = ch.basic_get("q", auto_ack=True)
    with pytest.raises(errors.PreconditionFailed):
        ch.basic_ack(got.delivery_tag)


def test_callback_that_publishes_is_served_in_same_run(ch, broker):
    """A message published from inside a callback is delivered before run_until_idle returns."""
    ch.queue_declare("ping")
    ch.queue_declare("pong")
    seen = []

    def relay(channel, deliver, properties, body):
        seen.append(body)
        if body == b"ping":
            channel.basic_publish("", "pong", b"pong")

    ch.basic_consume("ping", relay, auto_ack=True)
    ch.basic_consume("pong", relay, auto_ack=True)
    ch.basic_publish("", "ping", b"ping")
    assert broker.run_until_idle() == 2
    assert seen == [b"ping", b"pong"]
