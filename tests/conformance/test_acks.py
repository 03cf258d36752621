"""Acknowledgements: delivery tags, ack/nack/reject (multiple, unknown tags), requeue order, recover."""

import pytest

from .support import (
    Got,
    assert_channel_is_closed,
    channel_closed,
    get,
    get_all,
    publish,
    ready_count,
    roundtrip,
    server_queue,
)


def unknown_tag(tag: int) -> str:
    return f"PRECONDITION_FAILED - unknown delivery tag {tag}"


def queue_with(channel, *body_list: str) -> str:
    queue = server_queue(channel)
    publish(channel, "", queue, *body_list)
    return queue


def take(channel, queue: str, count: int) -> list[int]:
    """basic_get `count` messages without acking them; returns their delivery tags."""
    return [get(channel, queue).delivery_tag for _ in range(count)]


def replay(channel, queue: str) -> list[tuple[str, bool]]:
    """Takes every ready message (acking it); returns (body, redelivered) pairs in order."""
    return [(one.body, one.redelivered) for one in get_all(channel, queue)]


def test_delivery_tags_count_from_one_per_channel(amqp):
    """Each channel numbers its deliveries 1, 2, ... independently of the others."""
    connection = amqp.connect()
    first, second = amqp.channel(connection), amqp.channel(connection)
    queue = queue_with(first, "1", "2", "3", "4")
    tags = [get(ch, queue).delivery_tag for ch in (first, second, first, second)]
    assert tags == [1, 1, 2, 2]


def test_basic_get_reports_remaining_message_count(amqp):
    """GetOk.message_count is the number of ready messages left after the one returned."""
    channel = amqp.channel()
    queue = queue_with(channel, "1", "2", "3")
    assert get_all(channel, queue, auto_ack=False) == [
        Got("1", 1, False, 2), Got("2", 2, False, 1), Got("3", 3, False, 0)]


def test_basic_get_on_empty_queue_returns_none(amqp):
    """basic_get on an empty queue returns (None, None, None)."""
    channel = amqp.channel()
    assert channel.basic_get(server_queue(channel)) == (None, None, None)


def test_ack_removes_message(amqp):
    """An acked message is gone; an unacked one is not counted as ready."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = queue_with(channel, "1", "2")
    first, _second = take(channel, queue, 2)
    channel.basic_ack(first)
    assert ready_count(channel, queue) == 0
    channel.close()
    assert ready_count(amqp.channel(connection), queue) == 1


def test_ack_multiple_acks_up_to_tag(amqp):
    """basic_ack(tag, multiple=True) acks every outstanding tag up to and including it."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = queue_with(channel, "1", "2", "3")
    take(channel, queue, 3)
    channel.basic_ack(2, multiple=True)
    channel.close()
    assert replay(amqp.channel(connection), queue) == [("3", True)]


def test_ack_multiple_skips_already_acked_tags(amqp):
    """ack(2) then ack(3, multiple=True) acks 1 and 3 without error."""
    channel = amqp.channel()
    queue = queue_with(channel, "1", "2", "3")
    take(channel, queue, 3)
    channel.basic_ack(2)
    channel.basic_ack(3, multiple=True)
    roundtrip(channel)
    assert ready_count(channel, queue) == 0


def test_ack_zero_multiple_with_nothing_outstanding_is_ok(amqp):
    """basic_ack(0, multiple=True) with no outstanding deliveries is accepted."""
    channel = amqp.channel()
    channel.basic_ack(0, multiple=True)
    roundtrip(channel)


def test_ack_of_unknown_tag_fails_at_next_call(amqp):
    """An ack of an unknown tag returns; the next call raises 406, later calls ChannelWrongStateError."""
    channel = amqp.channel()
    queue = queue_with(channel, "1")
    take(channel, queue, 1)
    channel.basic_ack(5)
    with channel_closed(406, unknown_tag(5)):
        roundtrip(channel)
    assert_channel_is_closed(channel)


def test_ack_of_unknown_tag_leaves_other_channels_open(amqp):
    """A 406 from a bad ack closes only that channel; the connection's other channels keep working."""
    connection = amqp.connect()
    failing, other = amqp.channel(connection), amqp.channel(connection)
    queue = queue_with(other, "1")
    failing.basic_ack(1)
    with channel_closed(406, unknown_tag(1)):
        roundtrip(failing)
    assert connection.is_open
    assert get(other, queue, auto_ack=True).body == "1"


UNKNOWN_TAG_CASES = {
    "ack": (lambda ch: ch.basic_ack(5), 5),
    "nack": (lambda ch: ch.basic_nack(5), 5),
    "nack_no_requeue": (lambda ch: ch.basic_nack(5, requeue=False), 5),
    "reject": (lambda ch: ch.basic_reject(5), 5),
    "ack_multiple": (lambda ch: ch.basic_ack(5, multiple=True), 5),
    "nack_multiple": (lambda ch: ch.basic_nack(7, multiple=True), 7),
    "ack_zero": (lambda ch: ch.basic_ack(0), 0),
    "nack_zero": (lambda ch: ch.basic_nack(0), 0),
    "reject_zero": (lambda ch: ch.basic_reject(0), 0),
    "double_ack": (lambda ch: (ch.basic_ack(1), ch.basic_ack(1)), 1),
    "ack_after_multiple": (lambda ch: (ch.basic_ack(2, multiple=True), ch.basic_ack(1)), 1),
}


