"""Acknowledgements: ack, nack, reject, multiple, unknown tags, requeue order, closes, recover."""

from __future__ import annotations

import pytest

from memq import errors
from memq import events as ev

from .support import publish


def _ready(channel, queue):
    """(body, redelivered) of every ready message of `queue`, taken with auto-ack."""
    out = []
    while (got := channel.basic_get(queue, auto_ack=True)) is not None:
        out.append((got.body.decode(), got.redelivered))
    return out


def _got(channel, queue, count):
    return [channel.basic_get(queue) for _ in range(count)]


@pytest.fixture
def five(ch):
    """Queue q holding messages 1..5."""
    ch.queue_declare("q")
    publish(ch, "", "q", *"12345")
    return ch


# --- acks ------------------------------------------------------------------------------------


def test_ack_settles_the_message(five):
    """An acked message is gone: not ready, not unacked."""
    got = five.basic_get("q")
    five.basic_ack(got.delivery_tag)
    five.close()
    ch = five.connection.channel()
    assert [b for b, _ in _ready(ch, "q")] == ["2", "3", "4", "5"]


def test_ack_multiple_settles_up_to_tag(five):
    """ack(multiple=True) settles every outstanding tag up to and including the one given."""
    _got(five, "q", 4)
    five.basic_ack(3, multiple=True)
    assert list(five.unacked) == [4]


def test_ack_then_multiple_skips_already_acked(five):
    """ack(2) then ack(3, multiple=True) with 1 outstanding acks 1 and 3."""
    _got(five, "q", 3)
    five.basic_ack(2)
    five.basic_ack(3, multiple=True)
    assert five.unacked == {}


def test_ack_zero_multiple_with_nothing_outstanding_is_accepted(ch):
    """ack(0, multiple=True) with nothing outstanding is not an error."""
    ch.basic_ack(0, multiple=True)
    assert ch.is_open


def test_ack_zero_multiple_acks_everything(five):
    """ack(0, multiple=True) acks every outstanding delivery of the channel."""
    _got(five, "q", 3)
    five.basic_ack(0, multiple=True)
    assert five.unacked == {}


@pytest.mark.parametrize(
    ("call", "args", "tag"),
    [
        ("basic_ack", (5,), 5),
        ("basic_nack", (5,), 5),
        ("basic_nack", (5, False, False), 5),
        ("basic_reject", (5,), 5),
        ("basic_ack", (0,), 0),
        ("basic_nack", (0,), 0),
        ("basic_reject", (0,), 0),
        ("basic_nack", (7, True), 7),
    ],
)
def test_unknown_delivery_tag_is_406_and_closes_channel(conn, five, call, args, tag):
    """Settling a tag the channel never gave (or 0 without multiple) is 406 and closes the channel only."""
    other = conn.channel()
    with pytest.raises(errors.PreconditionFailed) as caught:
        getattr(five, call)(*args)
    assert caught.value.reply_text == f"PRECONDITION_FAILED - unknown delivery tag {tag}"
    assert not five.is_open and other.is_open and conn.is_open


def test_double_ack_is_406(five):
    """Acking the same tag twice is 406 unknown delivery tag."""
    got = five.basic_get("q")
    five.basic_ack(got.delivery_tag)
    with pytest.raises(errors.PreconditionFailed) as caught:
        five.basic_ack(got.delivery_tag)
    assert caught.value.reply_text == "PRECONDITION_FAILED - unknown delivery tag 1"


def test_ack_below_multiple_ack_is_406(five):
    """ack(2, multiple=True) then ack(1) is 406: tag 1 was settled by the multiple ack."""
    _got(five, "q", 2)
    five.basic_ack(2, multiple=True)
    with pytest.raises(errors.PreconditionFailed):
        five.basic_ack(1)


def test_unknown_tag_in_multiple_ack_acks_nothing(conn, five):
    """ack(5, multiple=True) with 1 and 2 outstanding acks nothing: the close requeues both."""
    _got(five, "q", 2)
    with pytest.raises(errors.PreconditionFailed):
        five.basic_ack(5, multiple=True)
    assert _ready(conn.channel(), "q") == [("1", True), ("2", True), ("3", False), ("4", False), ("5", False)]


def test_ack_after_purge_or_delete_is_accepted(five):
    """Acking a delivery whose queue was purged or deleted is not an error."""
    first, second = _got(five, "q", 2)
    five.queue_purge("q")
    five.basic_ack(first.delivery_tag)
    five.queue_delete("q")
    five.basic_ack(second.delivery_tag)
    assert five.is_open


def test_settle_on_closed_channel_raises_channel_closed(five):
    """Ack, nack and reject on a closed channel raise ChannelClosed."""
    got = five.basic_get("q")
    five.close()
    for call in (five.basic_ack, five.basic_nack, five.basic_reject):
        with pytest.raises(errors.ChannelClosed):
            call(got.delivery_tag)


# --- requeue order ---------------------------------------------------------------------------


def test_reject_and_nack_requeue_to_original_position(five):
    """1-3 got, reject(2), nack(3): the queue reads 2, 3, 4, 5 with 2 and 3 redelivered."""
    _got(five, "q", 3)
    five.basic_reject(2)
    five.basic_nack(3)
    five.basic_ack(1)
    assert _ready(five, "q") == [("2", True), ("3", True), ("4", False), ("5", False)]


def test_requeue_out_of_order_keeps_original_order(five):
    """reject(3) then reject(1): the queue reads 1, 3, 4, 5."""
    _got(five, "q", 3)
    five.basic_reject(3)
    five.basic_reject(1)
    five.basic_ack(2)
    assert _ready(five, "q") == [("1", True), ("3", True), ("4", False), ("5", False)]


