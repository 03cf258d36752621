"""Generated topologies (every exchange type, exchange-to-exchange bindings, alternate exchanges, the default
exchange) route every generated message to the queues the reference model names, by route and by publish."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import memq
from memq import strategies as mst
from memq import testing

from . import model


def _routed_by_publish(broker: memq.Broker, channel: memq.Channel, exchange: str, message: testing.Message) -> set:
    """Publish `message` (mandatory) and read from the trace which queues it was routed to."""
    before = len(broker.trace)
    channel.basic_publish(exchange, message.routing_key, message.body, message.properties, mandatory=True)
    # The first such event is the publish's own; a message dead-lettered at once (x-message-ttl 0) makes more.
    routed = next(e for e in broker.trace[before:] if isinstance(e, (memq.events.Routed, memq.events.Unroutable)))
    return set(routed.queues) if isinstance(routed, memq.events.Routed) else set()


@settings(deadline=None)
@given(topology=mst.topologies(), data=st.data())
def test_generated_topologies_route_as_reference_model(topology, data):
    """`broker.route` and `basic_publish` send each message to the queues the model reaches through bindings,
    exchange-to-exchange bindings and alternate exchanges; an unroutable mandatory message is returned."""
    broker = memq.Broker(start=0)
    channel = testing.declare(broker, topology)
    returned = []
    channel.add_on_return_callback(lambda ch, message: returned.append(message.routing_key))
    unroutable = []
    for exchange, message in data.draw(st.lists(mst.messages_for(topology), min_size=1, max_size=6), label="sent"):
        expected = model.route(topology, exchange, message.routing_key, message.headers)
        assert testing.route(broker, exchange, message) == expected, (exchange, message)
        assert _routed_by_publish(broker, channel, exchange, message) == expected, (exchange, message)
        unroutable += [] if expected else [message.routing_key]
    assert returned == unroutable
    broker.check_invariants()


@settings(deadline=None, max_examples=50)
@given(topology=mst.topologies(arguments=False, flags=False), data=st.data())
def test_generated_topologies_enqueue_each_routed_message_once(topology, data):
    """Each queue holds exactly the messages the model routes to it, once each, in publish order."""
    broker = memq.Broker(start=0)
    channel = testing.declare(broker, topology)
    sent = data.draw(st.lists(mst.messages_for(topology), min_size=1, max_size=6), label="sent")
    for number, (exchange, message) in enumerate(sent):
        channel.basic_publish(exchange, message.routing_key, b"%d" % number, message.properties)
    for queue in topology.queues:
        expected = [b"%d" % n for n, (x, m) in enumerate(sent)
                    if queue.name in model.route(topology, x, m.routing_key, m.headers)]
        assert broker.queue(queue.name).bodies == expected, queue.name


@settings(deadline=None, max_examples=50)
@given(topology=mst.topologies(exchange_types=("direct",), alternate_exchanges=False, exchange_bindings=False,
                               predeclared=False, arguments=False, flags=False),
       data=st.data())
def test_direct_and_default_exchanges_route_as_reference_model(topology, data):
    """Direct exchanges route on the exact key (`*`, `#` and empty words are literal); `""` on queue names."""
    broker = memq.Broker(start=0)
    testing.declare(broker, topology)
    for exchange, message in data.draw(st.lists(mst.messages_for(topology), min_size=1, max_size=4), label="sent"):
        expected = model.route(topology, exchange, message.routing_key, message.headers)
        assert testing.route(broker, exchange, message) == expected, (exchange, message)


@settings(deadline=None, max_examples=50)
@given(topology=mst.topologies(exchange_types=("fanout",), max_bindings=4, arguments=False, flags=False),
       data=st.data())
def test_fanout_exchanges_and_alternates_route_as_reference_model(topology, data):
    """Fanout exchanges ignore the key; chains and cycles of fanouts and their alternates reach each queue once."""
    broker = memq.Broker(start=0)
    testing.declare(broker, topology)
    for exchange, message in data.draw(st.lists(mst.messages_for(topology), min_size=1, max_size=4), label="sent"):
        expected = model.route(topology, exchange, message.routing_key, message.headers)
        assert testing.route(broker, exchange, message) == expected, (exchange, message)


def test_alternate_exchange_used_only_when_no_binding_matches():
    """An exchange with a matching binding (even one to itself) does not pass the message to its alternate."""
    topology = testing.Topology.from_dict({
        "exchanges": {"x": {"type": "direct", "arguments": {"alternate-exchange": "ae"}}, "ae": "fanout"},
        "queues": ["q", "spill"],
        "bindings": [("x", "q", "k"), ("x", "x", "loop"), ("ae", "spill", "")],
    })
    broker = memq.Broker(start=0)
    testing.declare(broker, topology)
    for key, expected in (("k", {"q"}), ("loop", set()), ("other", {"spill"})):
        assert testing.route(broker, "x", key) == model.route(topology, "x", key, None) == expected


def test_alternate_exchange_named_empty_routes_nowhere():
    """`alternate-exchange: ""` does not send the message through the default exchange (RabbitMQ 3.10.8)."""
    topology = testing.Topology.from_dict({
        "exchanges": {"x": {"type": "direct", "arguments": {"alternate-exchange": ""}}},
        "queues": ["q"],
    })
    broker = memq.Broker(start=0)
    testing.declare(broker, topology)
    assert testing.route(broker, "x", "q") == model.route(topology, "x", "q", None) == set()
