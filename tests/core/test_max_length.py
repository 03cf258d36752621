"""Length limits: x-max-length, x-max-length-bytes, and the overflow modes drop-head, reject-publish and
reject-publish-dlx (with publisher-confirm nacks)."""

from __future__ import annotations

import pytest

from memq import events as ev

from .support import Inbox, drain, publish


def _confirms(channel):
    """Put `channel` in confirm mode; returns the list of (ack, delivery_tag) it will be told."""
    seen: list[tuple[bool, int]] = []
    channel.confirm_delivery()
    channel.add_on_confirm_callback(lambda ch, ack, tag, multiple: seen.append((ack, tag)))
    return seen


def test_max_length_drop_head_keeps_newest(ch, broker):
    """x-max-length 2: publishing 5 keeps the last 2; the others are dropped from the head."""
    ch.queue_declare("q", arguments={"x-max-length": 2})
    publish(ch, "", "q", *"12345")
    assert drain(ch, "q") == [b"4", b"5"]
    assert [e.message for e in broker.trace.of_type(ev.Dropped) if e.reason == "maxlen"] == [1, 2, 3]


def test_max_length_counts_ready_messages_only(ch):
    """Unacked messages do not count toward x-max-length."""
    ch.queue_declare("q", arguments={"x-max-length": 1})
    publish(ch, "", "q", "1")
    held = ch.basic_get("q")
    publish(ch, "", "q", "2")
    assert ch.queue_declare("q", passive=True).message_count == 1
    ch.basic_ack(held.delivery_tag)
    assert drain(ch, "q") == [b"2"]


def test_max_length_drop_head_is_confirmed_ack(ch):
    """With drop-head every publish is confirmed with an ack, even one that pushes another out."""
    seen = _confirms(ch)
    ch.queue_declare("q", arguments={"x-max-length": 1})
    publish(ch, "", "q", "1", "2")
    assert seen == [(True, 1), (True, 2)]


def test_max_length_zero_drops_every_message_without_consumer(ch):
    """x-max-length 0 and no consumer: nothing is kept."""
    ch.queue_declare("q", arguments={"x-max-length": 0})
    publish(ch, "", "q", "1", "2")
    assert drain(ch, "q") == []


@pytest.mark.parametrize("max_length", [0, 1])
def test_max_length_spares_messages_a_consumer_takes_at_once(ch, broker, inbox, max_length):
    """A consumer with room gets every message: only messages left waiting count against x-max-length."""
    ch.queue_declare("q", arguments={"x-max-length": max_length})
    ch.basic_consume("q", inbox)
    publish(ch, "", "q", *"12345")
    broker.run_until_idle()
    assert inbox.bodies == [b"1", b"2", b"3", b"4", b"5"]


def test_max_length_with_prefetch_drops_beyond_consumer_room(ch, broker, inbox):
    """x-max-length 1 with a prefetch-2 consumer: it gets 1 and 2, the newest waits, the rest are dropped."""
    ch.basic_qos(prefetch_count=2)
    ch.queue_declare("q", arguments={"x-max-length": 1})
    ch.basic_consume("q", inbox)
    publish(ch, "", "q", *"12345")
    broker.run_until_idle()
    assert inbox.bodies == [b"1", b"2"]
    assert [(e.message, e.reason) for e in broker.trace.of_type(ev.Dropped)] == [(3, "maxlen"), (4, "maxlen")]
    assert ch.queue_declare("q", passive=True).message_count == 1


def test_max_length_requeue_over_limit_drops_head(ch):
    """A requeue that takes the queue over x-max-length drops the head, the requeued message."""
    ch.queue_declare("q", arguments={"x-max-length": 1})
    publish(ch, "", "q", "1")
    held = ch.basic_get("q")
    publish(ch, "", "q", "2")
    ch.basic_nack(held.delivery_tag, requeue=True)
    assert drain(ch, "q") == [b"2"]


# --- x-max-length-bytes ----------------------------------------------------------------------


def test_max_length_bytes_counts_body_sizes(ch):
    """x-max-length-bytes 10: bodies of 4, 4 and 4 bytes keep the last two (8 bytes)."""
    ch.queue_declare("q", arguments={"x-max-length-bytes": 10})
    publish(ch, "", "q", "aaaa", "bbbb", "cccc")
    assert drain(ch, "q") == [b"bbbb", b"cccc"]


def test_max_length_bytes_drops_until_new_message_fits(ch):
    """A large message pushes out as many older ones as needed."""
    ch.queue_declare("q", arguments={"x-max-length-bytes": 10})
    publish(ch, "", "q", "aaa", "bbb", "cccccccc")
    assert drain(ch, "q") == [b"cccccccc"]


def test_max_length_bytes_larger_message_than_limit_is_dropped(ch):
    """A message larger than x-max-length-bytes does not stay in the queue."""
    ch.queue_declare("q", arguments={"x-max-length-bytes": 3})
    publish(ch, "", "q", "abcd")
    assert drain(ch, "q") == []