def test_nack_multiple_requeues_in_order(five):
    """nack(3, multiple=True) of 1-3 with 4, 5 ready: the queue reads 1, 2, 3, 4, 5."""
    _got(five, "q", 3)
    five.basic_nack(3, multiple=True)
    assert [b for b, _ in _ready(five, "q")] == ["1", "2", "3", "4", "5"]


def test_nack_zero_multiple_requeues_all(five):
    """nack(0, multiple=True) requeues every outstanding delivery of the channel."""
    _got(five, "q", 5)
    five.basic_nack(0, multiple=True)
    assert _ready(five, "q") == [(b, True) for b in "12345"]


def test_reject_without_requeue_drops_message(five, broker):
    """reject(requeue=False) with no dead-letter exchange discards the message."""
    got = five.basic_get("q")
    five.basic_reject(got.delivery_tag, requeue=False)
    assert [b for b, _ in _ready(five, "q")] == ["2", "3", "4", "5"]
    assert [(e.message, e.requeue) for e in broker.trace.of_type(ev.Rejected)] == [(1, False)]


def test_channel_close_requeues_unacked_in_order(conn, five):
    """A channel holding 1 and 3 (2 acked) closes with 4 ready: the queue reads 1, 3, 4, 5."""
    _got(five, "q", 3)
    five.basic_ack(2)
    five.close()
    assert _ready(conn.channel(), "q") == [("1", True), ("3", True), ("4", False), ("5", False)]


def test_connection_close_requeues_only_what_it_held(broker):
    """A connection holding 1, 2 closes with 3 ready: the queue reads 1, 2, 3, only 1, 2 redelivered."""
    holder = broker.connect()
    ch = holder.channel()
    ch.queue_declare("q")
    publish(ch, "", "q", "1", "2", "3")
    _got(ch, "q", 2)
    holder.close()
    assert _ready(broker.connect().channel(), "q") == [("1", True), ("2", True), ("3", False)]


def test_requeued_message_goes_to_next_consumer_redelivered(ch, broker):
    """A message a consumer nacks with requeue is delivered again, marked redelivered."""
    ch.queue_declare("q")
    seen = []

    def once(channel, deliver, properties, body):
        seen.append((body, deliver.redelivered))
        if deliver.redelivered:
            channel.basic_ack(deliver.delivery_tag)
        else:
            channel.basic_nack(deliver.delivery_tag)

    ch.basic_consume("q", once)
    publish(ch, "", "q", "m")
    broker.run_until_idle()
    assert seen == [(b"m", False), (b"m", True)]


# --- cancel, recover -------------------------------------------------------------------------


def test_basic_cancel_keeps_unacked_with_channel(ch, broker, inbox):
    """Cancelling a consumer leaves its unacked messages unacked on the channel; they can still be acked."""
    ch.queue_declare("q")
    tag = ch.basic_consume("q", inbox)
    publish(ch, "", "q", "1", "2")
    broker.run_until_idle()
    ch.basic_cancel(tag)
    assert list(ch.unacked) == [1, 2] and ch.queue_declare("q", passive=True).message_count == 0
    ch.basic_ack(2, multiple=True)


def test_recover_redelivers_to_same_consumer_with_new_tags(ch, broker, inbox):
    """basic_recover(requeue=True) redelivers the channel's unacked messages, new tags, redelivered."""
    ch.queue_declare("q")
    ch.basic_consume("q", inbox)
    publish(ch, "", "q", "1", "2")
    broker.run_until_idle()
    ch.basic_recover(requeue=True)
    broker.run_until_idle()
    assert [(d.delivery_tag, d.redelivered) for d in inbox.delivers] == [(1, False), (2, False), (3, True), (4, True)]
    assert inbox.bodies == [b"1", b"2", b"1", b"2"]
    ch.basic_ack(0, multiple=True)


def test_recover_without_requeue_closes_connection_with_540(conn, ch):
    """basic_recover(requeue=False) is a hard 540 NOT_IMPLEMENTED."""
    with pytest.raises(errors.NotImplementedAMQP) as caught:
        ch.basic_recover(requeue=False)
    assert caught.value.reply_text == "NOT_IMPLEMENTED - requeue=false" and not conn.is_open


def test_flow_inactive_closes_connection_with_540(conn, ch):
    """channel.flow(False) is a hard 540; flow(True) returns True."""
    assert ch.flow(True) is True
    with pytest.raises(errors.NotImplementedAMQP) as caught:
        ch.flow(False)
    assert caught.value.reply_text == "NOT_IMPLEMENTED - active=false" and not conn.is_open


def test_ack_inside_callback_frees_prefetch_in_same_run(ch, broker):
    """A consumer with prefetch 1 that acks inside its callback gets every message in one run."""
    ch.basic_qos(prefetch_count=1)
    ch.queue_declare("q")
    seen = []

    def ack(channel, deliver, properties, body):
        seen.append(body)
        channel.basic_ack(deliver.delivery_tag)

    ch.basic_consume("q", ack)
    publish(ch, "", "q", *"123")
    assert broker.run_until_idle() == 3 and seen == [b"1", b"2", b"3"]


def test_messages_of_two_queues_requeue_each_to_its_own(ch):
    """nack(0, multiple=True) over deliveries from two queues puts each back in its own queue."""
    ch.queue_declare("a")
    ch.queue_declare("b")
    publish(ch, "", "a", "a1")
    publish(ch, "", "b", "b1")
    ch.basic_get("a")
    ch.basic_get("b")
    ch.basic_nack(0, multiple=True)
    assert (_ready(ch, "a"), _ready(ch, "b")) == ([("a1", True)], [("b1", True)])


