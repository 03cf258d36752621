"""Exchanges: declare, delete, equivalence, reserved names, the default exchange, internal, auto-delete,
exchange-to-exchange bindings and alternate exchanges."""

from __future__ import annotations

import pytest

from memq import errors
from memq import events as ev

from .support import drain, publish

EQUIVALENT_BASE = dict(exchange_type="direct", durable=False, arguments={"alternate-exchange": "ae"})


def _refused(ch, call, *args, **kwargs):
    with pytest.raises(errors.AMQPError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- declare ---------------------------------------------------------------------------------


def test_exchange_declare_creates_exchange_once(ch, broker):
    """Declaring an exchange twice with the same properties creates it once."""
    ch.exchange_declare("x", "fanout", durable=True)
    ch.exchange_declare("x", "fanout", durable=True)
    assert [e.exchange for e in broker.trace.of_type(ev.ExchangeDeclared)] == ["x"]


def test_exchange_declare_passive_missing_is_404(conn, ch):
    """A passive declare of a missing exchange is 404 and closes the channel."""
    error = _refused(ch, ch.exchange_declare, "x", passive=True)
    assert (error.reply_code, error.reply_text) == (404, "NOT_FOUND - no exchange 'x' in vhost '/'")
    assert not ch.is_open and conn.is_open


def test_exchange_declare_passive_existing_ignores_type(ch):
    """A passive declare of an existing exchange succeeds whatever type and flags it names."""
    ch.exchange_declare("x", "direct")
    ch.exchange_declare("x", "fanout", passive=True, durable=True, internal=True)
    assert ch.is_open


def test_exchange_declare_unknown_type_closes_connection_with_503(conn, ch):
    """An unknown exchange type is a hard 503 COMMAND_INVALID: the connection closes."""
    other = conn.channel()
    error = _refused(ch, ch.exchange_declare, "x", "bogus")
    assert isinstance(error, errors.CommandInvalid) and error.hard
    assert error.reply_text == "COMMAND_INVALID - unknown exchange type 'bogus'"
    assert not conn.is_open and not other.is_open


def test_exchange_declare_unknown_type_passive_missing_is_404(conn, ch):
    """A passive declare with an unknown type of a missing exchange is a soft 404."""
    error = _refused(ch, ch.exchange_declare, "x", "bogus", passive=True)
    assert error.reply_code == 404 and conn.is_open


@pytest.mark.parametrize("kind", ["x-consistent-hash", "x-delayed-message"])
def test_exchange_declare_plugin_type_is_unsupported(ch, kind):
    """Exchange types from RabbitMQ plugins raise Unsupported rather than being approximated."""
    with pytest.raises(errors.Unsupported):
        ch.exchange_declare("x", kind)


def test_exchange_declare_accepts_exchange_type_enum(ch):
    """`ExchangeType.TOPIC` is accepted where a type name is expected."""
    from memq import ExchangeType

    ch.exchange_declare("x", ExchangeType.TOPIC)
    ch.exchange_declare("x", "topic")
    assert ch.is_open


# --- equivalence -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "text"),
    [
        (dict(exchange_type="fanout"), "inequivalent arg 'type' for exchange 'x' in vhost '/': "
         "received 'fanout' but current is 'direct'"),
        (dict(durable=True), "inequivalent arg 'durable' for exchange 'x' in vhost '/': "
         "received 'true' but current is 'false'"),
        (dict(auto_delete=True), "inequivalent arg 'auto_delete' for exchange 'x' in vhost '/': "
         "received 'true' but current is 'false'"),
        (dict(internal=True), "inequivalent arg 'internal' for exchange 'x' in vhost '/': "
         "received 'true' but current is 'false'"),
        (dict(arguments={"alternate-exchange": "ae2"}), "inequivalent arg 'alternate-exchange' for exchange "
         "'x' in vhost '/': received 'ae2' but current is 'ae'"),
        (dict(arguments={}), "inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': "
         "received none but current is the value 'ae' of type 'longstr'"),
    ],
)
def test_exchange_redeclare_inequivalent_is_406(conn, ch, change, text):
    """Redeclaring an exchange with one property changed is 406 with RabbitMQ's text."""
    ch.exchange_declare("x", **EQUIVALENT_BASE)
    error = _refused(ch, ch.exchange_declare, "x", **{**EQUIVALENT_BASE, **change})
    assert (error.reply_code, error.reply_text) == (406, "PRECONDITION_FAILED - " + text)
    assert not ch.is_open and conn.is_open


def test_exchange_redeclare_with_extra_argument_is_accepted(ch):
    """An argument RabbitMQ does not compare (`foo`) may differ on redeclare."""
    ch.exchange_declare("x", **EQUIVALENT_BASE)
    ch.exchange_declare("x", "direct", arguments={"alternate-exchange": "ae", "foo": 1})
    assert ch.is_open


