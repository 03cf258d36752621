"""Queues: server-generated names, durable/exclusive/auto-delete, passive declares, equivalence and
argument checks with RabbitMQ's texts, counts, purge and delete."""

from __future__ import annotations

import re

import pytest

import memq
from memq import errors

from .support import Inbox, drain, publish

LOCKED = ("RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'q' in vhost '/'. It could be "
          "originally declared on another connection or the exclusive property value does not match that "
          "of the original declaration.")


def _refused(call, *args, **kwargs):
    with pytest.raises(errors.AMQPError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- server-generated names ------------------------------------------------------------------


def test_server_named_queue_has_rabbitmq_shape(ch):
    """An empty name gets `amq.gen-` and 22 URL-safe base64 characters."""
    name = ch.queue_declare("").queue
    assert re.fullmatch(r"amq\.gen-[A-Za-z0-9_-]{22}", name)


def test_server_names_repeat_for_same_seed():
    """Two brokers with the same seed generate the same queue names in the same order."""
    def names(seed):
        ch = memq.Broker(seed=seed, start=0).connect().channel()
        return [ch.queue_declare("").queue for _ in range(3)]

    assert names(7) == names(7)
    assert names(7) != names(8)
    assert len(set(names(7))) == 3


def test_server_named_queue_redeclare_by_name_is_403(conn, ch):
    """Redeclaring a server-named queue by its name (not passive) is 403 even on its own connection."""
    name = ch.queue_declare("", exclusive=True).queue
    error = _refused(ch.queue_declare, name, exclusive=True)
    assert error.reply_text == f"ACCESS_REFUSED - queue name '{name}' contains reserved prefix 'amq.*'"
    other = conn.channel()
    assert other.queue_declare(name, passive=True).queue == name


def test_server_named_queue_argument_error_names_generated_queue(ch, broker):
    """An invalid argument on a server-named declare is reported with the generated name."""
    expected = memq.Broker(seed=0, start=0).connect().channel().queue_declare("").queue
    error = _refused(ch.queue_declare, "", arguments={"x-expires": 0})
    assert error.reply_text == (f"PRECONDITION_FAILED - invalid arg 'x-expires' for queue '{expected}' "
                                "in vhost '/': {value_zero,0}")


# --- reserved names, passive -----------------------------------------------------------------


def test_queue_declare_reserved_prefix_is_403(ch):
    """Declaring a queue named `amq.foo` is 403."""
    error = _refused(ch.queue_declare, "amq.foo")
    assert error.reply_text == "ACCESS_REFUSED - queue name 'amq.foo' contains reserved prefix 'amq.*'"


def test_queue_declare_passive_missing_is_404(conn, ch):
    """A passive declare of a missing queue (even an `amq.` name) is 404 and closes the channel."""
    error = _refused(ch.queue_declare, "amq.foo", passive=True)
    assert error.reply_text == "NOT_FOUND - no queue 'amq.foo' in vhost '/'"
    assert not ch.is_open and conn.is_open


def test_queue_declare_passive_ignores_flags_and_arguments(ch):
    """A passive declare of an existing queue succeeds whatever flags and arguments it gives."""
    ch.queue_declare("q", arguments={"x-message-ttl": 1000})
    ok = ch.queue_declare("q", passive=True, durable=True, auto_delete=True, arguments={"x-max-length": 1})
    assert ok == memq.QueueDeclareOk("q", 0, 0)


# --- equivalence -----------------------------------------------------------------------------

BASE_ARGUMENTS = {"x-message-ttl": 1000, "x-max-length": 10, "x-dead-letter-exchange": "dlx",
                  "x-max-priority": 10, "x-expires": 100000}


def _inequivalent(arg, received, current):
    return (f"PRECONDITION_FAILED - inequivalent arg '{arg}' for queue 'q' in vhost '/': "
            f"received {received} but current is {current}")


@pytest.mark.parametrize(
    ("change", "text"),
    [
        (dict(durable=True), _inequivalent("durable", "'true'", "'false'")),
        (dict(auto_delete=True), _inequivalent("auto_delete", "'true'", "'false'")),
        (dict(arguments={**BASE_ARGUMENTS, "x-message-ttl": 2000}), _inequivalent("x-message-ttl", "'2000'", "'1000'")),
        (dict(arguments={**BASE_ARGUMENTS, "x-max-length": 5}), _inequivalent("x-max-length", "'5'", "'10'")),
        (dict(arguments={**BASE_ARGUMENTS, "x-dead-letter-exchange": "dlx2"}),
         _inequivalent("x-dead-letter-exchange", "'dlx2'", "'dlx'")),
        (dict(arguments={**BASE_ARGUMENTS, "x-max-priority": 5}), _inequivalent("x-max-priority", "'5'", "'10'")),
        (dict(arguments={**BASE_ARGUMENTS, "x-expires": 50000}), _inequivalent("x-expires", "'50000'", "'100000'")),
        (dict(arguments={k: v for k, v in BASE_ARGUMENTS.items() if k != "x-message-ttl"}),
         _inequivalent("x-message-ttl", "none", "the value '1000' of type 'signedint'")),
    ],
)
def test_queue_redeclare_inequivalent_is_406(conn, ch, change, text):
    """Redeclaring a queue with one property or argument changed is 406 with RabbitMQ's text."""
    ch.queue_declare("q", arguments=BASE_ARGUMENTS)
    error = _refused(ch.queue_declare, "q", **{"arguments": BASE_ARGUMENTS, **change})
    assert (error.reply_code, error.reply_text) == (406, text)
    assert not ch.is_open and conn.is_open


def test_queue_redeclare_durable_as_non_durable_is_406(ch):
    """A durable queue redeclared non-durable is 406, received 'false' but current is 'true'."""
    ch.queue_declare("q", durable=True)
    error = _refused(ch.queue_declare, "q")
    assert error.reply_text == _inequivalent("durable", "'false'", "'true'")


def test_queue_redeclare_with_new_argument_is_406(ch):
    """An argument present now but absent at declaration is described with its value and type."""
    ch.queue_declare("q")
    error = _refused(ch.queue_declare, "q", arguments={"x-message-ttl": 5})
    assert error.reply_text == _inequivalent("x-message-ttl", "the value '5' of type 'signedint'", "none")


def test_queue_redeclare_non_x_argument_is_not_compared(ch):
    """A non-`x-` argument may differ on redeclare."""
    ch.queue_declare("q", arguments={"foo": 1})
    ch.queue_declare("q", arguments={"foo": 2})
    assert ch.is_open


def test_queue_redeclare_exclusive_on_same_connection_is_405(ch):
    """Redeclaring a shared queue as exclusive is 405 RESOURCE_LOCKED, not 406."""
    ch.queue_declare("q")
    error = _refused(ch.queue_declare, "q", exclusive=True)
    assert (error.reply_code, error.reply_text) == (405, LOCKED)


def test_queue_redeclare_exclusive_as_shared_on_owner_is_405(ch):
    """An exclusive queue redeclared non-exclusive on its own connection is 405."""
    ch.queue_declare("q", exclusive=True)
    error = _refused(ch.queue_declare, "q")
    assert (error.reply_code, error.reply_text) == (405, LOCKED)


def test_queue_redeclare_same_properties_keeps_messages(ch):
    """Redeclaring a queue with identical properties succeeds and reports its messages."""
    kwargs = dict(durable=True, arguments={"x-message-ttl": 60000, "x-max-length": 10})
    ch.queue_declare("q", **kwargs)
    publish(ch, "", "q", "m")
    assert ch.queue_declare("q", **kwargs).message_count == 1


# --- argument validation ---------------------------------------------------------------------


def _invalid(arg, problem):
    return f"PRECONDITION_FAILED - invalid arg '{arg}' for queue 'q' in vhost '/': {problem}"


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        ({"x-max-priority": 256}, _invalid("x-max-priority", "{max_value_exceeded,256}")),
        ({"x-max-priority": -1}, _invalid("x-max-priority", "{value_negative,-1}")),
        ({"x-max-priority": "5"}, _invalid("x-max-priority", '"expected integer, got longstr"')),
        ({"x-message-ttl": -1}, _invalid("x-message-ttl", "{value_negative,-1}")),
        ({"x-message-ttl": "1000"}, _invalid("x-message-ttl", '"expected integer, got longstr"')),
        ({"x-expires": 0}, _invalid("x-expires", "{value_zero,0}")),
        ({"x-expires": -1}, _invalid("x-expires", "{value_negative,-1}")),
        ({"x-max-length": -1}, _invalid("x-max-length", "{value_negative,-1}")),
        ({"x-max-length": "x"}, _invalid("x-max-length", '"expected integer, got longstr"')),
        ({"x-dead-letter-exchange": 5}, "PRECONDITION_FAILED - invalid type 'signedint' for arg "
         "'x-dead-letter-exchange' in queue 'q' in vhost '/'"),
        ({"x-dead-letter-routing-key": "k"}, _invalid("x-dead-letter-routing-key", "routing_key_but_no_dlx_defined")),
        ({"x-overflow": "bogus"}, _invalid("x-overflow", "invalid_overflow")),
    ],
)
def test_queue_declare_invalid_argument_is_406(conn, ch, arguments, text):
    """An invalid queue argument is 406 with RabbitMQ's text; the channel closes, the queue is not made."""
    error = _refused(ch.queue_declare, "q", arguments=arguments)
    assert (error.reply_code, error.reply_text) == (406, text)
    assert not ch.is_open and conn.is_open
    assert _refused(conn.channel().queue_declare, "q", passive=True).reply_code == 404


