"""Routing: the default exchange, the amq.* exchanges, direct, fanout, topic and headers exchanges."""

import pika
import pytest
from pika import exceptions as pika_errors

from routing_facts import HEADERS_FACTS, TOPIC_FACTS

from .support import bodies, get, publish, ready_count, routes, server_queue


def declare_exchange(amqp, channel, kind: str) -> str:
    name = amqp.unique(kind)
    channel.exchange_declare(name, kind, auto_delete=True)
    return name


def test_default_exchange_routes_to_queue_named_by_key(amqp):
    """The default exchange delivers to the queue whose name is the routing key, with exchange ''."""
    channel = amqp.channel()
    queue = server_queue(channel)
    publish(channel, "", queue, "hello")
    got_method, _props, body = channel.basic_get(queue, auto_ack=True)
    assert (got_method.exchange, got_method.routing_key, body) == ("", queue, b"hello")


def test_default_exchange_drops_message_for_missing_queue(amqp):
    """A message for a queue that does not exist is dropped silently by the default exchange."""
    channel = amqp.channel()
    publish(channel, "", amqp.unique("nobody"), "lost")
    assert channel.is_open


@pytest.mark.parametrize(
    "exchange, kind",
    [("amq.direct", "direct"), ("amq.fanout", "fanout"), ("amq.topic", "topic"),
     ("amq.headers", "headers"), ("amq.match", "headers")],
)
def test_predeclared_exchange_exists_durable_with_its_type(amqp, exchange, kind):
    """Each amq.* exchange exists, is durable and has its type (redeclaring it identically is accepted)."""
    channel = amqp.channel()
    channel.exchange_declare(exchange, passive=True)
    channel.exchange_declare(exchange, kind, durable=True)


def test_amq_direct_routes_on_exact_key(amqp):
    """amq.direct delivers to queues bound with exactly the routing key."""
    channel = amqp.channel()
    assert routes(channel, "amq.direct", "k", binding_key="k")
    assert not routes(channel, "amq.direct", "other", binding_key="k")


def test_amq_fanout_routes_ignoring_key(amqp):
    """amq.fanout delivers to every bound queue whatever the keys."""
    channel = amqp.channel()
    assert routes(channel, "amq.fanout", "anything", binding_key="unrelated")


def test_amq_topic_routes_on_pattern(amqp):
    """amq.topic matches routing keys against binding patterns."""
    channel = amqp.channel()
    assert routes(channel, "amq.topic", "a.b", binding_key="a.*")


@pytest.mark.parametrize("exchange", ["amq.headers", "amq.match"])
def test_amq_headers_exchanges_route_on_headers(amqp, exchange):
    """amq.headers and amq.match match message headers against binding arguments."""
    channel = amqp.channel()
    arguments = {"x-match": "any", "h": 1}
    assert routes(channel, exchange, "", binding_arguments=arguments, headers={"h": 1})
    assert not routes(channel, exchange, "", binding_arguments=arguments, headers={"h": 2})


def test_direct_exchange_routes_to_every_queue_with_matching_key(amqp):
    """A direct exchange delivers to each queue bound with the key, and to no other."""
    channel = amqp.channel()
    exchange = declare_exchange(amqp, channel, "direct")
    first, second, other = server_queue(channel), server_queue(channel), server_queue(channel)
    channel.queue_bind(first, exchange, "k")
    channel.queue_bind(second, exchange, "k")
    channel.queue_bind(other, exchange, "x")
    publish(channel, exchange, "k", "m")
    assert [ready_count(channel, q) for q in (first, second, other)] == [1, 1, 0]


def test_direct_exchange_key_is_case_sensitive(amqp):
    """Direct routing compares keys exactly, case included."""
    channel = amqp.channel()
    exchange = declare_exchange(amqp, channel, "direct")
    assert not routes(channel, exchange, "K", binding_key="k")


def test_fanout_exchange_routes_to_all_bound_queues(amqp):
    """A fanout exchange delivers a copy to every bound queue."""
    channel = amqp.channel()
    exchange = declare_exchange(amqp, channel, "fanout")
    queues = [server_queue(channel) for _ in range(3)]
    for queue, key in zip(queues, ["a", "b", ""]):
        channel.queue_bind(queue, exchange, key)
    publish(channel, exchange, "zzz", "m")
    assert [ready_count(channel, q) for q in queues] == [1, 1, 1]


TOPIC_CASES = TOPIC_FACTS


@pytest.mark.parametrize("binding_key, routing_key, expected", TOPIC_CASES)
def test_topic_exchange_matches_pattern(amqp, binding_key, routing_key, expected):
    """A topic binding routes exactly the keys RabbitMQ's matcher accepts ('*' one word, '#' zero or more)."""
    channel = amqp.channel()
    exchange = declare_exchange(amqp, channel, "topic")
    assert routes(channel, exchange, routing_key, binding_key=binding_key) is expected


HEADERS_CASES = HEADERS_FACTS


@pytest.mark.parametrize("arguments, headers, expected", HEADERS_CASES)
def test_headers_exchange_matches_arguments(amqp, arguments, headers, expected):
    """A headers binding routes as RabbitMQ does for x-match all/any/all-with-x/any-with-x, x- keys and void values."""
    channel = amqp.channel()
    exchange = declare_exchange(amqp, channel, "headers")
    assert routes(channel, exchange, "", binding_arguments=arguments, headers=headers) is expected


