"""Publisher confirms, mandatory returns (312 NO_ROUTE) and transactions."""

from __future__ import annotations

import pytest

import memq
from memq import Properties, errors

from .support import drain, publish


def _record(channel):
    """Record confirms and returns of `channel`, in the order they are called."""
    calls: list[tuple] = []
    channel.add_on_confirm_callback(lambda ch, ack, tag, multiple: calls.append(("confirm", ack, tag, multiple)))
    channel.add_on_return_callback(lambda ch, returned: calls.append(("return", returned)))
    return calls


# --- confirms --------------------------------------------------------------------------------


def test_confirms_number_publishes_from_one(ch):
    """In confirm mode each publish is acked inside basic_publish, tags counting from 1, multiple False."""
    calls = _record(ch)
    ch.confirm_delivery()
    ch.queue_declare("q")
    publish(ch, "", "q", "1")
    assert calls == [("confirm", True, 1, False)]
    publish(ch, "", "q", "2")
    assert calls[-1] == ("confirm", True, 2, False)


def test_confirms_count_per_channel(conn):
    """Each confirm-mode channel numbers its publishes independently."""
    one, two = conn.channel(), conn.channel()
    calls_one, calls_two = _record(one), _record(two)
    one.confirm_delivery()
    two.confirm_delivery()
    publish(one, "", "nowhere", "a", "b")
    publish(two, "", "nowhere", "c")
    assert [c[2] for c in calls_one] == [1, 2] and [c[2] for c in calls_two] == [1]


def test_publishes_before_confirm_mode_are_not_counted(ch):
    """Confirm tags start at 1 with the first publish after confirm_delivery()."""
    calls = _record(ch)
    publish(ch, "", "nowhere", "before")
    ch.confirm_delivery()
    publish(ch, "", "nowhere", "after")
    assert calls == [("confirm", True, 1, False)]


def test_unroutable_message_is_confirmed_with_ack(ch):
    """An unroutable, non-mandatory message is still acked."""
    calls = _record(ch)
    ch.confirm_delivery()
    publish(ch, "", "nowhere", "m")
    assert calls == [("confirm", True, 1, False)]


def test_confirm_delivery_on_transactional_channel_is_406(ch):
    """confirm_delivery() after tx_select() is 406."""
    ch.tx_select()
    with pytest.raises(errors.PreconditionFailed) as caught:
        ch.confirm_delivery()
    assert caught.value.reply_text == "PRECONDITION_FAILED - cannot switch from tx to confirm mode"


def test_confirm_delivery_twice_is_accepted(ch):
    """Selecting confirm mode twice is harmless."""
    ch.confirm_delivery()
    ch.confirm_delivery()
    assert ch.is_open


def test_confirm_mode_publish_to_missing_exchange_raises_in_publish(conn, ch):
    """In confirm mode a publish to a missing exchange raises 404 from basic_publish; nothing is confirmed."""
    calls = _record(ch)
    ch.confirm_delivery()
    with pytest.raises(errors.NotFound):
        ch.basic_publish("nope", "k", b"m")
    assert calls == [] and not ch.is_open and conn.is_open


# --- returns ---------------------------------------------------------------------------------


def test_mandatory_unroutable_message_is_returned_with_312(ch):
    """A mandatory message no queue takes is returned: 312 NO_ROUTE, exchange, key, properties, body."""
    calls = _record(ch)
    ch.exchange_declare("x", "direct")
    properties = Properties(correlation_id="c")
    ch.basic_publish("x", "k", b"m", properties, mandatory=True)
    assert calls == [("return", memq.Returned(312, "NO_ROUTE", "x", "k", properties, b"m"))]


def test_mandatory_return_comes_before_confirm(ch):
    """In confirm mode, a returned message's return callback runs before its confirm (an ack)."""
    calls = _record(ch)
    ch.confirm_delivery()
    ch.basic_publish("", "nowhere", b"m", mandatory=True)
    assert [c[0] for c in calls] == ["return", "confirm"] and calls[1][1] is True


def test_mandatory_routed_message_is_not_returned(ch):
    """A mandatory message that reaches a queue is not returned."""
    calls = _record(ch)
    ch.queue_declare("q")
    ch.basic_publish("", "q", b"m", mandatory=True)
    assert calls == [] and drain(ch, "q") == [b"m"]


def test_non_mandatory_unroutable_message_is_not_returned(ch):
    """An unroutable message without mandatory is dropped silently."""
    calls = _record(ch)
    ch.basic_publish("", "nowhere", b"m")
    assert calls == []