@pytest.mark.parametrize("arguments", [{"x-max-priority": 0}, {"x-max-priority": 255}, {"x-message-ttl": 0}])
def test_queue_declare_boundary_argument_is_accepted(ch, arguments):
    """Boundary values RabbitMQ accepts (x-max-priority 0 and 255, x-message-ttl 0) are accepted."""
    ch.queue_declare("q", arguments=arguments)
    assert ch.is_open


def test_queue_declare_unknown_queue_type_is_refused_with_406(conn, ch):
    """A named queue with `x-queue-type: bogus` gets 406 "unsupported queue type", a channel error."""
    error = _refused(ch.queue_declare, "q", arguments={"x-queue-type": "bogus"})
    assert (error.reply_code, error.reply_text) == (
        406, "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue 'q' in vhost '/': "
             "\"unsupported queue type 'bogus'\"")
    assert conn.is_open and not ch.is_open


def test_queue_declare_server_named_unknown_queue_type_closes_connection_with_541(conn, ch):
    """A server-named queue with `x-queue-type: bogus` is a hard 541 INTERNAL_ERROR."""
    error = _refused(ch.queue_declare, "", arguments={"x-queue-type": "bogus"})
    assert (error.reply_code, error.reply_text) == (541, "INTERNAL_ERROR") and not conn.is_open


