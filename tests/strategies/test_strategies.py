"""The strategies keep their promises: valid values, matching keys that match, misses that miss, the hard
corners reachable, and shrinking that ends on short, readable cases."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

import memq
from memq import errors
from memq import strategies as mst
from memq import testing
from memq._exchanges import split_topic_key

from . import model

SCALARS = mst.header_values(nested=False)
# Shrinking is checked with a fixed seed, so these tests give the same answer on every run.
FIND = settings(database=None, derandomize=True, max_examples=1000, suppress_health_check=list(HealthCheck))
REACH = settings(FIND, max_examples=500, phases=[Phase.generate])
ALL_HASHES = ("#", "#.#", "#.#.#")


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


@settings(deadline=None)
@given(key=mst.routing_keys(), pattern=mst.topic_patterns())
def test_keys_and_patterns_are_short_strings(key, pattern):
    """Routing keys and binding keys fit an AMQP short string: at most 255 UTF-8 bytes."""
    assert _size(key) <= mst.MAX_SHORT_STRING and _size(pattern) <= mst.MAX_SHORT_STRING


@settings(deadline=None)
@given(data=st.data(), pattern=mst.topic_patterns())
def test_routing_keys_matching_match_and_not_matching_miss(data, pattern):
    """`routing_keys_matching(p)` gives keys the reference regex matches; `..._not_matching(p)` keys it misses."""
    key = data.draw(mst.routing_keys_matching(pattern), label="matching")
    assert model.topic_matches(pattern, key) and _size(key) <= mst.MAX_SHORT_STRING
    if pattern and set(split_topic_key(pattern)) == {"#"}:
        return
    miss = data.draw(mst.routing_keys_not_matching(pattern), label="not matching")
    assert not model.topic_matches(pattern, miss) and _size(miss) <= mst.MAX_SHORT_STRING


@pytest.mark.parametrize("pattern", ALL_HASHES)
def test_routing_keys_not_matching_refuses_patterns_matching_everything(pattern):
    """A binding key of `#` words matches every routing key: asking for one it misses is an error."""
    with pytest.raises(errors.InvalidArgument):
        mst.routing_keys_not_matching(pattern)


def test_routing_keys_matching_refuses_patterns_longer_than_the_limit():
    """No key of at most `max_bytes` can match a binding key whose literal words are longer."""
    with pytest.raises(errors.InvalidArgument):
        mst.routing_keys_matching("abc.*", max_bytes=3)


@settings(deadline=None, max_examples=50)
@given(data=st.data(), arguments=mst.headers_binding_arguments())
def test_headers_matching_match_and_not_matching_miss(data, arguments):
    """`headers_matching(args)` gives headers the model matches (also in other types); `..._not_matching` misses."""
    try:
        headers = data.draw(mst.headers_matching(arguments, equivalents=True), label="matching")
    except errors.InvalidArgument:
        assert arguments.get("x-match", "").startswith("any")
    else:
        assert model.headers_match(arguments, headers)
    try:
        headers = data.draw(mst.headers_not_matching(arguments), label="not matching")
    except errors.InvalidArgument:
        assert not arguments.get("x-match", "all").startswith("any")
    else:
        assert not model.headers_match(arguments, headers)


@pytest.mark.parametrize(("strategy", "arguments"), [
    (mst.headers_matching, {"x-match": "any"}),
    (mst.headers_matching, {"x-match": "any", "x-a": 1}),
    (mst.headers_not_matching, {}),
    (mst.headers_not_matching, {"x-match": "all", "x-a": 1}),
    (mst.headers_matching, {"x-match": "bogus"}),
])
def test_headers_strategies_refuse_impossible_requests(strategy, arguments):
    """Nothing matches `any` of nothing; everything matches `all` of nothing; `x-match` must be valid."""
    with pytest.raises(errors.InvalidArgument):
        strategy(arguments)


@settings(deadline=None, max_examples=50)
@given(message=mst.messages())
def test_messages_are_accepted_by_basic_publish(message):
    """Generated messages (properties included) publish without error and arrive unchanged."""
    broker = memq.Broker(start=0)
    channel = broker.connect().channel()
    channel.queue_declare("q")
    channel.basic_publish("", "q", message.body, message.properties)
    got = channel.basic_get("q", auto_ack=True)
    assert got is None or (got.body, got.properties) == (message.body, message.properties)


@settings(deadline=None, max_examples=20)
@given(properties=mst.properties(delivery_mode=st.just(2), expiration=st.none()))
def test_properties_fields_given_are_always_drawn_from_their_strategy(properties):
    """A field given as a keyword is always drawn from its strategy (`st.none()` leaves it out)."""
    assert properties.delivery_mode == 2 and properties.expiration is None


def test_properties_refuses_unknown_fields():
    """A keyword that is not a field of `memq.Properties` is an error."""
    with pytest.raises(errors.InvalidArgument):
        mst.properties(colour=st.just("red"))


@settings(deadline=None, max_examples=50)
@given(topology=mst.topologies())
def test_topologies_declare_without_error(topology):
    """Every generated topology declares on memq without an error, and round-trips through plain data."""
    broker = memq.Broker(start=0)
    testing.declare(broker, topology)
    assert testing.Topology.from_dict(topology.to_dict()) == topology
    broker.check_invariants()


# --- corners reached, and what shrinking ends on ---------------------------------------------------

def _words(text: str) -> list[str]:
    return split_topic_key(text)


def _pairs(text: str) -> set[tuple[str, str]]:
    """The pairs of adjacent words."""
    words = _words(text)
    return set(zip(words, words[1:]))


# Corners that shrink to one plain value: (name, strategy, condition, what shrinking ends on).
SHRINKS = [
    ("empty word", mst.routing_keys(), lambda k: "" in _words(k), ["a.", ".a", "."]),
    ("non-ASCII word", mst.routing_keys(), lambda k: any(ord(c) > 127 for c in k), ["é", "\xa0"]),
    ("255 bytes", mst.routing_keys(), lambda k: _size(k) == 255, ["a" * 255]),
    ("255 bytes, multi-byte", mst.routing_keys(), lambda k: _size(k) == 255 and len(k) < 255,
     ["é" * 127 + "a", "日" * 85, "🐇" * 63 + "aaa"]),
    ("#.#", mst.topic_patterns(), lambda p: ("#", "#") in _pairs(p), ["#.#"]),
    ("* next to #", mst.topic_patterns(), lambda p: {("*", "#"), ("#", "*")} & _pairs(p), ["*.#", "#.*"]),
    ("wildcard look-alike", mst.topic_patterns(), lambda p: "#a" in _words(p), ["#a"]),
    ("void binding value", mst.headers_binding_arguments(values=SCALARS), lambda a: None in a.values(),
     [{"a": None}]),
]

# Corners that are generated at all: (name, strategy, condition).
REACHED = [
    ("literal # in a key", mst.routing_keys(), lambda k: "#" in _words(k)),
    ("4-byte UTF-8", mst.routing_keys(), lambda k: any(ord(c) > 0xFFFF for c in k)),
    ("# first", mst.topic_patterns(), lambda p: len(_words(p)) >= 3 and _words(p)[0] == "#"),
    ("# in the middle", mst.topic_patterns(), lambda p: len(_words(p)) >= 3 and _words(p)[1] == "#"),
    ("# last", mst.topic_patterns(), lambda p: len(_words(p)) >= 3 and _words(p)[-1] == "#"),
    ("empty word next to #", mst.topic_patterns(), lambda p: {("", "#"), ("#", "")} & _pairs(p)),
    ("255-byte binding key", mst.topic_patterns(), lambda p: _size(p) == 255),
    ("255-byte matching key", mst.routing_keys_matching("a.*.#"), lambda k: _size(k) == 255),
    ("any-with-x", mst.headers_binding_arguments(),
     lambda a: a.get("x-match") == "any-with-x" and any(k.startswith("x-") for k in a if k != "x-match")),
    ("nested header", mst.headers_tables(), lambda h: any(isinstance(v, (list, dict)) and v for v in h.values())),
    ("byte-array header", mst.headers_tables(), lambda h: any(isinstance(v, bytes) for v in h.values())),
    ("equal value of another type", mst.headers_matching({"a": 1000}, equivalents=True),
     lambda h: not isinstance(h["a"], int)),
]


@pytest.mark.parametrize(("strategy", "condition", "smallest"), [c[1:] for c in SHRINKS], ids=[c[0] for c in SHRINKS])
def test_corner_shrinks_to_plain_value(strategy, condition, smallest):
    """The smallest example of a corner Hypothesis shrinks to is the plain one."""
    assert find(strategy, condition, settings=FIND) in smallest


@pytest.mark.parametrize(("strategy", "condition"), [c[1:] for c in REACHED], ids=[c[0] for c in REACHED])
def test_corner_is_reached(strategy, condition):
    """Each hard corner is among the first examples generated."""
    find(strategy, condition, settings=REACH)
