"""Regressions: each test is a difference between memq and RabbitMQ that the differential state machine found.

The state machine (tests/stateful/test_differential.py) found each of these on generated operations; the test
here pins the behaviour, checked on memq and on RabbitMQ like every conformance test.
"""

from __future__ import annotations

import pika
import pytest
from pika import exceptions as pika_errors
from pika import spec

from .support import channel_closed, connection_closed, publish, ready_count, roundtrip, settle

NO_PREVIOUS_QUEUE = "NOT_FOUND - no previously declared queue"


def test_empty_queue_name_without_a_declared_queue_is_not_found(amqp):
    """An empty queue name means the channel's last declared queue; with none, delete, purge, get, consume,
    bind and unbind fail with 404 (a passive declare of "" looks for a queue named "")."""
    connection = amqp.connect()
    exchange = amqp.unique("x")
    setup = connection.channel()
    setup.exchange_declare(exchange, "direct")
    for call in (
        lambda ch: ch.queue_delete(""),
        lambda ch: ch.queue_purge(""),
        lambda ch: ch.basic_get(""),
        lambda ch: ch.basic_consume("", lambda *args: None),
        lambda ch: ch.queue_bind("", exchange, "k"),
        lambda ch: ch.queue_unbind("", exchange, "k"),
    ):
        with channel_closed(404, NO_PREVIOUS_QUEUE):
            call(connection.channel())
    with channel_closed(404, "NOT_FOUND - no queue '' in vhost '/'"):
        connection.channel().queue_declare("", passive=True)


def test_empty_queue_name_is_the_last_declared_queue(amqp):
    """After a declare (passive too), "" names that queue, and binding "" with routing key "" uses its name."""
    connection = amqp.connect()
    queue, other, exchange = amqp.unique("q"), amqp.unique("other"), amqp.unique("x")
    channel = amqp.channel(connection)
    channel.exchange_declare(exchange, "direct")
    channel.queue_declare(other)
    channel.queue_declare(queue)
    channel.queue_bind("", exchange, "")
    publish(channel, exchange, queue, "by-name")
    publish(channel, exchange, "", "by-empty-key")
    assert ready_count(channel, queue) == 1
    channel.queue_declare(other, passive=True)
    assert channel.queue_purge("").method.message_count == 0
    channel.queue_declare(queue, passive=True)
    assert channel.queue_delete("").method.message_count == 1
    # The name stays: deleting it again is deleting a missing queue, which is fine.
    assert channel.queue_delete("").method.message_count == 0


def test_basic_get_of_empty_name_on_closed_channel_leaves_its_number_closing(amqp):
    """pika sends basic_get on a closed channel anyway; with queue "" RabbitMQ answers on that unopened number
    with Channel.Close 404 (pika ignores it), so opening a channel on the number again is a second
    'channel.open'."""
    connection = amqp.connect()
    channel = connection.channel()
    channel.close()
    with pytest.raises(pika_errors.ChannelWrongStateError):
        channel.basic_get("")
    settle(connection)  # the Close must reach pika before the number is in use again
    with connection_closed(504, "CHANNEL_ERROR - second 'channel.open' seen"):
        connection.channel()


def test_declaring_the_default_exchange_with_an_unknown_type_is_a_connection_error(amqp):
    """The exchange type is checked before the name: declaring "" as type 'bogus' closes the connection
    with 503 (not the channel with 403)."""
    connection = amqp.connect()
    with connection_closed(503, "COMMAND_INVALID - unknown exchange type 'bogus'"):
        connection.channel().exchange_declare("", "bogus")


def test_publish_with_the_immediate_flag_is_a_connection_error(amqp):
    """RabbitMQ does not implement basic.publish's immediate flag: 540 on the connection (pika's API cannot set
    the flag, so the method is sent through the channel's implementation)."""
    connection = amqp.connect()
    channel = connection.channel()
    method = spec.Basic.Publish(exchange="", routing_key="nowhere", immediate=True)
    channel._impl._send_method(method, (spec.BasicProperties(), b"x"))
    with connection_closed(540, "NOT_IMPLEMENTED - immediate=true"):
        roundtrip(channel)


