"""Topic routing: memq's trie, `memq.testing.topic_matches` and the reference regex agree on generated keys."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memq
from memq import strategies as mst
from memq import testing

from . import model

from routing_facts import TOPIC_FACTS  # noqa: E402


@pytest.mark.parametrize(("binding_key", "routing_key", "routes"), TOPIC_FACTS)
def test_reference_topic_matchers_follow_rabbitmq_table(binding_key, routing_key, routes):
    """The model's regex and `memq.testing.topic_matches` give RabbitMQ's answer for every row of the facts."""
    assert model.topic_matches(binding_key, routing_key) is routes
    assert testing.topic_matches(binding_key, routing_key) is routes


@settings(deadline=None)
@given(binding_key=mst.topic_patterns(), routing_key=mst.routing_keys())
def test_topic_matches_agrees_with_reference_regex(binding_key, routing_key):
    """`memq.testing.topic_matches` (dynamic programming) agrees with the reference regex on any pair."""
    assert testing.topic_matches(binding_key, routing_key) == model.topic_matches(binding_key, routing_key)


def _aimed_keys(patterns: list[str]) -> st.SearchStrategy[str]:
    """Keys that match one of the patterns, miss one narrowly, or are anything."""
    near = [mst.routing_keys_matching(p) for p in patterns]
    near += [mst.routing_keys_not_matching(p) for p in patterns if not (p and set(p.split(".")) == {"#"})]
    return st.one_of(*near, mst.routing_keys())


@settings(deadline=None)
@given(data=st.data(), patterns=st.lists(mst.topic_patterns(), min_size=1, max_size=4))
def test_topic_exchange_routes_as_reference_model(data, patterns):
    """Queues bound to a topic exchange by generated binding keys get exactly the keys the model matches."""
    broker = memq.Broker(start=0)
    channel = broker.connect().channel()
    channel.exchange_declare("t", "topic")
    for i, pattern in enumerate(patterns):
        channel.queue_declare(f"q{i}")
        channel.queue_bind(f"q{i}", "t", pattern)
    for key in data.draw(st.lists(_aimed_keys(patterns), min_size=1, max_size=6), label="keys"):
        expected = {f"q{i}" for i, pattern in enumerate(patterns) if model.topic_matches(pattern, key)}
        assert testing.route(broker, "t", key) == expected, key


@settings(deadline=None)
@given(data=st.data(), patterns=st.lists(mst.topic_patterns(max_words=4), min_size=1, max_size=4))
def test_topic_exchange_after_unbinds_routes_as_reference_model(data, patterns):
    """After some bindings are removed from the trie (shared prefixes, same key twice), the rest still route."""
    broker = memq.Broker(start=0)
    channel = broker.connect().channel()
    channel.exchange_declare("t", "topic")
    channel.queue_declare("q")
    channel.queue_declare("r")
    bound = [("q", p) for p in patterns] + [("r", p) for p in patterns[::2]]
    for queue, pattern in bound:
        channel.queue_bind(queue, "t", pattern)
    removed = data.draw(st.sets(st.sampled_from(bound)), label="unbound")
    for queue, pattern in removed:
        channel.queue_unbind(queue, "t", pattern)
    left = [b for b in bound if b not in removed]
    for key in data.draw(st.lists(_aimed_keys(patterns), min_size=1, max_size=4), label="keys"):
        expected = {queue for queue, pattern in left if model.topic_matches(pattern, key)}
        assert testing.route(broker, "t", key) == expected, key