def test_return_goes_to_publishing_channel_only(conn):
    """Only the publishing channel's return callbacks are called."""
    one, two = conn.channel(), conn.channel()
    calls_one, calls_two = _record(one), _record(two)
    one.basic_publish("", "nowhere", b"m", mandatory=True)
    assert len(calls_one) == 1 and calls_two == []


# --- transactions ----------------------------------------------------------------------------


def test_tx_publish_waits_for_commit(ch):
    """In a transaction, published messages reach the queue at tx_commit, in order."""
    ch.queue_declare("q")
    ch.tx_select()
    publish(ch, "", "q", "1", "2")
    assert ch.queue_declare("q", passive=True).message_count == 0
    ch.tx_commit()
    assert drain(ch, "q") == [b"1", b"2"]


def test_tx_rollback_discards_publishes(ch):
    """tx_rollback forgets the publishes made since the last commit."""
    ch.queue_declare("q")
    ch.tx_select()
    publish(ch, "", "q", "1")
    ch.tx_commit()
    publish(ch, "", "q", "2")
    ch.tx_rollback()
    ch.tx_commit()
    assert drain(ch, "q") == [b"1"]


def test_tx_ack_waits_for_commit(conn, ch):
    """A transactional ack takes effect at commit: closing before it requeues the message."""
    ch.queue_declare("q")
    publish(ch, "", "q", "m")
    ch.tx_select()
    got = ch.basic_get("q")
    ch.basic_ack(got.delivery_tag)
    ch.close()
    other = conn.channel()
    assert drain(other, "q") == [b"m"]


def test_tx_commit_applies_ack(ch):
    """A transactional ack committed settles the message."""
    ch.queue_declare("q")
    publish(ch, "", "q", "m")
    ch.tx_select()
    got = ch.basic_get("q")
    ch.basic_ack(got.delivery_tag)
    ch.tx_commit()
    assert ch.unacked == {}


def test_tx_rollback_leaves_acked_messages_unacked(ch):
    """After rollback the acked messages are unacked again and can be acked anew."""
    ch.queue_declare("q")
    publish(ch, "", "q", "1", "2")
    ch.tx_select()
    ch.basic_get("q")
    ch.basic_get("q")
    ch.basic_ack(2, multiple=True)
    ch.tx_rollback()
    assert list(ch.unacked) == [1, 2]
    ch.basic_ack(1)
    ch.tx_commit()
    assert list(ch.unacked) == [2]


def test_tx_reject_with_requeue_waits_for_commit(ch):
    """A transactional reject with requeue puts the message back only at commit."""
    ch.queue_declare("q")
    publish(ch, "", "q", "m")
    ch.tx_select()
    got = ch.basic_get("q")
    ch.basic_reject(got.delivery_tag, requeue=True)
    assert ch.queue_declare("q", passive=True).message_count == 0
    ch.tx_commit()
    assert drain(ch, "q") == [b"m"]


def test_tx_unknown_tag_fails_at_ack(ch):
    """In a transaction an unknown delivery tag is refused at the ack itself."""
    ch.tx_select()
    with pytest.raises(errors.PreconditionFailed):
        ch.basic_ack(9)


def test_tx_publish_to_missing_exchange_fails_at_publish(ch):
    """In a transaction a publish to a missing exchange is refused at once with 404."""
    ch.tx_select()
    with pytest.raises(errors.NotFound):
        ch.basic_publish("nope", "k", b"m")


def test_tx_mandatory_unroutable_is_returned_at_commit(ch):
    """A transactional mandatory message no queue takes is returned when the transaction commits."""
    calls = _record(ch)
    ch.tx_select()
    ch.basic_publish("", "nowhere", b"m", mandatory=True)
    assert calls == []
    ch.tx_commit()
    assert [c[0] for c in calls] == ["return"]


def test_tx_select_on_confirm_channel_is_406(ch):
    """tx_select() on a confirm-mode channel is 406."""
    ch.confirm_delivery()
    with pytest.raises(errors.PreconditionFailed) as caught:
        ch.tx_select()
    assert caught.value.reply_text == "PRECONDITION_FAILED - cannot switch from confirm to tx mode"


@pytest.mark.parametrize("call", ["tx_commit", "tx_rollback"])
def test_tx_commit_or_rollback_without_select_is_406(ch, call):
    """tx_commit and tx_rollback on a non-transactional channel are 406."""
    with pytest.raises(errors.PreconditionFailed) as caught:
        getattr(ch, call)()
    assert caught.value.reply_text == "PRECONDITION_FAILED - channel is not transactional"


def test_tx_channel_close_discards_uncommitted_publishes(conn, ch):
    """Closing a transactional channel discards its uncommitted publishes."""
    ch.queue_declare("q")
    ch.tx_select()
    publish(ch, "", "q", "m")
    ch.close()
    assert drain(conn.channel(), "q") == []