def test_headers_exchange_ignores_routing_key(amqp):
    """A headers exchange does not look at the routing key."""
    channel = amqp.channel()
    exchange = declare_exchange(amqp, channel, "headers")
    assert routes(channel, exchange, "whatever", binding_key="something-else",
                  binding_arguments={"a": 1}, headers={"a": 1})


def test_message_reaching_queue_by_two_bindings_is_enqueued_once(amqp):
    """A fanout exchange bound twice (two keys) to a queue gives it one copy."""
    channel = amqp.channel()
    exchange = declare_exchange(amqp, channel, "fanout")
    queue = server_queue(channel)
    channel.queue_bind(queue, exchange, "")
    channel.queue_bind(queue, exchange, "other")
    publish(channel, exchange, "k", "m")
    assert ready_count(channel, queue) == 1


def test_message_reaching_queue_directly_and_through_exchange_binding_is_enqueued_once(amqp):
    """A message reaching a queue both directly and through an exchange-to-exchange binding is enqueued once."""
    channel = amqp.channel()
    source = declare_exchange(amqp, channel, "fanout")
    middle = declare_exchange(amqp, channel, "fanout")
    queue = server_queue(channel)
    channel.queue_bind(queue, source)
    channel.exchange_bind(middle, source)
    channel.queue_bind(queue, middle)
    publish(channel, source, "k", "m")
    assert ready_count(channel, queue) == 1


def test_identical_binding_declared_twice_is_one_binding(amqp):
    """Binding the same queue, exchange and key twice leaves one binding, and one unbind removes it."""
    channel = amqp.channel()
    queue = server_queue(channel)
    channel.queue_bind(queue, "amq.direct", "k")
    channel.queue_bind(queue, "amq.direct", "k")
    publish(channel, "amq.direct", "k", "m")
    assert ready_count(channel, queue) == 1
    channel.queue_unbind(queue, "amq.direct", "k")
    publish(channel, "amq.direct", "k", "m")
    assert ready_count(channel, queue) == 1


def test_exchange_to_exchange_binding_routes_by_destination_rules(amqp):
    """A message crosses an exchange binding by the source's rules, then is routed by the destination's."""
    channel = amqp.channel()
    source = declare_exchange(amqp, channel, "direct")
    destination = declare_exchange(amqp, channel, "topic")
    channel.exchange_bind(destination, source, "a.b")
    queue = server_queue(channel)
    channel.queue_bind(queue, destination, "a.*")
    publish(channel, source, "a.b", "through")
    publish(channel, source, "a.c", "blocked")
    assert bodies(channel, queue) == ["through"]


def test_unbind_stops_routing(amqp):
    """After queue_unbind the exchange no longer delivers to the queue."""
    channel = amqp.channel()
    queue = server_queue(channel)
    channel.queue_bind(queue, "amq.direct", "k")
    channel.queue_unbind(queue, "amq.direct", "k")
    publish(channel, "amq.direct", "k", "m")
    assert ready_count(channel, queue) == 0


def test_unroutable_message_is_dropped_silently(amqp):
    """A non-mandatory message that no binding matches is dropped and the channel stays open."""
    channel = amqp.channel()
    publish(channel, "amq.direct", amqp.unique("no-binding"), "m")
    assert channel.is_open


def test_mandatory_unroutable_message_is_returned_with_no_route(amqp):
    """On a confirm-mode channel, basic_publish of an unroutable mandatory message raises UnroutableError (312)."""
    channel = amqp.channel()
    key = amqp.unique("no-binding")
    with pytest.raises(pika_errors.UnroutableError) as info:
        channel.basic_publish("amq.direct", key, b"m", mandatory=True)
    (returned,) = info.value.messages
    assert (returned.method.reply_code, returned.method.reply_text) == (312, "NO_ROUTE")
    assert (returned.method.exchange, returned.method.routing_key, returned.body) == ("amq.direct", key, b"m")


def test_message_properties_pass_through_routing(amqp):
    """Properties set by the publisher arrive unchanged."""
    channel = amqp.channel()
    queue = server_queue(channel)
    sent = pika.BasicProperties(content_type="text/plain", headers={"h": 1}, priority=3, delivery_mode=2,
                                correlation_id="c-1", reply_to="r", message_id="m-1")
    channel.basic_publish("", queue, b"m", sent)
    _method, received, _body = channel.basic_get(queue, auto_ack=True)
    for field in ("content_type", "headers", "priority", "delivery_mode", "correlation_id", "reply_to", "message_id"):
        assert getattr(received, field) == getattr(sent, field), field


def test_basic_get_reports_routing_fields(amqp):
    """A message fetched by basic_get carries the exchange and routing key it was published with."""
    channel = amqp.channel()
    queue = server_queue(channel)
    channel.queue_bind(queue, "amq.topic", "a.*")
    publish(channel, "amq.topic", "a.b", "m")
    method, _props, _body = channel.basic_get(queue, auto_ack=True)
    assert (method.exchange, method.routing_key, method.redelivered) == ("amq.topic", "a.b", False)
    assert get(channel, queue) is None
