"""Priority queues (x-max-priority): delivery order, capping, requeue, interaction with TTL and limits."""

from __future__ import annotations

from memq import Properties

from .support import drain


def _publish(ch, queue, *pairs):
    for body, priority in pairs:
        ch.basic_publish("", queue, body.encode(), Properties(priority=priority))


def test_higher_priority_message_is_delivered_first(ch):
    """With x-max-priority, messages come out highest priority first, FIFO within a priority."""
    ch.queue_declare("q", arguments={"x-max-priority": 5})
    _publish(ch, "q", ("a0", 0), ("b3", 3), ("c5", 5), ("d3", 3), ("e0", 0))
    assert drain(ch, "q") == [b"c5", b"b3", b"d3", b"a0", b"e0"]


def test_priority_above_max_counts_as_max(ch):
    """A priority above x-max-priority is treated as the maximum; no priority is 0."""
    ch.queue_declare("q", arguments={"x-max-priority": 2})
    _publish(ch, "q", ("p0", 0), ("p9", 9), ("p2", 2), ("none", None), ("p1", 1))
    assert drain(ch, "q") == [b"p9", b"p2", b"p1", b"p0", b"none"]


def test_priority_is_ignored_without_max_priority(ch):
    """A queue without x-max-priority delivers in publish order whatever the priorities."""
    ch.queue_declare("q")
    _publish(ch, "q", ("a", 1), ("b", 9), ("c", 5))
    assert drain(ch, "q") == [b"a", b"b", b"c"]


def test_max_priority_zero_is_a_plain_queue(ch):
    """x-max-priority 0 keeps publish order."""
    ch.queue_declare("q", arguments={"x-max-priority": 0})
    _publish(ch, "q", ("a", 0), ("b", 5))
    assert drain(ch, "q") == [b"a", b"b"]


def test_priority_is_kept_in_properties(ch):
    """The priority property is delivered as published, even above the queue's maximum."""
    ch.queue_declare("q", arguments={"x-max-priority": 2})
    _publish(ch, "q", ("m", 7))
    assert ch.basic_get("q", auto_ack=True).properties.priority == 7


def test_requeue_returns_to_place_within_its_priority(ch):
    """Requeued messages go back to their place within their priority, behind higher priorities."""
    ch.queue_declare("q", arguments={"x-max-priority": 5})
    _publish(ch, "q", ("a1", 1), ("b1", 1), ("c5", 5))
    first, second = ch.basic_get("q"), ch.basic_get("q")
    assert (first.body, second.body) == (b"c5", b"a1")
    ch.basic_nack(first.delivery_tag, requeue=True)
    ch.basic_nack(second.delivery_tag, requeue=True)
    assert drain(ch, "q") == [b"c5", b"a1", b"b1"]


def test_consumer_gets_backlog_in_priority_order(ch, broker, inbox):
    """A consumer subscribing to a backlog gets it highest priority first."""
    ch.queue_declare("q", arguments={"x-max-priority": 9})
    _publish(ch, "q", ("low", 1), ("high", 9), ("mid", 5))
    ch.basic_consume("q", inbox)
    broker.run_until_idle()
    assert inbox.bodies == [b"high", b"mid", b"low"]


def test_prefetch_one_consumer_sees_later_high_priority_first(ch, broker):
    """With prefetch 1, a high-priority message published while the consumer is busy goes ahead of the backlog."""
    ch.basic_qos(prefetch_count=1)
    ch.queue_declare("q", arguments={"x-max-priority": 9})
    seen = []

    def work(channel, deliver, properties, body):
        seen.append(body)
        if body == b"first":
            _publish(channel, "q", ("urgent", 9))
        channel.basic_ack(deliver.delivery_tag)

    _publish(ch, "q", ("first", 1), ("second", 1), ("third", 1))
    ch.basic_consume("q", work)
    broker.run_until_idle()
    assert seen == [b"first", b"urgent", b"second", b"third"]


def test_message_count_counts_all_priorities(ch):
    """DeclareOk and GetOk counts add up every priority level."""
    ch.queue_declare("q", arguments={"x-max-priority": 3})
    _publish(ch, "q", ("a", 0), ("b", 3), ("c", 1))
    assert ch.queue_declare("q", passive=True).message_count == 3
    assert ch.basic_get("q", auto_ack=True).message_count == 2


def test_expired_low_priority_message_waits_behind_high_priority(ch, broker):
    """Message TTL applies at the head: an expired low-priority message stays counted behind a live high one."""
    ch.queue_declare("q", arguments={"x-max-priority": 5})
    ch.basic_publish("", "q", b"low", Properties(priority=0, expiration="100"))
    ch.basic_publish("", "q", b"high", Properties(priority=5))
    broker.clock.advance(0.5)
    assert ch.queue_declare("q", passive=True).message_count == 2
    assert drain(ch, "q") == [b"high"]


def test_max_length_drops_highest_priority_head(ch):
    """drop-head on a priority queue drops the message that would be delivered first."""
    ch.queue_declare("q", arguments={"x-max-priority": 5, "x-max-length": 2})
    _publish(ch, "q", ("low", 0), ("high", 5), ("mid", 3))
    assert drain(ch, "q") == [b"mid", b"low"]
