"""Publisher confirms and returns through pika, as RabbitMQ 3.10 gives them."""

from __future__ import annotations

import pika
import pytest
from pika import exceptions


@pytest.fixture
def confirming(channel):
    """A channel in confirm mode."""
    channel.confirm_delivery()
    return channel


def test_confirmed_publish_returns_once_queued(confirming):
    """In confirm mode basic_publish returns after the broker's ack; the message is queued."""
    confirming.queue_declare("q")
    confirming.basic_publish("", "q", b"m")
    assert confirming.queue_declare("q", passive=True).method.message_count == 1


def test_mandatory_unroutable_raises_unroutable_error(confirming):
    """A mandatory message no queue takes comes back as UnroutableError with the 312 NO_ROUTE return."""
    with pytest.raises(exceptions.UnroutableError) as caught:
        confirming.basic_publish("", "nowhere", b"m", mandatory=True)
    (returned,) = caught.value.messages
    assert (returned.method.reply_code, returned.method.reply_text) == (312, "NO_ROUTE")
    assert (returned.method.exchange, returned.method.routing_key, returned.body) == ("", "nowhere", b"m")


def test_non_mandatory_unroutable_is_acked(confirming):
    """Without mandatory, an unroutable message is simply acked (and dropped)."""
    confirming.basic_publish("", "nowhere", b"m")


def test_reject_publish_overflow_nacks(confirming):
    """A full queue with x-overflow=reject-publish nacks the publish: NackError."""
    confirming.queue_declare("small", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    confirming.basic_publish("", "small", b"1")
    with pytest.raises(exceptions.NackError):
        confirming.basic_publish("", "small", b"2")


def test_properties_and_large_body_round_trip(confirming):
    """Every property and a body larger than frame_max arrive intact."""
    properties = pika.BasicProperties(
        content_type="application/json", content_encoding="utf-8", headers={"a": 1, "b": ["x", 2]},
        delivery_mode=2, priority=3, correlation_id="c", reply_to="r", expiration="60000",
        message_id="m", timestamp=1700000000, type="t", user_id="guest", app_id="app")
    body = bytes(range(256)) * 2000  # 512000 bytes: four body frames at frame_max 131072
    confirming.queue_declare("q")
    confirming.basic_publish("", "q", body, properties)
    method, got, received = confirming.basic_get("q", auto_ack=True)
    assert received == body
    for name in ("content_type", "content_encoding", "headers", "delivery_mode", "priority",
                 "correlation_id", "reply_to", "expiration", "message_id", "timestamp", "type",
                 "user_id", "app_id"):
        assert getattr(got, name) == getattr(properties, name), name


def test_headers_are_copied_on_publish(confirming):
    """Changing a headers dict after publishing does not change the queued message."""
    headers = {"k": "before"}
    confirming.queue_declare("q")
    confirming.basic_publish("", "q", b"m", pika.BasicProperties(headers=headers))
    headers["k"] = "after"
    _, properties, _ = confirming.basic_get("q", auto_ack=True)
    assert properties.headers == {"k": "before"}


def test_return_callback_without_confirms(connection, channel):
    """Without confirm mode, a mandatory unroutable message goes to the return callback."""
    returned = []
    channel.add_on_return_callback(lambda ch, method, props, body: returned.append(
        (method.reply_code, method.reply_text, body)))
    channel.basic_publish("", "nowhere", b"r", mandatory=True)
    channel.queue_declare("", exclusive=True)  # a round trip: the Return arrives before its reply
    connection.process_data_events(0)
    assert returned == [(312, "NO_ROUTE", b"r")]


def test_invalid_header_value_raises_like_pika(confirming):
    """A value pika cannot encode raises at basic_publish, before anything reaches the broker."""
    with pytest.raises(exceptions.UnsupportedAMQPFieldException):
        confirming.basic_publish("", "q", b"m", pika.BasicProperties(headers={"bad": object()}))
