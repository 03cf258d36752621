"""Plain kombu on the memq:// transport: the core does the routing, requeueing, TTL and priorities."""

from __future__ import annotations

from typing import Any, Iterator

import amqp.exceptions
import kombu
import pytest

import memq
import memq.kombu


@pytest.fixture
def conn(memq_broker: memq.Broker) -> Iterator[kombu.Connection]:
    """A kombu connection to this test's broker."""
    url = memq.kombu.register(memq_broker, "kombu-test")
    with kombu.Connection(url) as connection:
        yield connection
    memq.kombu.unregister("kombu-test")


def test_simple_queue_round_trip(conn: kombu.Connection) -> None:
    """SimpleQueue put/get works and get(timeout=) waits on virtual time."""
    queue = conn.SimpleQueue("hello")
    queue.put({"n": 1})
    message = queue.get(timeout=1)
    assert message.payload == {"n": 1}
    message.ack()
    with pytest.raises(queue.Empty):
        queue.get(timeout=30)


def test_drain_events_timeout_is_virtual(conn: kombu.Connection, memq_broker: memq.Broker) -> None:
    """drain_events(timeout=) raises socket.timeout after that many virtual seconds."""
    import socket

    with conn.Consumer([kombu.Queue("q")], callbacks=[lambda body, msg: None]):
        start = memq_broker.clock.now()
        with pytest.raises(socket.timeout):
            conn.drain_events(timeout=3600)
        assert memq_broker.clock.now() == start + 3600


def test_drain_without_timeout_and_nothing_to_come_stalls(conn: kombu.Connection) -> None:
    """A wait that can never end raises memq.Stalled instead of hanging."""
    with conn.Consumer([kombu.Queue("q")], callbacks=[lambda body, msg: None]):
        with pytest.raises(memq.Stalled):
            conn.drain_events()


def test_topic_hash_matches_zero_words(conn: kombu.Connection) -> None:
    """Routing is RabbitMQ's: binding 'a.#' matches key 'a' (kombu's memory transport gets this wrong)."""
    exchange = kombu.Exchange("logs", "topic")
    queue = kombu.Queue("a-all", exchange, routing_key="a.#")
    got: list[Any] = []
    with conn.Consumer([queue], callbacks=[lambda body, msg: (got.append(body), msg.ack())]):
        conn.Producer().publish("x", exchange=exchange, routing_key="a", declare=[exchange])
        conn.drain_events(timeout=1)
    assert got == ["x"]


def test_reject_requeues_at_head_redelivered(conn: kombu.Connection) -> None:
    """A rejected message goes back to the head of its queue, marked redelivered."""
    channel = conn.channel()
    queue = kombu.Queue("work")(channel)
    queue.declare()
    producer = conn.Producer(channel)
    producer.publish("first", routing_key="work")
    producer.publish("second", routing_key="work")
    queue.get().requeue()
    again = queue.get()
    assert again.payload == "first" and again.delivery_info["redelivered"] is True


def test_fanout_requeue_does_not_duplicate(conn: kombu.Connection) -> None:
    """Requeueing a fanout delivery puts it back in its own queue only."""
    exchange = kombu.Exchange("fan", "fanout")
    q1, q2 = kombu.Queue("f1", exchange), kombu.Queue("f2", exchange)
    channel = conn.channel()
    for q in (q1, q2):
        q(channel).declare()
    conn.Producer(channel).publish("m", exchange=exchange)
    message = q1(channel).get()
    message.requeue()
    assert q1(channel).purge() == 1 and q2(channel).purge() == 1


def test_message_ttl_on_virtual_time(conn: kombu.Connection, memq_broker: memq.Broker) -> None:
    """Queue(message_ttl=) expires messages when virtual time passes."""
    channel = conn.channel()
    queue = kombu.Queue("short", message_ttl=10)(channel)
    queue.declare()
    conn.Producer(channel).publish("gone soon", routing_key="short")
    memq_broker.clock.advance(11)
    assert queue.get() is None


def test_priorities(conn: kombu.Connection) -> None:
    """Queue(max_priority=) delivers higher priorities first."""
    channel = conn.channel()
    queue = kombu.Queue("prio", max_priority=10)(channel)
    queue.declare()
    producer = conn.Producer(channel)
    for priority in (1, 9, 5):
        producer.publish(priority, routing_key="prio", priority=priority)
    assert [queue.get().payload for _ in range(3)] == [9, 5, 1]


def test_dead_lettering(conn: kombu.Connection) -> None:
    """x-dead-letter-exchange moves rejected messages, with x-death headers."""
    channel = conn.channel()
    dead = kombu.Queue("dead")(channel)
    dead.declare()
    main = kombu.Queue("main", queue_arguments={"x-dead-letter-exchange": "",
                                                "x-dead-letter-routing-key": "dead"})(channel)
    main.declare()
    conn.Producer(channel).publish("bad", routing_key="main")
    main.get().reject()
    message = dead.get()
    assert message.payload == "bad"
    assert message.headers["x-death"][0]["reason"] == "rejected"


def test_passive_declare_missing_queue_raises_amqp_not_found(conn: kombu.Connection) -> None:
    """Errors are py-amqp's, as against RabbitMQ: 404 NOT_FOUND with RabbitMQ's text."""
    channel = conn.channel()
    with pytest.raises(amqp.exceptions.NotFound) as info:
        channel.queue_declare("nope", passive=True)
    assert info.value.reply_text == "NOT_FOUND - no queue 'nope' in vhost '/'"


def test_unknown_host_is_a_clear_error() -> None:
    """A URL naming no registered broker fails at once, without retries."""
    import memq.errors

    with pytest.raises(memq.errors.InvalidArgument, match="no memq broker registered"):
        kombu.Connection("memq://nowhere//").connect()