def test_predeclared_exchange_redeclare_durable_is_accepted(ch):
    """`amq.direct` can be redeclared as the durable direct exchange it is."""
    ch.exchange_declare("amq.direct", "direct", durable=True)
    assert ch.is_open


def test_predeclared_exchange_redeclare_non_durable_is_406(ch):
    """Redeclaring `amq.direct` non-durable is 406 (durable differs), not 403."""
    error = _refused(ch, ch.exchange_declare, "amq.direct", "direct")
    assert error.reply_text == ("PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'amq.direct' "
                                "in vhost '/': received 'false' but current is 'true'")


# --- reserved names and the default exchange ------------------------------------------------


@pytest.mark.parametrize(
    ("call", "args", "code", "text"),
    [
        ("exchange_declare", ("amq.foo",), 403,
         "ACCESS_REFUSED - exchange name 'amq.foo' contains reserved prefix 'amq.*'"),
        ("exchange_declare", ("amq.foo", "direct", True), 404, "NOT_FOUND - no exchange 'amq.foo' in vhost '/'"),
        ("exchange_delete", ("amq.direct",), 403,
         "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed"),
        ("exchange_delete", ("amq.foo",), 403,
         "ACCESS_REFUSED - deletion of system exchange 'amq.foo' in vhost '/' not allowed"),
        ("exchange_delete", ("",), 403, "ACCESS_REFUSED - operation not permitted on the default exchange"),
        ("exchange_declare", ("",), 403, "ACCESS_REFUSED - operation not permitted on the default exchange"),
        ("exchange_declare", ("", "direct", True), 403,
         "ACCESS_REFUSED - operation not permitted on the default exchange"),
        ("queue_bind", ("q", ""), 403, "ACCESS_REFUSED - operation not permitted on the default exchange"),
        ("queue_unbind", ("q", "", "q"), 403, "ACCESS_REFUSED - operation not permitted on the default exchange"),
        ("exchange_bind", ("", "amq.direct"), 403, "ACCESS_REFUSED - operation not permitted on the default exchange"),
        ("exchange_bind", ("amq.direct", ""), 403, "ACCESS_REFUSED - operation not permitted on the default exchange"),
    ],
)
def test_reserved_and_default_exchange_operations_are_refused(conn, ch, call, args, code, text):
    """Operations on `amq.*` names and the default exchange fail with RabbitMQ's code and text."""
    ch.queue_declare("q")
    error = _refused(ch, getattr(ch, call), *args)
    assert (error.reply_code, error.reply_text) == (code, text)
    assert not ch.is_open and conn.is_open


def test_predeclared_exchanges_exist_durable(ch):
    """amq.direct, amq.fanout, amq.topic, amq.headers and amq.match exist, durable, with their types."""
    for name, kind in (("amq.direct", "direct"), ("amq.fanout", "fanout"), ("amq.topic", "topic"),
                       ("amq.headers", "headers"), ("amq.match", "headers")):
        ch.exchange_declare(name, kind, durable=True)
    assert ch.is_open


# --- delete ----------------------------------------------------------------------------------


def test_exchange_delete_missing_is_accepted(ch):
    """Deleting an exchange that does not exist is not an error, with or without if_unused."""
    ch.exchange_delete("nope")
    ch.exchange_delete("nope", if_unused=True)
    assert ch.is_open


def test_exchange_delete_removes_its_bindings(ch):
    """Deleting an exchange removes its bindings: a redeclared exchange of that name routes nowhere."""
    ch.exchange_declare("x", "fanout")
    ch.queue_declare("q")
    ch.queue_bind("q", "x")
    ch.exchange_delete("x")
    ch.exchange_declare("x", "fanout")
    publish(ch, "x", "", "m")
    assert drain(ch, "q") == []


def test_exchange_delete_if_unused_with_queue_binding_is_406(ch):
    """`if_unused` refuses to delete an exchange with a queue bound to it."""
    ch.exchange_declare("x", "fanout")
    ch.queue_declare("q")
    ch.queue_bind("q", "x")
    error = _refused(ch, ch.exchange_delete, "x", if_unused=True)
    assert error.reply_text == "PRECONDITION_FAILED - exchange 'x' in vhost '/' in use"


def test_exchange_delete_if_unused_as_source_of_exchange_binding_is_406(ch):
    """`if_unused` refuses to delete an exchange that is the source of an exchange binding."""
    ch.exchange_declare("x", "fanout")
    ch.exchange_declare("y", "fanout")
    ch.exchange_bind("y", "x")
    error = _refused(ch, ch.exchange_delete, "x", if_unused=True)
    assert error.reply_code == 406


