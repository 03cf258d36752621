"""Headers routing: memq agrees with the reference model for generated binding arguments and headers."""

from __future__ import annotations

import datetime
import decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memq
from memq import strategies as mst
from memq import testing

from . import model

_NO_HEADERS = None
_UTC = datetime.timezone.utc

# (binding arguments, message headers, routed?) -- RABBITMQ_FACTS.md, "Routing / Headers", row for row, then
# value comparisons seen on RabbitMQ 3.10.8 through pika 1.4.4 (a throwaway script; the types are pika's).
HEADERS_FACTS = [
    ({"x-match": "all", "a": 1, "b": 2}, {"a": 1, "b": 2}, True),
    ({"x-match": "all", "a": 1, "b": 2}, {"a": 1}, False),
    ({"x-match": "any", "a": 1, "b": 2}, {"a": 1}, True),
    ({"x-match": "any", "a": 1, "b": 2}, {"c": 1}, False),
    ({"a": 1, "b": 2}, {"a": 1}, False),
    ({"a": 1}, {"a": 1, "c": 3}, True),
    ({}, {}, True),
    ({}, _NO_HEADERS, True),
    ({"x-match": "all"}, _NO_HEADERS, True),
    ({"x-match": "any"}, {"a": 1}, False),
    ({"x-match": "all", "x-foo": 1}, {}, True),
    ({"x-match": "all", "x-foo": 1}, {"x-foo": 2}, True),
    ({"x-match": "any", "x-foo": 1}, {"x-foo": 1}, False),
    ({"x-match": "any", "x-foo": 1, "a": 1}, {"x-foo": 1}, False),
    ({"x-match": "all-with-x", "x-foo": 1}, {"x-foo": 1}, True),
    ({"x-match": "all-with-x", "x-foo": 1}, {}, False),
    ({"x-match": "any-with-x", "x-foo": 1, "a": 1}, {"x-foo": 1}, True),
    ({"x-match": "any-with-x", "x-foo": 1}, {"x-foo": 2}, False),
    ({"x-match": "all", "a": None}, {"a": 1}, True),
    ({"x-match": "all", "a": None}, {"a": None}, True),
    ({"x-match": "all", "a": None}, {}, False),
    ({"x-match": "any", "a": None}, {"a": "x"}, True),
    ({"x-match": "all", "a": 1}, {"a": "1"}, False),
    ({"x-match": "all", "a": 1}, {"a": True}, False),
    ({"x-match": "all", "a": "1"}, {"a": "1"}, True),
    # x-match itself is never compared, not even by the -with-x kinds; `x-` is case-sensitive.
    ({"x-match": "any-with-x"}, {"x-match": "any-with-x"}, False),
    ({"x-match": "all-with-x", "a": 1}, {"a": 1}, True),
    ({"X-foo": 1}, {}, False),
    # Top-level values compare as Erlang terms, without their AMQP type: a longstr equals a byte array, a
    # timestamp equals its seconds (pika sends whole seconds).
    ({"a": "x"}, {"a": b"x"}, True),
    ({"a": b"x"}, {"a": "x"}, True),
    ({"a": "é"}, {"a": "é".encode()}, True),
    ({"a": 1000}, {"a": datetime.datetime.fromtimestamp(1000, _UTC)}, True),
    ({"a": datetime.datetime.fromtimestamp(1000.5, _UTC)}, {"a": datetime.datetime.fromtimestamp(1000, _UTC)}, True),
    ({"a": decimal.Decimal("1.0")}, {"a": decimal.Decimal("1.00")}, True),
    ({"a": decimal.Decimal("1")}, {"a": 1}, False),
    ({"a": False}, {"a": 0}, False),
    ({"a": 1}, {"a": None}, False),
    ({"a": 1}, {"a": 2**40}, False),
    # Inside tables and arrays each value keeps its type, and a table keeps its order.
    ({"a": [1]}, {"a": [True]}, False),
    ({"a": ["x"]}, {"a": [b"x"]}, False),
    ({"a": [[1]]}, {"a": [[True]]}, False),
    ({"a": {"b": 1, "c": 2}}, {"a": {"c": 2, "b": 1}}, False),
    ({"a": {"b": "x"}}, {"a": {"b": b"x"}}, False),
    ({"a": {"b": 1}}, {"a": {"b": 1}}, True),
    ({"a": [1, "x"]}, {"a": [1, "x"]}, True),
    ({"a": {}}, {"a": []}, True),
]


@pytest.mark.parametrize(("arguments", "headers", "routes"), HEADERS_FACTS)
def test_reference_headers_match_follows_rabbitmq(arguments, headers, routes):
    """The model's headers match gives RabbitMQ's answer for every observed case."""
    assert model.headers_match(arguments, headers) is routes


@pytest.mark.parametrize(("arguments", "headers", "routes"), HEADERS_FACTS)
def test_headers_exchange_routes_as_rabbitmq(arguments, headers, routes):
    """memq's headers exchange routes every observed case as RabbitMQ does."""
    broker = memq.Broker(start=0)
    channel = broker.connect().channel()
    channel.exchange_declare("h", "headers")
    channel.queue_declare("q")
    channel.queue_bind("q", "h", "", arguments)
    assert testing.route(broker, "h", "", headers) == ({"q"} if routes else set())


def _aimed_headers(bindings: list[dict]) -> st.SearchStrategy[dict | None]:
    """Headers that match one of the bindings (in forms of other types too), miss one, or are anything."""
    aimed: list[st.SearchStrategy] = [st.none(), mst.headers_tables()]
    for arguments in bindings:
        for strategy in (mst.headers_matching, mst.headers_not_matching):
            try:
                aimed.append(strategy(arguments, equivalents=True) if strategy is mst.headers_matching
                             else strategy(arguments))
            except memq.errors.InvalidArgument:
                pass  # nothing matches (or everything does)
    return st.one_of(aimed)


@settings(deadline=None)
@given(data=st.data(), bindings=st.lists(mst.headers_binding_arguments(), min_size=1, max_size=4))
def test_headers_exchange_routes_as_reference_model(data, bindings):
    """Queues bound to a headers exchange with generated arguments get exactly the headers the model matches."""
    broker = memq.Broker(start=0)
    channel = broker.connect().channel()
    channel.exchange_declare("h", "headers")
    for i, arguments in enumerate(bindings):
        channel.queue_declare(f"q{i}")
        channel.queue_bind(f"q{i}", "h", "", arguments)
    for headers in data.draw(st.lists(_aimed_headers(bindings), min_size=1, max_size=4), label="headers"):
        expected = {f"q{i}" for i, arguments in enumerate(bindings) if model.headers_match(arguments, headers)}
        assert testing.route(broker, "h", "", headers) == expected, headers


@settings(deadline=None)
@given(expected=mst.header_values(), actual=mst.header_values())
def test_header_value_comparison_agrees_with_reference_model(expected, actual):
    """One binding value against one header value: memq and the model agree, whatever the two types."""
    assert testing.headers_match({"k": expected}, {"k": actual}) == model.headers_match({"k": expected}, {"k": actual})
