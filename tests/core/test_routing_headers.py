"""Headers routing: every row of the fact sheet's headers table, x-match checks, amq.headers/amq.match."""

from __future__ import annotations

import pytest

from memq import Properties, errors

from .support import drain


from routing_facts import HEADERS_FACTS as HEADERS_TABLE  # noqa: E402


@pytest.mark.parametrize(("arguments", "headers", "routes"), HEADERS_TABLE)
def test_headers_match_follows_rabbitmq_table(ch, arguments, headers, routes):
    """A headers binding routes a message exactly when RabbitMQ's headers table says it does."""
    ch.exchange_declare("h", "headers")
    ch.queue_declare("q")
    ch.queue_bind("q", "h", "", arguments=arguments)
    properties = None if headers is None else Properties(headers=headers)
    ch.basic_publish("h", "", b"m", properties)
    assert drain(ch, "q") == ([b"m"] if routes else [])


def test_headers_routing_ignores_routing_key(ch):
    """A headers exchange routes on headers alone, whatever the binding and routing keys."""
    ch.exchange_declare("h", "headers")
    ch.queue_declare("q")
    ch.queue_bind("q", "h", "some-key", arguments={"a": 1})
    ch.basic_publish("h", "other-key", b"m", Properties(headers={"a": 1}))
    assert drain(ch, "q") == [b"m"]


def test_headers_bogus_x_match_closes_channel_with_406(conn, ch):
    """Binding with an unknown x-match is a 406 with RabbitMQ's text, and closes the channel."""
    ch.exchange_declare("h", "headers")
    ch.queue_declare("q")
    with pytest.raises(errors.PreconditionFailed) as caught:
        ch.queue_bind("q", "h", "", arguments={"x-match": "bogus"})
    assert caught.value.reply_text == (
        'PRECONDITION_FAILED - Invalid x-match field value <<"bogus">>; '
        "expected all, any, all-with-x, or any-with-x"
    )
    assert not ch.is_open and conn.is_open


def test_headers_x_match_not_checked_on_other_exchange_types(ch):
    """x-match in the arguments of a binding to a direct exchange is just an argument."""
    ch.queue_declare("q")
    ch.queue_bind("q", "amq.direct", "k", arguments={"x-match": "bogus"})
    ch.basic_publish("amq.direct", "k", b"m")
    assert drain(ch, "q") == [b"m"]


@pytest.mark.parametrize("exchange", ["amq.headers", "amq.match"])
def test_headers_predeclared_exchanges_route_by_headers(ch, exchange):
    """`amq.headers` and `amq.match` are headers exchanges."""
    ch.queue_declare("q")
    ch.queue_bind("q", exchange, "", arguments={"x-match": "any", "k": "v"})
    ch.basic_publish(exchange, "", b"yes", Properties(headers={"k": "v"}))
    ch.basic_publish(exchange, "", b"no", Properties(headers={"k": "w"}))
    assert drain(ch, "q") == [b"yes"]


def test_headers_same_binding_key_different_arguments_are_two_bindings(ch):
    """Two bindings of one queue differing only in arguments both exist; a message matching both is enqueued once."""
    ch.exchange_declare("h", "headers")
    ch.queue_declare("q")
    ch.queue_bind("q", "h", "", arguments={"a": 1})
    ch.queue_bind("q", "h", "", arguments={"b": 2})
    ch.basic_publish("h", "", b"a", Properties(headers={"a": 1}))
    ch.basic_publish("h", "", b"b", Properties(headers={"b": 2}))
    ch.basic_publish("h", "", b"ab", Properties(headers={"a": 1, "b": 2}))
    ch.queue_unbind("q", "h", "", arguments={"a": 1})
    ch.basic_publish("h", "", b"a2", Properties(headers={"a": 1}))
    assert drain(ch, "q") == [b"a", b"b", b"ab"]