@pytest.mark.parametrize("case", list(UNKNOWN_TAG_CASES))
def test_settling_unknown_tag_is_precondition_failed(amqp, case):
    """Acking, nacking or rejecting a tag that is not outstanding closes the channel with 406 unknown delivery tag."""
    call, tag = UNKNOWN_TAG_CASES[case]
    channel = amqp.channel()
    queue = queue_with(channel, "1", "2")
    take(channel, queue, 2)
    call(channel)
    with channel_closed(406, unknown_tag(tag)):
        roundtrip(channel)


def test_failed_multiple_ack_settles_nothing(amqp):
    """basic_ack(unknown, multiple=True) fails without acking the outstanding messages, which are requeued."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = queue_with(channel, "1", "2")
    take(channel, queue, 2)
    channel.basic_ack(5, multiple=True)
    with channel_closed(406, unknown_tag(5)):
        roundtrip(channel)
    assert replay(amqp.channel(connection), queue) == [("1", True), ("2", True)]


def test_ack_after_queue_deleted_is_ok(amqp):
    """Acking a message whose queue was deleted meanwhile is accepted."""
    channel = amqp.channel()
    queue = queue_with(channel, "1")
    (tag,) = take(channel, queue, 1)
    channel.queue_delete(queue)
    channel.basic_ack(tag)
    roundtrip(channel)


def test_nack_with_requeue_returns_message_to_its_position(amqp):
    """A nacked message goes back ahead of later ones, with redelivered=True and a new tag."""
    channel = amqp.channel()
    queue = queue_with(channel, "1", "2", "3")
    take(channel, queue, 3)
    channel.basic_nack(2, requeue=True)
    assert get_all(channel, queue) == [Got("2", 4, True, 0)]


def test_requeued_messages_keep_original_order(amqp):
    """reject(2) and nack(3) with 4 and 5 still ready give 2, 3, 4, 5, only the first two redelivered."""
    channel = amqp.channel()
    queue = queue_with(channel, "1", "2", "3", "4", "5")
    take(channel, queue, 3)
    channel.basic_reject(2)
    channel.basic_nack(3)
    assert replay(channel, queue) == [("2", True), ("3", True), ("4", False), ("5", False)]


def test_requeue_in_reverse_order_restores_original_order(amqp):
    """reject(3) then reject(1) give 1, 3, 4, 5: position is the original one, not the requeue order."""
    channel = amqp.channel()
    queue = queue_with(channel, "1", "2", "3", "4", "5")
    take(channel, queue, 3)
    channel.basic_reject(3)
    channel.basic_reject(1)
    assert replay(channel, queue) == [("1", True), ("3", True), ("4", False), ("5", False)]


def test_nack_or_reject_without_requeue_drops_message(amqp):
    """nack/reject with requeue=False discard the message."""
    channel = amqp.channel()
    queue = queue_with(channel, "1", "2", "3")
    take(channel, queue, 2)
    channel.basic_nack(1, requeue=False)
    channel.basic_reject(2, requeue=False)
    assert replay(channel, queue) == [("3", False)]


def test_nack_multiple_requeues_up_to_tag(amqp):
    """nack(3, multiple=True) requeues 1, 2, 3 ahead of 4."""
    channel = amqp.channel()
    queue = queue_with(channel, "1", "2", "3", "4")
    take(channel, queue, 3)
    channel.basic_nack(3, multiple=True)
    assert replay(channel, queue) == [("1", True), ("2", True), ("3", True), ("4", False)]


def test_nack_zero_multiple_requeues_everything_outstanding(amqp):
    """nack(0, multiple=True) requeues every outstanding delivery of the channel."""
    channel = amqp.channel()
    queue = queue_with(channel, "1", "2", "3")
    take(channel, queue, 2)
    channel.basic_nack(0, multiple=True)
    assert replay(channel, queue) == [("1", True), ("2", True), ("3", False)]


def test_channel_close_requeues_unacked_in_order(amqp):
    """Closing a channel requeues its unacked messages at their original positions."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = queue_with(channel, "1", "2", "3", "4")
    take(channel, queue, 3)
    channel.basic_ack(2)
    channel.close()
    assert replay(amqp.channel(connection), queue) == [("1", True), ("3", True), ("4", False)]


def test_connection_close_requeues_unacked(amqp):
    """Closing a connection requeues the unacked messages of its channels."""
    observer = amqp.channel()
    name = amqp.unique("q")
    observer.queue_declare(name, auto_delete=False)
    publish(observer, "", name, "1", "2", "3")
    connection = amqp.connect()
    take(amqp.channel(connection), name, 2)
    connection.close()
    assert replay(observer, name) == [("1", True), ("2", True), ("3", False)]


def test_recover_requeues_unacked_with_redelivered(amqp):
    """basic_recover(requeue=True) puts every unacked message back, in order, redelivered."""
    channel = amqp.channel()
    queue = queue_with(channel, "1", "2", "3")
    take(channel, queue, 2)
    channel.basic_recover(requeue=True)
    assert get_all(channel, queue) == [Got("1", 3, True, 2), Got("2", 4, True, 1), Got("3", 5, False, 0)]


def test_auto_ack_get_needs_no_ack(amqp):
    """A message fetched with auto_ack is settled: closing the channel does not bring it back."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = queue_with(channel, "1")
    assert get(channel, queue, auto_ack=True) == Got("1", 1, False, 0)
    channel.close()
    assert ready_count(amqp.channel(connection), queue) == 0