def test_queue_declare_stream_is_unsupported(ch):
    """Stream queues raise Unsupported rather than being approximated."""
    with pytest.raises(errors.Unsupported):
        ch.queue_declare("q", durable=True, arguments={"x-queue-type": "stream"})


# --- exclusive -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("queue_declare", ("q",)),
        ("queue_declare", ("q", False, False, True)),
        ("queue_declare", ("q", True)),
        ("basic_consume", ("q", Inbox())),
        ("queue_bind", ("q", "amq.fanout")),
        ("queue_delete", ("q",)),
        ("queue_purge", ("q",)),
        ("basic_get", ("q",)),
    ],
)
def test_exclusive_queue_from_other_connection_is_405(broker, ch, call, args):
    """Using another connection's exclusive queue is 405 RESOURCE_LOCKED."""
    ch.queue_declare("q", exclusive=True)
    other = broker.connect().channel()
    error = _refused(getattr(other, call), *args)
    assert (error.reply_code, error.reply_text) == (405, LOCKED)
    assert not other.is_open and other.connection.is_open


def test_exclusive_queue_accepts_publish_from_other_connection(broker, ch):
    """Another connection may publish to an exclusive queue (and unbind a missing binding)."""
    ch.queue_declare("q", exclusive=True)
    other = broker.connect().channel()
    other.basic_publish("", "q", b"m")
    other.queue_unbind("q", "amq.direct", "nope")
    assert other.is_open and drain(ch, "q") == [b"m"]


