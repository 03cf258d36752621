"""Consumers: deliveries, round-robin, prefetch (per consumer and global), cancel, exclusive consumers, recover."""

import pika
import pytest
from pika import exceptions as pika_errors

from .support import (
    PIKA_CONSUMER_TAG,
    SERVER_CONSUMER_TAG,
    Inbox,
    channel_closed,
    connection_closed,
    not_found_queue,
    publish,
    raw_consume,
    ready_count,
    roundtrip,
    server_queue,
    settle,
    wait_until,
)


def consumers(channel, queue: str, inbox: Inbox, *tags: str, **kwargs) -> None:
    for tag in tags:
        channel.basic_consume(queue, inbox.callback, consumer_tag=tag, **kwargs)


def numbered(count: int) -> list[str]:
    return [str(n) for n in range(count)]


def test_consumer_receives_delivery_fields(amqp):
    """A consumer gets the message with its consumer tag, delivery tag 1, exchange, key and properties."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    channel.queue_bind(queue, "amq.topic", "a.*")
    inbox = Inbox()
    tag = channel.basic_consume(queue, inbox.callback)
    publish(channel, "amq.topic", "a.b", "m", content_type="text/plain", headers={"h": 1})
    inbox.wait_for(connection, 1)
    (delivery,) = inbox.deliveries
    assert delivery[:6] == (tag, "m", 1, False, "amq.topic", "a.b")
    assert (delivery.properties.content_type, delivery.properties.headers) == ("text/plain", {"h": 1})


def test_pika_generates_consumer_tag(amqp):
    """basic_consume without a tag returns pika's own 'ctag<channel>.<hex>' tag, used by the broker."""
    channel = amqp.channel()
    queue = server_queue(channel)
    tag = channel.basic_consume(queue, lambda *args: None)
    assert PIKA_CONSUMER_TAG.fullmatch(tag), tag
    assert tag.startswith(f"ctag{channel.channel_number}.")
    assert channel.queue_declare(queue, passive=True).method.consumer_count == 1


def test_server_generates_consumer_tag_for_empty_tag(amqp):
    """A Basic.Consume with an empty tag gets a server tag 'amq.ctag-' plus 22 URL-safe base64 characters."""
    connection = amqp.connect()
    channel = connection.channel()
    queue = server_queue(channel)
    (tag,) = raw_consume(connection, channel, queue, "")
    assert SERVER_CONSUMER_TAG.fullmatch(tag), tag


def test_duplicate_consumer_tag_on_the_wire_closes_connection(amqp):
    """A Basic.Consume reusing a tag of the same channel closes the connection with 530."""
    connection = amqp.connect()
    channel = connection.channel()
    queue = server_queue(channel)
    channel.basic_consume(queue, lambda *args: None, consumer_tag="t1")
    with connection_closed(530, "NOT_ALLOWED - attempt to reuse consumer tag 't1'"):
        raw_consume(connection, channel, queue, "t1")


def test_consumer_receives_messages_published_earlier(amqp):
    """A new consumer gets the messages already in the queue, in order."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    publish(channel, "", queue, *numbered(3))
    inbox = Inbox()
    channel.basic_consume(queue, inbox.callback, auto_ack=True)
    inbox.wait_for(connection, 3)
    assert [d.body for d in inbox.deliveries] == numbered(3)
    assert ready_count(channel, queue) == 0


def test_round_robin_between_two_consumers_on_one_channel(amqp):
    """Two consumers of one queue take turns: A, B, A, B, ..."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    inbox = Inbox()
    consumers(channel, queue, inbox, "A", "B")
    publish(channel, "", queue, *numbered(6))
    inbox.wait_for(connection, 6)
    assert sorted(inbox.by_consumer(), key=lambda pair: int(pair[1])) == [
        ("A", "0"), ("B", "1"), ("A", "2"), ("B", "3"), ("A", "4"), ("B", "5")]


def test_round_robin_between_consumers_on_two_channels(amqp):
    """Consumers on two channels of one queue take turns, each channel numbering its own tags."""
    connection = amqp.connect()
    first, second = amqp.channel(connection), amqp.channel(connection)
    queue = server_queue(first)
    inbox = Inbox()
    consumers(first, queue, inbox, "A")
    consumers(second, queue, inbox, "B")
    publish(first, "", queue, *numbered(4))
    inbox.wait_for(connection, 4)
    received = sorted((d.consumer_tag, d.body, d.delivery_tag) for d in inbox.deliveries)
    assert received == [("A", "0", 1), ("A", "2", 2), ("B", "1", 1), ("B", "3", 2)]