def test_exchange_delete_if_unused_only_destination_is_accepted(conn, ch):
    """`if_unused` deletes an exchange that is only the destination of an exchange binding."""
    ch.exchange_declare("x", "fanout")
    ch.exchange_declare("y", "fanout")
    ch.exchange_bind("y", "x")
    ch.exchange_delete("y", if_unused=True)
    error = _refused(ch, ch.exchange_declare, "y", passive=True)
    assert error.reply_code == 404


def test_exchange_delete_of_destination_removes_exchange_binding(ch):
    """Deleting the destination of an exchange binding removes the binding from the source."""
    ch.exchange_declare("x", "fanout")
    ch.exchange_declare("y", "fanout")
    ch.exchange_bind("y", "x")
    ch.exchange_delete("y")
    ch.exchange_delete("x", if_unused=True)
    assert ch.is_open


# --- internal --------------------------------------------------------------------------------


def test_publish_to_internal_exchange_is_403(conn, ch):
    """Publishing to an internal exchange is 403 and closes the channel."""
    ch.exchange_declare("x", "fanout", internal=True)
    error = _refused(ch, ch.basic_publish, "x", "", b"m")
    assert error.reply_text == "ACCESS_REFUSED - cannot publish to internal exchange 'x' in vhost '/'"
    assert not ch.is_open and conn.is_open


def test_internal_exchange_routes_through_exchange_binding(ch):
    """An internal exchange takes messages from an exchange bound to it."""
    ch.exchange_declare("front", "fanout")
    ch.exchange_declare("inner", "fanout", internal=True)
    ch.exchange_bind("inner", "front")
    ch.queue_declare("q")
    ch.queue_bind("q", "inner")
    publish(ch, "front", "", "m")
    assert drain(ch, "q") == [b"m"]


# --- auto-delete -----------------------------------------------------------------------------


def test_auto_delete_exchange_survives_until_first_binding(ch):
    """An auto-delete exchange that never had a binding stays."""
    ch.exchange_declare("x", "direct", auto_delete=True)
    ch.exchange_declare("x", "direct", passive=True)
    assert ch.is_open


def test_auto_delete_exchange_goes_with_last_unbind(ch):
    """An auto-delete exchange is deleted when its last binding is unbound."""
    ch.exchange_declare("x", "direct", auto_delete=True)
    ch.queue_declare("q")
    ch.queue_bind("q", "x", "a")
    ch.queue_bind("q", "x", "b")
    ch.queue_unbind("q", "x", "a")
    ch.exchange_declare("x", "direct", passive=True)
    ch.queue_unbind("q", "x", "b")
    error = _refused(ch, ch.exchange_declare, "x", passive=True)
    assert error.reply_code == 404


def test_auto_delete_exchange_goes_with_bound_queue(ch):
    """An auto-delete exchange is deleted when its only bound queue is deleted."""
    ch.exchange_declare("x", "fanout", auto_delete=True)
    ch.queue_declare("q")
    ch.queue_bind("q", "x")
    ch.queue_delete("q")
    error = _refused(ch, ch.exchange_declare, "x", passive=True)
    assert error.reply_code == 404


def test_auto_delete_exchange_goes_when_destination_exchange_deleted(ch):
    """An auto-delete exchange whose only binding is to another exchange goes when that exchange is deleted."""
    ch.exchange_declare("x", "fanout", auto_delete=True)
    ch.exchange_declare("y", "fanout")
    ch.exchange_bind("y", "x")
    ch.exchange_delete("y")
    error = _refused(ch, ch.exchange_declare, "x", passive=True)
    assert error.reply_code == 404


# --- exchange-to-exchange bindings ----------------------------------------------------------


def test_exchange_binding_routes_by_source_then_destination_rules(ch):
    """A message goes through a direct source into a topic destination, each applying its own match."""
    ch.exchange_declare("src", "direct")
    ch.exchange_declare("dst", "topic")
    ch.exchange_bind("dst", "src", "a.b")
    ch.queue_declare("q")
    ch.queue_bind("q", "dst", "a.*")
    publish(ch, "src", "a.b", "yes")
    publish(ch, "src", "a.c", "no")
    assert drain(ch, "q") == [b"yes"]


def test_exchange_binding_missing_source_or_destination_is_404(ch, conn):
    """exchange_bind naming a missing exchange on either side is 404 for that exchange."""
    error = _refused(ch, ch.exchange_bind, "amq.direct", "x")
    assert error.reply_text == "NOT_FOUND - no exchange 'x' in vhost '/'"
    other = conn.channel()
    error = _refused(other, other.exchange_bind, "x", "amq.direct")
    assert error.reply_text == "NOT_FOUND - no exchange 'x' in vhost '/'"