def test_exclusive_queue_unbind_of_existing_binding_from_other_connection_is_405(broker, ch):
    """Another connection unbinding an existing binding of an exclusive queue is 405; the binding stays."""
    ch.queue_declare("q", exclusive=True)
    ch.queue_bind("q", "amq.direct", "k")
    other = broker.connect().channel()
    assert _refused(other.queue_unbind, "q", "amq.direct", "k").reply_code == 405
    ch.basic_publish("amq.direct", "k", b"m")
    assert drain(ch, "q") == [b"m"]


def test_exclusive_queue_survives_channel_close_and_goes_with_connection(broker, conn, ch):
    """An exclusive queue outlives its declaring channel and is deleted with its connection."""
    ch.queue_declare("q", exclusive=True)
    ch.close()
    conn.channel().queue_declare("q", passive=True)
    conn.close()
    error = _refused(broker.connect().channel().queue_declare, "q", passive=True)
    assert error.reply_text == "NOT_FOUND - no queue 'q' in vhost '/'"


# --- auto-delete -----------------------------------------------------------------------------


def test_auto_delete_queue_stays_until_first_consumer(ch):
    """An auto-delete queue that never had a consumer stays, even after basic_get."""
    ch.queue_declare("q", auto_delete=True)
    publish(ch, "", "q", "m")
    ch.basic_get("q", auto_ack=True)
    ch.basic_get("q", auto_ack=True)
    assert ch.queue_declare("q", passive=True).queue == "q"


def test_auto_delete_queue_goes_with_last_consumer_cancel(ch, inbox):
    """An auto-delete queue is deleted when its last consumer is cancelled, not before."""
    ch.queue_declare("q", auto_delete=True)
    first = ch.basic_consume("q", inbox)
    second = ch.basic_consume("q", inbox)
    ch.basic_cancel(first)
    ch.queue_declare("q", passive=True)
    ch.basic_cancel(second)
    assert _refused(ch.queue_declare, "q", passive=True).reply_code == 404


def test_auto_delete_queue_goes_when_consumer_channel_closes(conn, ch, inbox):
    """Closing the channel of an auto-delete queue's only consumer deletes the queue."""
    ch.queue_declare("q", auto_delete=True)
    ch.basic_consume("q", inbox)
    ch.close()
    assert _refused(conn.channel().queue_declare, "q", passive=True).reply_code == 404


# --- counts ----------------------------------------------------------------------------------


def test_declare_ok_counts_ready_messages_and_consumers(ch, inbox):
    """DeclareOk counts ready messages (not unacked) and consumers."""
    ch.queue_declare("q")
    publish(ch, "", "q", "1", "2", "3")
    assert ch.queue_declare("q") == memq.QueueDeclareOk("q", 3, 0)
    ch.basic_get("q")
    ch.basic_consume("q", inbox, consumer_tag="a")
    ch.basic_consume("q", inbox, consumer_tag="b")
    assert ch.queue_declare("q", passive=True) == memq.QueueDeclareOk("q", 2, 2)


