"""memq.testing: topologies from plain data, declared on a broker or a channel; routes without publishing."""

from __future__ import annotations

import pytest

import memq
from memq import errors, testing

LOGS = {
    "exchanges": {"topic_logs": "topic", "alerts": {"type": "fanout", "internal": True}},
    "queues": {"kern": {}, "critical": {"arguments": {"x-max-length": 10}}, "pager": {}},
    "bindings": [
        ("topic_logs", "kern", "kern.*"),
        {"source": "topic_logs", "queue": "critical", "routing_key": "*.critical"},
        {"source": "topic_logs", "exchange": "alerts", "routing_key": "*.critical"},
        ("alerts", "pager", ""),
    ],
}


def test_from_dict_reads_every_form():
    """Types as strings or dicts, queues as a mapping, bindings as tuples or dicts (to a queue or an exchange)."""
    topology = testing.Topology.from_dict(LOGS)
    assert topology.exchanges == (testing.Exchange("topic_logs", "topic"), testing.Exchange("alerts", "fanout", internal=True))
    assert topology.queues[1] == testing.Queue("critical", arguments={"x-max-length": 10})
    assert topology.bindings == (
        testing.Binding("topic_logs", "kern", "kern.*"),
        testing.Binding("topic_logs", "critical", "*.critical"),
        testing.Binding("topic_logs", "alerts", "*.critical", destination_kind="exchange"),
        testing.Binding("alerts", "pager", ""),
    )


def test_from_dict_reads_lists_and_resolves_tuple_destinations():
    """Queues and exchanges may be lists; a tuple binding to a declared exchange's name is an exchange binding."""
    topology = testing.Topology.from_dict({
        "exchanges": [{"name": "a", "type": "fanout"}, {"name": "b", "type": "direct"}],
        "queues": ["q"],
        "bindings": [("a", "b", ""), ("b", "q", "k", {"note": 1})],
    })
    assert topology.bindings == (testing.Binding("a", "b", "", destination_kind="exchange"),
                                 testing.Binding("b", "q", "k", {"note": 1}))


def test_to_dict_round_trips():
    """`to_dict` gives plain data that `from_dict` reads back to the same topology."""
    topology = testing.Topology.from_dict(LOGS)
    assert testing.Topology.from_dict(topology.to_dict()) == topology


@pytest.mark.parametrize("description", [
    {"exchange": {}},
    {"exchanges": {"x": {"kind": "topic"}}},
    {"exchanges": {"x": "bogus"}},
    {"queues": {"q": {"ttl": 5}}},
    {"bindings": [{"source": "x", "queue": "q", "exchange": "y"}]},
    {"exchanges": {"same": "direct"}, "queues": ["same"], "bindings": [("x", "same", "")]},
])
def test_from_dict_refuses_unclear_descriptions(description):
    """Unknown keys, unknown exchange types, two destinations or an ambiguous name are errors, not guesses."""
    with pytest.raises(errors.InvalidArgument):
        testing.Topology.from_dict(description)


def test_declare_on_broker_then_route_without_publishing():
    """`declare(broker, ...)` makes everything; `route` follows bindings, exchange bindings, and publishes nothing."""
    broker = memq.Broker(start=0)
    channel = testing.declare(broker, LOGS)
    assert channel.is_open
    assert testing.route(broker, "topic_logs", "kern.critical") == {"kern", "critical", "pager"}
    assert testing.route(broker, "topic_logs", "cron.info") == set()
    assert testing.route(broker, "", "kern") == {"kern"}
    assert list(broker.trace.of_type(memq.events.Published)) == []


def test_declare_on_a_channel_keeps_predeclared_exchanges():
    """On a channel, `declare` uses that channel; `amq.*` exchanges are bound to, never declared."""
    broker = memq.Broker(start=0)
    channel = broker.connect().channel()
    topology = testing.Topology(exchanges=[testing.Exchange("amq.topic", "topic")], queues=[testing.Queue("q")],
                                bindings=[testing.Binding("amq.topic", "q", "a.#")])
    assert testing.declare(channel, topology) is channel
    assert testing.route(broker, "amq.topic", "a.b") == {"q"}


def test_declare_through_pika():
    """A pika `BlockingChannel` (here on memq) declares the same topology through pika's method names."""
    pika = pytest.importorskip("pika")
    import memq.pika

    broker = memq.Broker(start=0)
    with memq.pika.patched(broker):
        channel = pika.BlockingConnection(pika.ConnectionParameters("localhost")).channel()
        testing.declare(channel, LOGS)
    assert testing.route(broker, "topic_logs", "disk.critical") == {"critical", "pager"}


def test_route_takes_a_message_and_its_headers():
    """`route` reads the routing key and headers of a `Message`; explicit headers take precedence."""
    broker = memq.Broker(start=0)
    testing.declare(broker, {"exchanges": {"h": "headers"}, "queues": ["pdf"],
                             "bindings": [{"source": "h", "queue": "pdf", "arguments": {"format": "pdf"}}]})
    message = testing.Message("", properties=memq.Properties(headers={"format": "pdf"}))
    assert testing.route(broker, "h", message) == {"pdf"}
    assert testing.route(broker, "h", message, headers={"format": "zip"}) == set()
    with pytest.raises(errors.NotFound):
        testing.route(broker, "missing", "k")


def test_records_print_without_defaults():
    """Reprs leave defaults out, so falsifying examples stay short."""
    assert repr(testing.Exchange("x", "topic")) == "Exchange('x', 'topic')"
    assert repr(testing.Queue("q", durable=True)) == "Queue('q', durable=True)"
    assert repr(testing.Binding("x", "y", "k", destination_kind="exchange")) == (
        "Binding('x', 'y', 'k', destination_kind='exchange')")
    assert repr(testing.Message("k", properties=memq.Properties(priority=1))) == (
        "Message('k', properties=Properties(priority=1))")
    assert repr(testing.Topology()) == "Topology()"
