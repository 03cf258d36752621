"""Classic-queue features on memq and RabbitMQ 3.10.8: dead-lettering, length limits, priorities,
alternate exchanges, publisher confirms with overflow, and transactions."""

from __future__ import annotations

import pika
import pytest
from pika import exceptions as pika_errors

from .support import bodies, channel_closed, get, publish, ready_count, server_queue, wait_until


def _dead_letter_queue(amqp, channel) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    dlx = amqp.unique("dlx")
    channel.exchange_declare(dlx, "fanout", auto_delete=True)
    dead = server_queue(channel)
    channel.queue_bind(dead, dlx)
    return dlx, dead


def _death(channel, queue):  # type: ignore[no-untyped-def]
    method, properties, body = channel.basic_get(queue, auto_ack=True)
    death = properties.headers["x-death"][0]
    return body.decode(), death["reason"], death["count"], death["routing-keys"], properties.headers["x-first-death-reason"]


@pytest.mark.parametrize("reason", ["rejected", "expired", "maxlen"])
def test_dead_lettering_writes_x_death_for_each_reason(amqp, reason):
    """A rejected, expired or overflowing message reaches the dead-letter exchange with an x-death entry."""
    channel = amqp.channel()
    dlx, dead = _dead_letter_queue(amqp, channel)
    arguments = {"x-dead-letter-exchange": dlx}
    if reason == "expired":
        arguments["x-message-ttl"] = 50
    if reason == "maxlen":
        arguments["x-max-length"] = 1
    work = server_queue(channel, arguments=arguments)
    publish(channel, "", work, "first", "second")
    if reason == "rejected":
        channel.basic_reject(get(channel, work).delivery_tag, requeue=False)
    elif reason == "expired":
        amqp.elapse(0.2)
    expected = 2 if reason == "expired" else 1
    wait_until(channel.connection, lambda: ready_count(channel, dead) >= expected)  # RabbitMQ dead-letters asynchronously
    assert ready_count(channel, dead) == expected
    body, got_reason, count, keys, first = _death(channel, dead)
    assert (body, got_reason, count, keys, first) == ("first", reason, 1, [work], reason)