def test_exchange_binding_cycle_delivers_once(ch):
    """Exchanges bound in a cycle route a message to each queue once and terminate."""
    ch.exchange_declare("a", "fanout")
    ch.exchange_declare("b", "fanout")
    ch.exchange_bind("b", "a")
    ch.exchange_bind("a", "b")
    ch.queue_declare("q")
    ch.queue_bind("q", "a")
    ch.queue_bind("q", "b")
    publish(ch, "a", "", "m")
    assert drain(ch, "q") == [b"m"]


def test_exchange_binding_and_direct_binding_deliver_once(ch):
    """A queue reached directly and through an exchange binding gets one copy."""
    ch.exchange_declare("a", "fanout")
    ch.exchange_declare("b", "fanout")
    ch.exchange_bind("b", "a")
    ch.queue_declare("q")
    ch.queue_bind("q", "a")
    ch.queue_bind("q", "b")
    publish(ch, "a", "", "m")
    assert drain(ch, "q") == [b"m"]


def test_exchange_unbind_stops_routing(ch):
    """After exchange_unbind the destination no longer gets the source's messages."""
    ch.exchange_declare("a", "direct")
    ch.exchange_declare("b", "fanout")
    ch.exchange_bind("b", "a", "k")
    ch.queue_declare("q")
    ch.queue_bind("q", "b")
    ch.exchange_unbind("b", "a", "k")
    ch.exchange_unbind("b", "a", "never-bound")
    publish(ch, "a", "k", "m")
    assert drain(ch, "q") == []


# --- alternate exchanges ---------------------------------------------------------------------


def test_alternate_exchange_takes_unroutable_message(ch):
    """A message its exchange cannot route goes to the alternate exchange."""
    ch.exchange_declare("ae", "fanout")
    ch.queue_declare("unrouted")
    ch.queue_bind("unrouted", "ae")
    ch.exchange_declare("x", "direct", arguments={"alternate-exchange": "ae"})
    ch.queue_declare("q")
    ch.queue_bind("q", "x", "k")
    publish(ch, "x", "k", "routed")
    publish(ch, "x", "other", "lost")
    assert (drain(ch, "q"), drain(ch, "unrouted")) == ([b"routed"], [b"lost"])


def test_alternate_exchange_missing_drops_message(ch, broker):
    """An alternate exchange that does not exist leaves the message unroutable."""
    ch.exchange_declare("x", "direct", arguments={"alternate-exchange": "nope"})
    publish(ch, "x", "k", "m")
    assert len(broker.trace.of_type(ev.Unroutable)) == 1


def test_alternate_exchange_chain_is_followed(ch):
    """An alternate exchange that cannot route either passes the message to its own alternate."""
    ch.exchange_declare("ae2", "fanout")
    ch.exchange_declare("ae1", "direct", arguments={"alternate-exchange": "ae2"})
    ch.exchange_declare("x", "direct", arguments={"alternate-exchange": "ae1"})
    ch.queue_declare("last")
    ch.queue_bind("last", "ae2")
    publish(ch, "x", "k", "m")
    assert drain(ch, "last") == [b"m"]


def test_alternate_exchange_pointing_at_itself_terminates(ch, broker):
    """An exchange that is its own alternate leaves an unroutable message unroutable."""
    ch.exchange_declare("x", "direct", arguments={"alternate-exchange": "x"})
    publish(ch, "x", "k", "m")
    assert len(broker.trace.of_type(ev.Unroutable)) == 1


def test_mandatory_message_taken_by_alternate_exchange_is_not_returned(ch):
    """A mandatory message routed by the alternate exchange is not returned."""
    returned = []
    ch.add_on_return_callback(lambda channel, r: returned.append(r))
    ch.exchange_declare("ae", "fanout")
    ch.queue_declare("unrouted")
    ch.queue_bind("unrouted", "ae")
    ch.exchange_declare("x", "direct", arguments={"alternate-exchange": "ae"})
    ch.basic_publish("x", "k", b"m", mandatory=True)
    assert returned == [] and drain(ch, "unrouted") == [b"m"]


def test_alternate_exchange_of_destination_exchange_is_used(ch):
    """A destination exchange that routes nothing hands the message to its own alternate exchange."""
    ch.exchange_declare("ae", "fanout")
    ch.queue_declare("unrouted")
    ch.queue_bind("unrouted", "ae")
    ch.exchange_declare("src", "fanout")
    ch.exchange_declare("dst", "direct", arguments={"alternate-exchange": "ae"})
    ch.exchange_bind("dst", "src")
    publish(ch, "src", "k", "m")
    assert drain(ch, "unrouted") == [b"m"]
