"""Single active consumer, quorum queues and heartbeats, the same on memq and RabbitMQ 3.10.8."""

from __future__ import annotations

import pytest
from pika import exceptions as pika_errors

from .support import Inbox, channel_closed, connection_closed, get, publish, ready_count, settle

SAC = {"x-single-active-consumer": True}
QUORUM = {"x-queue-type": "quorum"}


# --- single active consumer ----------------------------------------------------------------------

def test_single_active_consumer_only_first_receives(amqp):
    """Only the first consumer gets messages; declare-ok counts every consumer."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = amqp.unique("sac")
    channel.queue_declare(queue, arguments=SAC)
    inbox = Inbox()
    assert channel.basic_consume(queue, inbox.callback, consumer_tag="a") == "a"
    assert channel.basic_consume(queue, inbox.callback, consumer_tag="b") == "b"
    publish(channel, "", queue, "0", "1", "2")
    inbox.wait_for_exactly(connection, 3)
    assert inbox.by_consumer() == [("a", "0"), ("a", "1"), ("a", "2")]
    assert channel.queue_declare(queue, passive=True).method.consumer_count == 2


def test_single_active_consumer_ignores_consumer_priority(amqp):
    """In 3.10 a later consumer with a higher x-priority does not take over."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = amqp.unique("sac")
    channel.queue_declare(queue, arguments=SAC)
    inbox = Inbox()
    channel.basic_consume(queue, inbox.callback, consumer_tag="low")
    channel.basic_consume(queue, inbox.callback, consumer_tag="high", arguments={"x-priority": 5})
    publish(channel, "", queue, "0", "1")
    inbox.wait_for_exactly(connection, 2)
    assert inbox.by_consumer() == [("low", "0"), ("low", "1")]


def test_single_active_consumer_cancelled_next_takes_over(amqp):
    """After the active consumer (with nothing unacked) is cancelled, the next one in subscription order gets new messages."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue = amqp.unique("sac")
    channel.queue_declare(queue, arguments=SAC)
    inbox = Inbox()
    for tag in "abc":
        channel.basic_consume(queue, inbox.callback, consumer_tag=tag, auto_ack=True)
    channel.basic_cancel("a")
    publish(channel, "", queue, "0", "1")
    inbox.wait_for_exactly(connection, 2)
    assert inbox.by_consumer() == [("b", "0"), ("b", "1")]
    assert channel.queue_declare(queue, passive=True).method.consumer_count == 2


def test_single_active_consumer_channel_closed_redelivers_to_next(amqp):
    """When the active consumer's channel closes, the next consumer gets its unacked messages first, redelivered."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    other = connection.channel()
    queue = amqp.unique("sac")
    channel.queue_declare(queue, arguments=SAC)
    first, second = Inbox(), Inbox()
    other.basic_qos(prefetch_count=2)
    other.basic_consume(queue, first.callback, consumer_tag="a")
    channel.basic_consume(queue, second.callback, consumer_tag="b")
    publish(channel, "", queue, "0", "1", "2")
    first.wait_for_exactly(connection, 2)
    other.close()
    second.wait_for_exactly(connection, 3)
    assert [(d.body, d.redelivered) for d in second.deliveries] == [("0", True), ("1", True), ("2", False)]


def test_single_active_consumer_exclusive_consume_refused(amqp):
    """An exclusive consume on a queue that has a consumer gets 403, single active consumer or not."""
    channel = amqp.channel()
    queue = amqp.unique("sac")
    channel.queue_declare(queue, arguments=SAC)
    channel.basic_consume(queue, lambda *args: None)
    with channel_closed(403, f"ACCESS_REFUSED - queue '{queue}' in vhost '/' in exclusive use"):
        channel.basic_consume(queue, lambda *args: None, exclusive=True)


# --- quorum queues -------------------------------------------------------------------------------

@pytest.mark.parametrize(("flags", "prop"), [
    ({}, "non-durable"),
    ({"durable": True, "exclusive": True}, "exclusive-owner"),
    ({"durable": True, "auto_delete": True}, "auto-delete"),
    ({"exclusive": True, "auto_delete": True}, "auto-delete"),
])
def test_quorum_queue_flags_refused(amqp, flags, prop):
    """A quorum queue must be durable, not exclusive, not auto-delete: 406 naming the property."""
    channel = amqp.channel()
    queue = amqp.unique("qq")
    with channel_closed(406, f"PRECONDITION_FAILED - invalid property '{prop}' for queue '{queue}' in vhost '/'"):
        channel.queue_declare(queue, arguments=QUORUM, **flags)


