"""The recipe of docs/strategies.md, on the course notes' topic logs: declare the topology, then check where
every generated message goes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import memq
from memq import strategies as mst
from memq import testing

TOPIC_LOGS = testing.Topology.from_dict({
    "exchanges": {"topic_logs": "topic"},
    "queues": ["kern", "critical"],
    "bindings": [("topic_logs", "kern", "kern.*"), ("topic_logs", "critical", "*.critical")],
})


def logs_broker() -> memq.Broker:
    """A fresh broker with the topic logs declared (one per example: nothing leaks between examples)."""
    broker = memq.Broker(start=0)
    testing.declare(broker, TOPIC_LOGS)
    return broker


def expected_queues(routing_key: str) -> set[str]:
    """The course notes' rule, said plainly: two words; `kern` first goes to kern, `critical` second to critical."""
    words = routing_key.split(".")
    if len(words) != 2 or not routing_key:
        return set()
    return {queue for queue, hit in (("kern", words[0] == "kern"), ("critical", words[1] == "critical")) if hit}


@given(key=mst.routing_keys_matching("kern.*"))
def test_kernel_logs_reach_the_kern_queue(key):
    """Every key `kern.*` matches reaches kern."""
    assert "kern" in testing.route(logs_broker(), "topic_logs", key)


@given(key=mst.routing_keys_not_matching("kern.*"))
def test_other_logs_stay_out_of_the_kern_queue(key):
    """No key that `kern.*` misses (`kern`, `kern.a.b`, `kernel.a`, ...) reaches kern."""
    assert "kern" not in testing.route(logs_broker(), "topic_logs", key)


@settings(deadline=None)
@given(key=st.one_of(mst.routing_keys_matching("kern.*"), mst.routing_keys_matching("*.critical"),
                     mst.routing_keys()))
def test_every_log_goes_where_the_rule_says(key):
    """Each key goes to exactly the queues the plain rule names: both for `kern.critical`, none for `a.b.c`."""
    assert testing.route(logs_broker(), "topic_logs", key) == expected_queues(key)


@settings(deadline=None, max_examples=50)
@given(messages=st.lists(mst.messages(routing_key=mst.routing_keys_matching("*.critical"),
                                      properties=mst.properties(expiration=st.none())), max_size=5))
def test_critical_logs_are_delivered_in_order(messages):
    """Published critical logs reach the critical queue's consumer in publish order, bodies and properties intact."""
    broker = logs_broker()
    channel = broker.connect().channel()
    received = []
    channel.basic_consume("critical", lambda ch, deliver, properties, body: received.append((body, properties)),
                          auto_ack=True)
    for message in messages:
        channel.basic_publish("topic_logs", message.routing_key, message.body, message.properties)
    broker.run_until_idle()
    assert received == [(m.body, m.properties) for m in messages]