def test_cr_and_lf_are_dropped_from_names_in_declare_delete_and_bind(amqp):
    """Exchange.Declare/Delete/Bind and Queue.Bind/Delete drop CR and LF from names; Basic.Publish and
    Basic.Get take names as they are. (RabbitMQ never answers a queue.declare with CR or LF in the name, so
    the test does not send one.)"""
    connection = amqp.connect()
    exchange, queue = amqp.unique("x"), amqp.unique("q")
    channel = amqp.channel(connection)
    channel.exchange_declare(exchange[:4] + "\r\n" + exchange[4:], "fanout")
    channel.exchange_declare(exchange, passive=True)
    channel.queue_declare(queue)
    channel.queue_bind(queue + "\n", "\r" + exchange)
    publish(channel, exchange, "", "through")
    assert ready_count(channel, queue) == 1
    with channel_closed(404, f"NOT_FOUND - no exchange '{exchange}\n' in vhost '/'"):
        publish(amqp.channel(connection), exchange + "\n", "", "nowhere")
    with channel_closed(404, f"NOT_FOUND - no queue '{queue}\r' in vhost '/'"):
        connection.channel().basic_get(queue + "\r")
    channel.exchange_delete(exchange + "\r\n")
    with channel_closed(404, f"NOT_FOUND - no exchange '{exchange}' in vhost '/'"):
        channel.exchange_declare(exchange, passive=True)
    assert amqp.channel(connection).queue_delete("\n" + queue).method.message_count == 1


def _invalid(queue: str, key: str, problem: str) -> str:
    return f"PRECONDITION_FAILED - invalid arg '{key}' for queue '{queue}' in vhost '/'{problem}"


@pytest.mark.parametrize(("arguments", "key", "problem"), [
    ({"x-overflow": "bogus", "x-message-ttl": -1}, "x-message-ttl", ": {value_negative,-1}"),
    ({"x-max-length": -1, "x-message-ttl": -1}, "x-message-ttl", ": {value_negative,-1}"),
    ({"x-queue-mode": "bad", "x-expires": 0}, "x-expires", ": {value_zero,0}"),
    ({"x-expires": 0, "x-queue-type": 5}, "x-queue-type", ": {unacceptable_type,signedint}"),
    ({"x-delivery-limit": 5, "x-max-length": -1}, "x-max-length", ": {value_negative,-1}"),
    ({"x-max-in-memory-length": 5, "x-max-priority": 256}, "x-max-priority", ": {max_value_exceeded,256}"),
    ({"x-max-in-memory-length": 5, "x-delivery-limit": 5}, "x-max-in-memory-length",
     " of queue type rabbit_classic_queue"),
    ({"x-delivery-limit": 5, "x-max-in-memory-length": 5}, "x-delivery-limit", " of queue type rabbit_classic_queue"),
    ({"x-queue-mode": "x"}, "x-queue-mode", ": \"unsupported queue mode 'x'\""),
    ({"x-queue-version": 3}, "x-queue-version", ": \"unsupported queue version '3'\""),
    ({"x-queue-version": "1"}, "x-queue-version", ': "expected integer, got longstr"'),
    ({"x-queue-version": 7, "x-single-active-consumer": 5}, "x-queue-version", ": \"unsupported queue version '7'\""),
], ids=lambda value: "-".join(value) if isinstance(value, dict) else None)
def test_queue_arguments_are_checked_in_rabbitmq_order(amqp, arguments, key, problem):
    """Queue arguments are checked x-queue-type first, then values in RabbitMQ's own order whatever order they
    came in, then the arguments the queue type refuses, in the order they came."""
    queue = amqp.unique("q")
    with channel_closed(406, _invalid(queue, key, problem)):
        amqp.connect().channel().queue_declare(queue, arguments=arguments)


def test_queue_version_and_master_locator_are_compared_on_redeclaration(amqp):
    """x-queue-version and x-queue-master-locator must match on redeclaration like the other arguments."""
    queue = amqp.unique("q")
    connection = amqp.connect()
    connection.channel().queue_declare(queue, arguments={"x-queue-version": 1, "x-queue-master-locator": "random"})
    with channel_closed(406, f"PRECONDITION_FAILED - inequivalent arg 'x-queue-version' for queue '{queue}' in "
                             "vhost '/': received '2' but current is '1'"):
        connection.channel().queue_declare(queue, arguments={"x-queue-version": 2, "x-queue-master-locator": "random"})
    with channel_closed(406, f"PRECONDITION_FAILED - inequivalent arg 'x-queue-master-locator' for queue '{queue}' "
                             "in vhost '/': received 'min-masters' but current is 'random'"):
        connection.channel().queue_declare(queue, arguments={"x-queue-version": 1,
                                                             "x-queue-master-locator": "min-masters"})


