"""Quorum queues: declaration rules, returns at the tail, x-delivery-count and x-delivery-limit."""

from __future__ import annotations

import pytest

import memq
from memq import errors

from .support import Inbox, drain, publish

QUORUM = {"x-queue-type": "quorum"}


def _refused(call, *args, **kwargs) -> errors.AMQPError:
    with pytest.raises(errors.AMQPError) as info:
        call(*args, **kwargs)
    return info.value


@pytest.mark.parametrize(("flags", "prop"), [
    ({}, "non-durable"),
    ({"durable": True, "exclusive": True}, "exclusive-owner"),
    ({"durable": True, "auto_delete": True}, "auto-delete"),
    ({"exclusive": True, "auto_delete": True}, "auto-delete"),
    ({"exclusive": True}, "exclusive-owner"),
])
def test_quorum_queue_flags_are_refused(conn, flags, prop):
    """A quorum queue must be durable, and neither exclusive nor auto-delete (406, auto-delete checked first)."""
    ch = conn.channel()
    error = _refused(ch.queue_declare, "q", arguments=QUORUM, **flags)
    assert (error.reply_code, error.reply_text) == (
        406, f"PRECONDITION_FAILED - invalid property '{prop}' for queue 'q' in vhost '/'")


@pytest.mark.parametrize("arg", [("x-max-priority", 5), ("x-queue-mode", "lazy"), ("x-queue-version", 2),
                                 ("x-queue-master-locator", "min-masters")])
def test_quorum_queue_refuses_classic_arguments(ch, arg):
    """Arguments only classic queues take get 406 '... of queue type rabbit_quorum_queue'."""
    error = _refused(ch.queue_declare, "q", durable=True, arguments={**QUORUM, arg[0]: arg[1]})
    assert error.reply_text == (f"PRECONDITION_FAILED - invalid arg '{arg[0]}' for queue 'q' in vhost '/' "
                                "of queue type rabbit_quorum_queue")


@pytest.mark.parametrize("arg", [("x-delivery-limit", 2), ("x-dead-letter-strategy", "at-most-once"),
                                 ("x-quorum-initial-group-size", 1), ("x-max-in-memory-length", 1)])
def test_classic_queue_refuses_quorum_arguments(ch, arg):
    """Arguments only quorum queues take get 406 '... of queue type rabbit_classic_queue'."""
    error = _refused(ch.queue_declare, "q", arguments={arg[0]: arg[1]})
    assert error.reply_text == (f"PRECONDITION_FAILED - invalid arg '{arg[0]}' for queue 'q' in vhost '/' "
                                "of queue type rabbit_classic_queue")


def test_quorum_queue_cannot_be_server_named(ch):
    """A quorum queue with an empty name is refused with 406."""
    error = _refused(ch.queue_declare, "", durable=True, arguments=QUORUM)
    assert error.reply_text == "PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_quorum_queue"


def test_quorum_queue_redeclared_without_type_is_inequivalent(ch):
    """Redeclaring a quorum queue without x-queue-type is a 406 naming the current type."""
    ch.queue_declare("q", durable=True, arguments=QUORUM)
    error = _refused(ch.queue_declare, "q", durable=True)
    assert error.reply_text == ("PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': "
                                "received none but current is the value 'quorum' of type 'longstr'")


def test_quorum_queue_returns_go_to_the_tail(ch):
    """Returned messages go behind the ready ones, in the order they came back, marked redelivered."""
    ch.queue_declare("q", durable=True, arguments=QUORUM)
    publish(ch, "", "q", "a", "b", "c", "d")
    tags = [ch.basic_get("q").delivery_tag for _ in range(3)]
    ch.basic_nack(tags[1])
    ch.basic_nack(tags[2])
    ch.basic_nack(tags[0])
    assert [(m.body, m.redelivered) for m in ch.connection.broker.queue("q").messages] == [
        (b"d", False), (b"b", True), (b"c", True), (b"a", True)]