def test_prefetch_limits_each_consumer(amqp):
    """With prefetch_count=2 each consumer holds at most two unacked messages; the rest stay ready."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    channel.basic_qos(prefetch_count=2)
    inbox = Inbox()
    consumers(channel, queue, inbox, "A", "B")
    publish(channel, "", queue, *numbered(10))
    inbox.wait_for_exactly(connection, 4)
    assert sorted(inbox.by_consumer()) == [("A", "0"), ("A", "2"), ("B", "1"), ("B", "3")]
    assert ready_count(channel, queue) == 6


def test_prefetch_lets_one_more_through_per_ack(amqp):
    """Acking one message of a consumer at its prefetch limit lets exactly one more through to it."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    channel.basic_qos(prefetch_count=2)
    inbox = Inbox()
    consumers(channel, queue, inbox, "A")
    publish(channel, "", queue, *numbered(5))
    inbox.wait_for_exactly(connection, 2)
    channel.basic_ack(inbox.deliveries[0].delivery_tag)
    inbox.wait_for_exactly(connection, 3)
    assert [d.body for d in inbox.deliveries] == ["0", "1", "2"]


def test_global_prefetch_is_shared_by_channel_consumers(amqp):
    """With global_qos=True the prefetch count limits all consumers of the channel together."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    channel.basic_qos(prefetch_count=3, global_qos=True)
    inbox = Inbox()
    consumers(channel, queue, inbox, "A", "B")
    publish(channel, "", queue, *numbered(10))
    inbox.wait_for_exactly(connection, 3)
    assert ready_count(channel, queue) == 7


def test_per_consumer_and_global_prefetch_combine(amqp):
    """Per-consumer 1 and global 3 with four consumers: three consumers get one message each."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    channel.basic_qos(prefetch_count=1)
    channel.basic_qos(prefetch_count=3, global_qos=True)
    inbox = Inbox()
    consumers(channel, queue, inbox, "A", "B", "C", "D")
    publish(channel, "", queue, *numbered(10))
    inbox.wait_for_exactly(connection, 3)
    assert sorted(inbox.by_consumer()) == [("A", "0"), ("B", "1"), ("C", "2")]


def test_prefetch_applies_to_consumers_created_after_qos(amqp):
    """A consumer keeps the prefetch in force when it was created, whatever basic_qos says later."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    inbox = Inbox()
    channel.basic_qos(prefetch_count=1)
    consumers(channel, queue, inbox, "A")
    channel.basic_qos(prefetch_count=3)
    consumers(channel, queue, inbox, "B")
    publish(channel, "", queue, *numbered(10))
    inbox.wait_for_exactly(connection, 4)
    assert sorted(inbox.by_consumer()) == [("A", "0"), ("B", "1"), ("B", "2"), ("B", "3")]


def test_qos_accepts_largest_prefetch_count(amqp):
    """basic_qos(prefetch_count=65535) is accepted, per consumer and global."""
    channel = amqp.channel()
    channel.basic_qos(prefetch_count=65535)
    channel.basic_qos(prefetch_count=65535, global_qos=True)
    roundtrip(channel)


def test_basic_get_ignores_prefetch(amqp):
    """basic_get is not limited by the channel's prefetch count."""
    channel = amqp.channel()
    queue = server_queue(channel)
    channel.basic_qos(prefetch_count=1)
    publish(channel, "", queue, *numbered(3))
    assert [channel.basic_get(queue)[0].delivery_tag for _ in range(3)] == [1, 2, 3]


def test_auto_ack_consumer_ignores_prefetch(amqp):
    """A consumer with auto_ack receives everything whatever the prefetch count."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    channel.basic_qos(prefetch_count=1)
    publish(channel, "", queue, *numbered(5))
    inbox = Inbox()
    channel.basic_consume(queue, inbox.callback, auto_ack=True)
    inbox.wait_for(connection, 5)
    assert [d.body for d in inbox.deliveries] == numbered(5)


def test_cancel_stops_deliveries_and_keeps_unacked(amqp):
    """After basic_cancel no more messages arrive; its unacked messages stay with the channel, not requeued."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    inbox = Inbox()
    tag = channel.basic_consume(queue, inbox.callback)
    publish(channel, "", queue, "1", "2")
    inbox.wait_for(connection, 2)
    channel.basic_cancel(tag)
    publish(channel, "", queue, "3")
    settle(connection)
    assert len(inbox) == 2
    ok = channel.queue_declare(queue, passive=True).method
    assert (ok.message_count, ok.consumer_count) == (1, 0)
    channel.basic_ack(2, multiple=True)
    roundtrip(channel)