@pytest.mark.parametrize(("kind", "arg", "value"), [
    ("quorum", "x-max-priority", 5),
    ("quorum", "x-queue-mode", "lazy"),
    ("classic", "x-delivery-limit", 2),
    ("classic", "x-max-in-memory-length", 1),
])
def test_queue_type_refuses_other_types_arguments(amqp, kind, arg, value):
    """An argument the queue type does not take gets 406 '... of queue type rabbit_<type>_queue'."""
    channel = amqp.channel()
    queue = amqp.unique("qq")
    text = f"PRECONDITION_FAILED - invalid arg '{arg}' for queue '{queue}' in vhost '/' of queue type rabbit_{kind}_queue"
    with channel_closed(406, text):
        channel.queue_declare(queue, durable=True, arguments={"x-queue-type": kind, arg: value})


def test_queue_type_unknown_refused(amqp):
    """A named queue of an unknown type gets 406; a server-named one closes the connection with 541."""
    connection = amqp.connect()
    channel = connection.channel()
    queue = amqp.unique("qq")
    text = f"PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue '{queue}' in vhost '/': \"unsupported queue type 'bogus'\""
    with channel_closed(406, text):
        channel.queue_declare(queue, arguments={"x-queue-type": "bogus"})
    with connection_closed(541, "INTERNAL_ERROR"):
        connection.channel().queue_declare("", arguments={"x-queue-type": "bogus"})


def test_quorum_queue_server_named_refused(amqp):
    """A quorum queue cannot be server-named."""
    channel = amqp.channel()
    with channel_closed(406, "PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_quorum_queue"):
        channel.queue_declare("", durable=True, arguments=QUORUM)


def test_quorum_queue_returns_go_to_tail_with_delivery_count(amqp):
    """Nacked messages go behind the ready ones in the order they came back; basic_get shows x-delivery-count."""
    channel = amqp.channel()
    queue = amqp.unique("qq")
    channel.queue_declare(queue, durable=True, arguments=QUORUM)
    publish(channel, "", queue, "a", "b", "c", "d")
    tags = [get(channel, queue).delivery_tag for _ in range(3)]
    for index in (1, 2, 0):
        channel.basic_nack(tags[index])
    seen = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            break
        seen.append((body.decode(), method.redelivered, properties.headers["x-delivery-count"]))
    assert seen == [("d", False, 0), ("b", True, 1), ("c", True, 1), ("a", True, 1)]


def test_quorum_queue_delivery_limit_dead_letters(amqp):
    """Past x-delivery-limit returns, the message is dead-lettered with reason delivery_limit."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    queue, dead = amqp.unique("qq"), amqp.unique("dead")
    channel.queue_declare(dead, durable=True)
    channel.queue_declare(queue, durable=True, arguments={
        **QUORUM, "x-delivery-limit": 1, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead})
    inbox = Inbox()
    channel.basic_consume(queue, inbox.callback)
    publish(channel, "", queue, "x")
    inbox.wait_for(connection, 1)
    channel.basic_nack(inbox.deliveries[0].delivery_tag)
    inbox.wait_for(connection, 2)
    channel.basic_nack(inbox.deliveries[1].delivery_tag)
    settle(connection)
    assert [(d.redelivered, (d.properties.headers or {}).get("x-delivery-count")) for d in inbox.deliveries] == [
        (False, None), (True, 1)]
    for _ in range(100):
        if ready_count(channel, dead):
            break
        settle(connection)
    method, properties, body = channel.basic_get(dead, auto_ack=True)
    death = properties.headers["x-death"][0]
    assert (body, death["reason"], death["queue"], death["count"]) == (b"x", "delivery_limit", queue, 1)


def test_quorum_queue_global_qos_consume_closes_connection(amqp):
    """Consuming from a quorum queue on a channel with global prefetch is a 540 connection error."""
    connection = amqp.connect()
    channel = connection.channel()
    queue = amqp.unique("qq")
    channel.queue_declare(queue, durable=True, arguments=QUORUM)
    channel.basic_qos(prefetch_count=1, global_qos=True)
    with connection_closed(540, f"NOT_IMPLEMENTED - queue '{queue}' in vhost '/' does not support global qos"):
        channel.basic_consume(queue, lambda *args: None)


# --- heartbeats ----------------------------------------------------------------------------------

def test_idle_client_dropped_after_missed_heartbeats(amqp):
    """A client that sends nothing for two heartbeat checks is dropped: unacked requeued, exclusive queue deleted."""
    idle = amqp.connect(heartbeat=1)
    idle_channel = idle.channel()
    exclusive = idle_channel.queue_declare("", exclusive=True).method.queue
    shared = amqp.unique("hb")
    idle_channel.queue_declare(shared)
    idle_channel.confirm_delivery()
    publish(idle_channel, "", shared, "m")
    assert get(idle_channel, shared).body == "m"
    amqp.elapse(4)  # RabbitMQ drops it 2 to 3 s after its last frame
    channel = amqp.channel()
    with channel_closed(404, f"NOT_FOUND - no queue '{exclusive}' in vhost '/'"):
        channel.queue_declare(exclusive, passive=True)
    channel = amqp.channel()
    assert ready_count(channel, shared) == 1
    with pytest.raises(pika_errors.StreamLostError):
        idle_channel.basic_get(shared)