def test_declare_ok_counts_are_exact_right_after_publish(ch):
    """The count right after a publish includes it (memq has no publish race)."""
    ch.queue_declare("q")
    ch.basic_publish("", "q", b"m")
    assert ch.queue_declare("q", passive=True).message_count == 1


# --- purge and delete ------------------------------------------------------------------------


def test_purge_removes_ready_and_leaves_unacked(ch):
    """Purge returns the ready count; unacked messages stay and can be acked or requeued after it."""
    ch.queue_declare("q")
    publish(ch, "", "q", "1", "2", "3", "4")
    first = ch.basic_get("q")
    second = ch.basic_get("q")
    assert ch.queue_purge("q") == 2
    ch.basic_ack(first.delivery_tag)
    ch.basic_nack(second.delivery_tag, requeue=True)
    assert drain(ch, "q") == [b"2"]


def test_purge_missing_queue_is_404(ch):
    """Purging a missing queue is 404."""
    assert _refused(ch.queue_purge, "q").reply_text == "NOT_FOUND - no queue 'q' in vhost '/'"


def test_delete_returns_ready_count(ch):
    """queue_delete returns the ready messages it deleted, not the unacked ones."""
    ch.queue_declare("q")
    publish(ch, "", "q", "1", "2", "3")
    ch.basic_get("q")
    assert ch.queue_delete("q") == 2


def test_delete_missing_queue_is_accepted(ch):
    """Deleting a missing queue returns 0, with or without if_unused/if_empty."""
    assert ch.queue_delete("q") == 0
    assert ch.queue_delete("q", if_unused=True, if_empty=True) == 0


def test_delete_if_unused_with_consumer_is_406(ch, inbox):
    """`if_unused` refuses to delete a queue with a consumer."""
    ch.queue_declare("q")
    ch.basic_consume("q", inbox)
    assert _refused(ch.queue_delete, "q", if_unused=True).reply_text == (
        "PRECONDITION_FAILED - queue 'q' in vhost '/' in use")


def test_delete_if_empty_with_ready_messages_is_406(ch):
    """`if_empty` refuses to delete a queue with ready messages."""
    ch.queue_declare("q")
    publish(ch, "", "q", "m")
    assert _refused(ch.queue_delete, "q", if_empty=True).reply_text == (
        "PRECONDITION_FAILED - queue 'q' in vhost '/' not empty")


def test_delete_if_unused_without_consumer_deletes(ch):
    """`if_unused` deletes a queue that has messages but no consumer, returning the count."""
    ch.queue_declare("q")
    publish(ch, "", "q", "1", "2")
    assert ch.queue_delete("q", if_unused=True) == 2


def test_delete_if_empty_with_only_unacked_deletes(ch):
    """`if_empty` counts ready messages only: a queue with only unacked messages is deleted."""
    ch.queue_declare("q")
    publish(ch, "", "q", "1")
    got = ch.basic_get("q")
    assert ch.queue_delete("q", if_empty=True) == 0
    ch.basic_ack(got.delivery_tag)


def test_delete_cancels_consumers_of_other_channels(conn, ch, inbox):
    """Deleting a queue cancels its consumers; their channels' cancel callbacks are told the tag."""
    cancelled = []
    consumer_channel = conn.channel()
    consumer_channel.add_on_cancel_callback(lambda channel, tag: cancelled.append(tag))
    ch.queue_declare("q")
    tag = consumer_channel.basic_consume("q", inbox)
    ch.queue_delete("q")
    assert cancelled == [tag] and consumer_channel.consumers == {}


def test_requeue_after_queue_deleted_drops_message(ch):
    """Nacking with requeue a message whose queue was deleted drops it; a new queue of that name is empty."""
    ch.queue_declare("q")
    publish(ch, "", "q", "m")
    got = ch.basic_get("q")
    ch.queue_delete("q")
    ch.basic_nack(got.delivery_tag, requeue=True)
    ch.queue_declare("q")
    assert drain(ch, "q") == []