def test_channel_close_requeues_consumer_unacked(amqp):
    """Closing a consumer's channel requeues what it had not acked, marked redelivered."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    inbox = Inbox()
    channel.basic_consume(queue, inbox.callback)
    publish(channel, "", queue, "1", "2")
    inbox.wait_for(connection, 2)
    channel.close()
    observer = amqp.channel(connection)
    assert [(m[0].redelivered, m[2]) for m in (observer.basic_get(queue, auto_ack=True) for _ in range(2))] == [
        (True, b"1"), (True, b"2")]


def test_cancel_of_unknown_tag_is_ok(amqp):
    """basic_cancel of a tag that is not consuming is accepted and leaves the channel open."""
    channel = amqp.channel()
    channel.basic_cancel("no-such-consumer")
    roundtrip(channel)


def test_duplicate_consumer_tag_refused_by_pika(amqp):
    """Reusing a consumer tag on one channel makes pika raise DuplicateConsumerTag; the channel stays open."""
    channel = amqp.channel()
    queue = server_queue(channel)
    channel.basic_consume(queue, lambda *args: None, consumer_tag="t1")
    with pytest.raises(pika_errors.DuplicateConsumerTag):
        channel.basic_consume(queue, lambda *args: None, consumer_tag="t1")
    assert channel.is_open
    assert channel.queue_declare(queue, passive=True).method.consumer_count == 1


def test_same_consumer_tag_on_two_channels_is_ok(amqp):
    """Consumer tags are per channel: two channels may use the same one."""
    connection = amqp.connect()
    first, second = amqp.channel(connection), amqp.channel(connection)
    queue = server_queue(first)
    first.basic_consume(queue, lambda *args: None, consumer_tag="same")
    second.basic_consume(queue, lambda *args: None, consumer_tag="same")
    assert first.queue_declare(queue, passive=True).method.consumer_count == 2


def test_consume_from_missing_queue_is_not_found(amqp):
    """basic_consume on a missing queue closes the channel with 404."""
    channel = amqp.channel()
    name = amqp.unique("missing")
    with channel_closed(404, not_found_queue(name)):
        channel.basic_consume(name, lambda *args: None)


def test_exclusive_consumer_blocks_other_consumers(amqp):
    """While an exclusive consumer exists, another consume closes the channel with 403 in exclusive use."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    channel.basic_consume(queue, lambda *args: None, exclusive=True)
    with channel_closed(403, f"ACCESS_REFUSED - queue '{queue}' in vhost '/' in exclusive use"):
        amqp.channel(connection).basic_consume(queue, lambda *args: None)


def test_exclusive_consume_of_queue_with_consumer_fails(amqp):
    """An exclusive consume of a queue that already has a consumer closes the channel with 403."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    channel.basic_consume(queue, lambda *args: None)
    with channel_closed(403, f"ACCESS_REFUSED - queue '{queue}' in vhost '/' in exclusive use"):
        amqp.channel(connection).basic_consume(queue, lambda *args: None, exclusive=True)


def test_consumer_cancelled_by_broker_when_queue_deleted(amqp):
    """Deleting a queue cancels its consumers: the broker sends Basic.Cancel with the consumer tag."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    cancelled = []
    channel.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
    tag = channel.basic_consume(queue, lambda *args: None)
    amqp.channel(connection).queue_delete(queue)
    wait_until(connection, lambda: cancelled)
    assert cancelled == [tag]


def test_recover_redelivers_to_same_consumer(amqp):
    """basic_recover(requeue=True) sends the unacked messages again, redelivered, with new tags."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    inbox = Inbox()
    tag = channel.basic_consume(queue, inbox.callback)
    publish(channel, "", queue, "1", "2")
    inbox.wait_for(connection, 2)
    channel.basic_recover(requeue=True)
    inbox.wait_for(connection, 4)
    assert [(d.consumer_tag, d.body, d.delivery_tag, d.redelivered) for d in inbox.deliveries] == [
        (tag, "1", 1, False), (tag, "2", 2, False), (tag, "1", 3, True), (tag, "2", 4, True)]


def test_nack_requeue_redelivers_to_consumer(amqp):
    """A consumer's nack with requeue gets the message delivered again, redelivered=True."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    inbox = Inbox()
    channel.basic_consume(queue, inbox.callback)
    publish(channel, "", queue, "1")
    inbox.wait_for(connection, 1)
    channel.basic_nack(1, requeue=True)
    inbox.wait_for(connection, 2)
    assert [(d.body, d.delivery_tag, d.redelivered) for d in inbox.deliveries] == [("1", 1, False), ("1", 2, True)]


def test_message_properties_reach_consumer(amqp):
    """The consumer sees the publisher's properties."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = server_queue(channel)
    inbox = Inbox()
    channel.basic_consume(queue, inbox.callback, auto_ack=True)
    channel.basic_publish("", queue, b"m", pika.BasicProperties(message_id="id-1", priority=2, delivery_mode=2))
    inbox.wait_for(connection, 1)
    received = inbox.deliveries[0].properties
    assert (received.message_id, received.priority, received.delivery_mode) == ("id-1", 2, 2)