def test_unknown_master_locator_is_an_internal_error(amqp):
    """An x-queue-master-locator RabbitMQ does not know crashes the declaration: 541 on the connection."""
    with connection_closed(541, "INTERNAL_ERROR"):
        amqp.connect().channel().queue_declare(amqp.unique("q"), arguments={"x-queue-master-locator": "bogus"})


def test_alternate_exchange_of_the_wrong_type_is_refused_at_creation(amqp):
    """Creating an exchange whose alternate-exchange is not a string is 406 'invalid type'; redeclaring an
    existing exchange with one compares it instead."""
    exchange = amqp.unique("x")
    connection = amqp.connect()
    with channel_closed(406, f"PRECONDITION_FAILED - invalid type 'signedint' for arg 'alternate-exchange' in "
                             f"exchange '{exchange}' in vhost '/'"):
        connection.channel().exchange_declare(exchange, arguments={"alternate-exchange": 5})
    connection.channel().exchange_declare(exchange)
    with channel_closed(406, f"PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange "
                             f"'{exchange}' in vhost '/': received the value '5' of type 'signedint' but current "
                             "is none"):
        connection.channel().exchange_declare(exchange, arguments={"alternate-exchange": 5})


@pytest.mark.parametrize("transactional", [False, True], ids=["confirm", "tx"])
@pytest.mark.parametrize(("properties", "text"), [
    ({"reply_to": "amq.rabbitmq.reply-to", "expiration": "abc"}, "PRECONDITION_FAILED - fast reply consumer does not exist"),
    ({"reply_to": "amq.rabbitmq.reply-to", "user_id": "x"}, "PRECONDITION_FAILED - fast reply consumer does not exist"),
    ({"user_id": "x", "expiration": "abc"},
     "PRECONDITION_FAILED - user_id property set to 'x' but authenticated user was 'guest'"),
    ({"expiration": "-1"}, "PRECONDITION_FAILED - invalid expiration '-1': {value_negative,-1}"),
], ids=["reply-to-before-expiration", "reply-to-before-user-id", "user-id-before-expiration", "expiration"])
def test_publish_checks_come_in_rabbitmq_order(amqp, properties, text, transactional):
    """A publish is checked for direct reply-to, then user_id, then expiration, when it is sent (also in a
    transaction, before any commit)."""
    connection = amqp.connect()
    channel = connection.channel()
    if transactional:
        channel.tx_select()
    else:
        channel.confirm_delivery()
    with channel_closed(406, text):
        channel.basic_publish("", "nowhere", b"x", pika.BasicProperties(**properties))
        roundtrip(channel)


def test_exchange_bound_to_itself_can_be_deleted(amqp):
    """An exchange with a binding to itself is deleted with that binding."""
    exchange = amqp.unique("x")
    channel = amqp.connect().channel()
    channel.exchange_declare(exchange, "direct")
    channel.exchange_bind(exchange, exchange, "k")
    channel.exchange_delete(exchange)
    with channel_closed(404, f"NOT_FOUND - no exchange '{exchange}' in vhost '/'"):
        channel.exchange_declare(exchange, passive=True)


def test_auto_delete_exchange_with_bindings_can_be_deleted(amqp):
    """Deleting an auto-delete exchange that still has bindings deletes it once, bindings and all."""
    exchange, queue = amqp.unique("x"), amqp.unique("q")
    channel = amqp.channel(amqp.connect())
    channel.exchange_declare(exchange, "fanout", auto_delete=True)
    channel.queue_declare(queue)
    channel.queue_bind(queue, exchange)
    channel.exchange_delete(exchange)
    channel.exchange_declare(exchange, "fanout")
    publish(channel, exchange, "", "unbound now")
    assert ready_count(channel, queue) == 0


def test_an_exclusive_queue_is_never_durable(amqp):
    """RabbitMQ ignores durable=True on an exclusive queue: redeclaring it durable or not is equivalent, and a
    difference in arguments is what gets reported."""
    queue = amqp.unique("q")
    connection = amqp.connect()
    connection.channel().queue_declare(queue, exclusive=True, durable=True)
    connection.channel().queue_declare(queue, exclusive=True, durable=False)
    with channel_closed(406, f"PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '{queue}' in "
                             "vhost '/': received the value '5' of type 'signedint' but current is none"):
        connection.channel().queue_declare(queue, exclusive=True, durable=True, arguments={"x-message-ttl": 5})