def test_max_length_and_bytes_both_apply(ch):
    """With both limits, whichever is exceeded first drops messages."""
    ch.queue_declare("q", arguments={"x-max-length": 3, "x-max-length-bytes": 5})
    publish(ch, "", "q", "a", "b", "c", "d")
    assert drain(ch, "q") == [b"b", b"c", b"d"]
    publish(ch, "", "q", "aa", "bb", "cc")
    assert drain(ch, "q") == [b"bb", b"cc"]


# --- reject-publish ---------------------------------------------------------------------------


def test_reject_publish_refuses_new_message_with_nack(ch):
    """reject-publish keeps the old messages and nacks the new one."""
    seen = _confirms(ch)
    ch.queue_declare("q", arguments={"x-max-length": 2, "x-overflow": "reject-publish"})
    publish(ch, "", "q", "1", "2", "3")
    assert seen == [(True, 1), (True, 2), (False, 3)]
    assert drain(ch, "q") == [b"1", b"2"]


def test_reject_publish_accepts_again_after_room_frees(ch):
    """After a message is consumed, reject-publish accepts the next publish."""
    seen = _confirms(ch)
    ch.queue_declare("q", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    publish(ch, "", "q", "1", "2")
    ch.basic_get("q", auto_ack=True)
    publish(ch, "", "q", "3")
    assert [ack for ack, _ in seen] == [True, False, True]


def test_reject_publish_without_confirms_drops_silently(ch, broker):
    """Without confirm mode a refused message just disappears; the channel stays open."""
    ch.queue_declare("q", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    publish(ch, "", "q", "1", "2")
    assert ch.is_open and drain(ch, "q") == [b"1"]


def test_reject_publish_is_not_a_return(ch):
    """A mandatory message refused by reject-publish is nacked, not returned."""
    returned = []
    ch.add_on_return_callback(lambda channel, r: returned.append(r))
    seen = _confirms(ch)
    ch.queue_declare("q", arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
    ch.basic_publish("", "q", b"m", mandatory=True)
    assert returned == [] and seen == [(False, 1)]


def test_reject_publish_max_length_zero_refuses_even_with_consumer(ch, broker, inbox):
    """x-max-length 0 with reject-publish refuses every message, even with a consumer waiting."""
    seen = _confirms(ch)
    ch.queue_declare("q", arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
    ch.basic_consume("q", inbox)
    publish(ch, "", "q", "1", "2")
    broker.run_until_idle()
    assert inbox.bodies == [] and [ack for ack, _ in seen] == [False, False]


def test_reject_publish_with_consumer_room_counts_only_waiting(ch, broker):
    """x-max-length 1, reject-publish, a prefetch-2 consumer: 1, 2 delivered, 3 waits, 4 and 5 nacked."""
    seen = _confirms(ch)
    consumer = ch.connection.channel()
    consumer.basic_qos(prefetch_count=2)
    ch.queue_declare("q", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    inbox = Inbox()
    consumer.basic_consume("q", inbox)
    publish(ch, "", "q", *"12345")
    broker.run_until_idle()
    assert inbox.bodies == [b"1", b"2"]
    assert [ack for ack, _ in seen] == [True, True, True, False, False]


def test_reject_publish_refuses_only_full_queue_of_several(ch):
    """A message routed to a full and a free queue is enqueued in the free one and nacked."""
    seen = _confirms(ch)
    ch.exchange_declare("f", "fanout")
    ch.queue_declare("full", arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
    ch.queue_declare("free")
    ch.queue_bind("full", "f")
    ch.queue_bind("free", "f")
    publish(ch, "f", "", "m")
    assert seen == [(False, 1)] and drain(ch, "free") == [b"m"]


# --- reject-publish-dlx -----------------------------------------------------------------------


def test_reject_publish_dlx_dead_letters_refused_message(ch):
    """reject-publish-dlx nacks the new message and dead-letters it with reason maxlen."""
    seen = _confirms(ch)
    ch.exchange_declare("dlx", "fanout")
    ch.queue_declare("dlq")
    ch.queue_bind("dlq", "dlx")
    ch.queue_declare("q", arguments={"x-max-length": 1, "x-overflow": "reject-publish-dlx",
                                     "x-dead-letter-exchange": "dlx"})
    publish(ch, "", "q", "1", "2")
    assert seen == [(True, 1), (False, 2)]
    assert drain(ch, "q") == [b"1"]
    dead = ch.basic_get("dlq", auto_ack=True)
    assert dead.body == b"2" and dead.properties.headers["x-death"][0]["reason"] == "maxlen"


def test_drop_head_with_dlx_dead_letters_oldest(ch):
    """drop-head with a dead-letter exchange dead-letters the pushed-out head."""
    ch.exchange_declare("dlx", "fanout")
    ch.queue_declare("dlq")
    ch.queue_bind("dlq", "dlx")
    ch.queue_declare("q", arguments={"x-max-length": 1, "x-dead-letter-exchange": "dlx"})
    publish(ch, "", "q", "1", "2", "3")
    assert (drain(ch, "q"), drain(ch, "dlq")) == ([b"3"], [b"1", b"2"])