def test_dead_letter_routing_key_replaces_the_original(amqp):
    """x-dead-letter-routing-key routes the dead message with that key; x-death keeps the original keys."""
    channel = amqp.channel()
    dlx = amqp.unique("dlx")
    channel.exchange_declare(dlx, "direct", auto_delete=True)
    dead = server_queue(channel)
    channel.queue_bind(dead, dlx, "graveyard")
    work = server_queue(channel, arguments={"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "graveyard"})
    publish(channel, "", work, "m")
    channel.basic_nack(get(channel, work).delivery_tag, requeue=False)
    wait_until(channel.connection, lambda: ready_count(channel, dead) == 1)
    method, properties, body = channel.basic_get(dead, auto_ack=True)
    assert (method.routing_key, properties.headers["x-death"][0]["routing-keys"]) == ("graveyard", [work])


@pytest.mark.parametrize("overflow, kept", [("drop-head", ["2", "3"]), ("reject-publish", ["1", "2"])])
def test_max_length_overflow_keeps_the_right_messages(amqp, overflow, kept):
    """drop-head drops the oldest; reject-publish refuses the newest (a nack under confirms)."""
    channel = amqp.channel()
    queue = server_queue(channel, arguments={"x-max-length": 2, "x-overflow": overflow})
    publish(channel, "", queue, "1", "2")
    if overflow == "reject-publish":
        with pytest.raises(pika_errors.NackError):
            publish(channel, "", queue, "3")
    else:
        publish(channel, "", queue, "3")
    assert bodies(channel, queue) == kept


def test_max_length_bytes_counts_body_bytes(amqp):
    """x-max-length-bytes drops from the head until the ready bodies fit."""
    channel = amqp.channel()
    queue = server_queue(channel, arguments={"x-max-length-bytes": 10})
    publish(channel, "", queue, "12345", "67890", "abc")
    assert bodies(channel, queue) == ["67890", "abc"]


def test_priority_queue_delivers_highest_priority_first(amqp):
    """With x-max-priority, higher priorities come first; priorities above the maximum count as the maximum."""
    channel = amqp.channel()
    queue = server_queue(channel, arguments={"x-max-priority": 5})
    for body, priority in [("low", 1), ("none", None), ("high", 5), ("huge", 200), ("mid", 3)]:
        publish(channel, "", queue, body, **({} if priority is None else {"priority": priority}))
    assert bodies(channel, queue) == ["high", "huge", "mid", "low", "none"]


def test_alternate_exchange_takes_what_the_exchange_cannot_route(amqp):
    """An exchange's alternate-exchange receives messages none of its bindings match."""
    channel = amqp.channel()
    alternate = amqp.unique("ae")
    channel.exchange_declare(alternate, "fanout", auto_delete=True)
    fallback = server_queue(channel)
    channel.queue_bind(fallback, alternate)
    main = amqp.unique("main")
    channel.exchange_declare(main, "direct", auto_delete=True, arguments={"alternate-exchange": alternate})
    routed = server_queue(channel)
    channel.queue_bind(routed, main, "known")
    publish(channel, main, "known", "a")
    publish(channel, main, "unknown", "b")
    assert (bodies(channel, routed), bodies(channel, fallback)) == (["a"], ["b"])


def test_transaction_publishes_only_on_commit(amqp):
    """In a transaction, publishes and acks take effect at tx_commit and are forgotten by tx_rollback."""
    connection = amqp.connect()
    channel = connection.channel()
    queue = server_queue(channel)
    channel.tx_select()
    channel.basic_publish("", queue, b"rolled back")
    channel.tx_rollback()
    channel.basic_publish("", queue, b"committed")
    assert channel.queue_declare(queue, passive=True).method.message_count == 0
    channel.tx_commit()
    assert channel.queue_declare(queue, passive=True).method.message_count == 1
    method, _, body = channel.basic_get(queue)
    channel.basic_ack(method.delivery_tag)
    channel.tx_rollback()
    assert channel.queue_declare(queue, passive=True).method.message_count == 0
    channel.close()
    reopened = connection.channel()
    assert reopened.queue_declare(queue, passive=True).method.message_count == 1
    assert body == b"committed"


def test_cc_and_bcc_headers_route_to_more_keys_and_bcc_is_removed(amqp):
    """Sender-selected distribution: CC and BCC routing keys add queues; consumers never see BCC."""
    channel = amqp.channel()
    exchange = amqp.unique("ssd")
    channel.exchange_declare(exchange, "direct", auto_delete=True)
    queues = {}
    for key in ("main", "copy", "blind"):
        queues[key] = server_queue(channel)
        channel.queue_bind(queues[key], exchange, key)
    publish(channel, exchange, "main", "m", headers={"CC": ["copy"], "BCC": ["blind"], "other": 1})
    seen = {}
    for key, queue in queues.items():
        wait_until(channel.connection, lambda queue=queue: ready_count(channel, queue) == 1)
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        seen[key] = (body, method.routing_key, properties.headers)
    expected_headers = {"CC": ["copy"], "other": 1}
    assert seen == {key: (b"m", "main", expected_headers) for key in queues}


def test_direct_reply_to_round_trip(amqp):
    """A request with reply_to 'amq.rabbitmq.reply-to' is answered straight to the requester's pseudo-queue."""
    server_connection = amqp.connect()
    server = amqp.channel(server_connection)
    requests = server_queue(server)
    server.basic_consume(requests, lambda ch, method, props, body: (
        ch.basic_publish("", props.reply_to, body.upper(), pika.BasicProperties(correlation_id=props.correlation_id)),
        ch.basic_ack(method.delivery_tag)))
    client_connection = amqp.connect()
    client = client_connection.channel()
    replies = []
    client.basic_consume("amq.rabbitmq.reply-to", lambda ch, method, props, body: replies.append(
        (body, props.correlation_id, method.routing_key.startswith("amq.rabbitmq.reply-to."))), auto_ack=True)
    client.basic_publish("", requests, b"ping", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to", correlation_id="c1"))
    wait_until(client_connection, lambda: server_connection.process_data_events(0) or bool(replies))
    assert replies == [(b"PING", "c1", True)]


def test_direct_reply_to_needs_auto_ack(amqp):
    """Consuming amq.rabbitmq.reply-to with manual acks is refused with 406."""
    channel = amqp.channel()
    with channel_closed(406, "PRECONDITION_FAILED - reply consumer cannot acknowledge"):
        channel.basic_consume("amq.rabbitmq.reply-to", lambda *args: None)


def test_direct_reply_to_publish_without_consumer_is_refused(amqp):
    """Publishing with reply_to 'amq.rabbitmq.reply-to' before consuming it is refused with 406."""
    channel = amqp.channel()
    queue = server_queue(channel)
    with channel_closed(406, "PRECONDITION_FAILED - fast reply consumer does not exist"):
        channel.basic_publish("", queue, b"x", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
        channel.queue_declare(queue, passive=True)