def test_quorum_queue_get_carries_delivery_count(ch):
    """basic_get carries x-delivery-count (0 at first); each return, a channel close too, adds one."""
    ch.queue_declare("q", durable=True, arguments=QUORUM)
    ch.basic_publish("", "q", b"x", memq.Properties(headers={"h": 1}))
    got = ch.basic_get("q")
    assert got.properties.headers == {"h": 1, "x-delivery-count": 0}
    ch.close()
    ch = ch.connection.channel()
    got = ch.basic_get("q")
    assert got.redelivered and got.properties.headers == {"h": 1, "x-delivery-count": 1}
    ch.basic_reject(got.delivery_tag)
    assert ch.basic_get("q", auto_ack=True).properties.headers["x-delivery-count"] == 2


def test_quorum_queue_consumer_sees_delivery_count_only_on_redelivery(broker, ch, inbox):
    """A consumer's first delivery has no x-delivery-count header; a redelivery has it."""
    ch.queue_declare("q", durable=True, arguments=QUORUM)
    ch.basic_consume("q", inbox)
    ch.basic_publish("", "q", b"x")
    broker.run_until_idle()
    ch.basic_nack(inbox.tags[0])
    broker.run_until_idle()
    assert [p.headers for _, _, p, _ in inbox.deliveries] == [None, {"x-delivery-count": 1}]


def test_quorum_queue_delivery_limit_dead_letters(broker, ch):
    """Past x-delivery-limit returns the message is dead-lettered with reason delivery_limit."""
    ch.queue_declare("dead")
    ch.queue_declare("q", durable=True, arguments={**QUORUM, "x-delivery-limit": 2, "x-dead-letter-exchange": "",
                                                   "x-dead-letter-routing-key": "dead"})
    ch.basic_publish("", "q", b"x")
    counts = []
    while (got := ch.basic_get("q")) is not None:
        counts.append(got.properties.headers["x-delivery-count"])
        ch.basic_nack(got.delivery_tag)
    assert counts == [0, 1, 2]
    dead = ch.basic_get("dead", auto_ack=True)
    death = dead.properties.headers["x-death"][0]
    assert (death["reason"], death["queue"], death["count"]) == ("delivery_limit", "q", 1)
    assert "x-delivery-count" not in dead.properties.headers


def test_quorum_queue_delivery_limit_zero_drops_on_first_return(broker, ch):
    """With x-delivery-limit 0 and no dead-letter exchange, the first return drops the message."""
    ch.queue_declare("q", durable=True, arguments={**QUORUM, "x-delivery-limit": 0})
    ch.basic_publish("", "q", b"x")
    ch.basic_nack(ch.basic_get("q").delivery_tag)
    assert drain(ch, "q") == []
    assert [e.reason for e in broker.trace.of_type(memq.events.Dropped)] == ["delivery_limit"]


def test_quorum_queue_refuses_global_qos_consumer(conn, ch):
    """Consuming from a quorum queue on a channel with global prefetch is a hard 540."""
    ch.queue_declare("q", durable=True, arguments=QUORUM)
    ch.basic_qos(prefetch_count=1, global_qos=True)
    error = _refused(ch.basic_consume, "q", Inbox())
    assert (error.reply_code, error.reply_text) == (
        540, "NOT_IMPLEMENTED - queue 'q' in vhost '/' does not support global qos")
    assert not conn.is_open


def test_quorum_queue_keeps_transient_messages_over_restart(broker, ch):
    """A quorum queue stores every message durably: transient ones survive a restart too."""
    ch.queue_declare("q", durable=True, arguments=QUORUM)
    publish(ch, "", "q", "a", "b")
    got = ch.basic_get("q")
    broker.restart()
    assert [(m.body, m.redelivered) for m in broker.queue("q").messages] == [(b"b", False), (b"a", True)]
    assert got.delivery_tag == 1


@pytest.mark.parametrize("arguments", [
    {"x-queue-type": "stream"},
    {**QUORUM, "x-max-length": 1, "x-overflow": "reject-publish"},
    {**QUORUM, "x-delivery-limit": -1},
    {**QUORUM, "x-dead-letter-strategy": "at-least-once"},
])
def test_unmodelled_queue_features_are_unsupported(ch, arguments):
    """Streams and the quorum features memq does not model raise Unsupported."""
    with pytest.raises(errors.Unsupported):
        ch.queue_declare("q", durable=True, arguments=arguments)
