"""Topic routing: every row of the fact sheet's topic table, and removal from the binding trie."""

from __future__ import annotations

import pytest

from .support import drain

from routing_facts import TOPIC_FACTS as TOPIC_TABLE  # noqa: E402


@pytest.mark.parametrize(("binding_key", "routing_key", "routes"), TOPIC_TABLE)
def test_topic_match_follows_rabbitmq_table(ch, binding_key, routing_key, routes):
    """A topic binding routes a routing key exactly when RabbitMQ's topic table says it does."""
    ch.exchange_declare("t", "topic")
    ch.queue_declare("q")
    ch.queue_bind("q", "t", binding_key)
    ch.basic_publish("t", routing_key, b"m")
    assert drain(ch, "q") == ([b"m"] if routes else [])


def test_topic_unbind_removes_only_that_binding_from_trie(ch):
    """Unbinding `a.b.c` leaves the bindings that share its prefix (`a.b`, `a.#`) routing."""
    ch.exchange_declare("t", "topic")
    for queue, key in (("abc", "a.b.c"), ("ab", "a.b"), ("ahash", "a.#")):
        ch.queue_declare(queue)
        ch.queue_bind(queue, "t", key)
    ch.queue_unbind("abc", "t", "a.b.c")
    ch.basic_publish("t", "a.b.c", b"1")
    ch.basic_publish("t", "a.b", b"2")
    assert (drain(ch, "abc"), drain(ch, "ab"), drain(ch, "ahash")) == ([], [b"2"], [b"1", b"2"])


def test_topic_rebind_after_unbind_routes_again(ch):
    """A binding key removed from the trie and bound again routes as before."""
    ch.exchange_declare("t", "topic")
    ch.queue_declare("q")
    ch.queue_bind("q", "t", "x.*.z")
    ch.queue_unbind("q", "t", "x.*.z")
    ch.basic_publish("t", "x.y.z", b"gone")
    ch.queue_bind("q", "t", "x.*.z")
    ch.basic_publish("t", "x.y.z", b"back")
    assert drain(ch, "q") == [b"back"]


def test_topic_unbind_of_one_queue_keeps_other_queue_on_same_key(ch):
    """Two queues bound with the same key: unbinding one leaves the other's binding in the trie node."""
    ch.exchange_declare("t", "topic")
    for queue in ("q1", "q2"):
        ch.queue_declare(queue)
        ch.queue_bind(queue, "t", "k.#")
    ch.queue_unbind("q1", "t", "k.#")
    ch.basic_publish("t", "k.x", b"m")
    assert (drain(ch, "q1"), drain(ch, "q2")) == ([], [b"m"])


def test_topic_trie_prunes_empty_nodes_on_unbind(ch, broker):
    """After every binding of a deep key goes, the trie keeps no node for it."""
    ch.exchange_declare("t", "topic")
    ch.queue_declare("q")
    ch.queue_bind("q", "t", "a.b.c.d")
    ch.queue_bind("q", "t", "a.#")
    ch.queue_unbind("q", "t", "a.b.c.d")
    root = broker.vhosts["/"].exchanges["t"]._router._root
    assert list(root.children) == ["a"] and list(root.children["a"].children) == ["#"]
    ch.queue_unbind("q", "t", "a.#")
    assert root.children == {}


def test_topic_queue_delete_removes_its_bindings_from_trie(ch):
    """Deleting a queue removes its topic bindings, so a redeclared queue of that name gets nothing."""
    ch.exchange_declare("t", "topic")
    ch.queue_declare("q")
    ch.queue_bind("q", "t", "#")
    ch.queue_delete("q")
    ch.queue_declare("q")
    ch.basic_publish("t", "any", b"m")
    assert drain(ch, "q") == []


def test_topic_message_matching_several_bindings_is_enqueued_once(ch):
    """A message matching several bindings of one queue (`#`, `a.*`, `a.b`) is enqueued once."""
    ch.exchange_declare("t", "topic")
    ch.queue_declare("q")
    for key in ("#", "a.*", "a.b", "*.#"):
        ch.queue_bind("q", "t", key)
    ch.basic_publish("t", "a.b", b"m")
    assert drain(ch, "q") == [b"m"]


def test_topic_routes_to_amq_topic(ch):
    """The predeclared `amq.topic` exchange routes by topic."""
    ch.queue_declare("q")
    ch.queue_bind("q", "amq.topic", "logs.*.error")
    ch.basic_publish("amq.topic", "logs.web.error", b"e")
    ch.basic_publish("amq.topic", "logs.web.info", b"i")
    assert drain(ch, "q") == [b"e"]
