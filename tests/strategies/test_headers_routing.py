"""Headers routing: memq agrees with the reference model for generated binding arguments and headers."""

from __future__ import annotations


import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memq
from memq import strategies as mst
from memq import testing

from . import model


from routing_facts import HEADERS_FACTS  # noqa: E402


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
