"""The assertion helpers: assert_published / assert_consumed and their negations, with failure messages."""

from __future__ import annotations

import pytest

SETUP = """
    import pika
    import pytest
    from pytest_memq import assert_consumed, assert_published

    @pytest.fixture
    def channel(memq_pika):
        connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
        channel = connection.channel()
        channel.queue_declare("orders")
        channel.basic_publish("", "orders", b'{"id": 1}', pika.BasicProperties(headers={"tenant": "a"}))
        channel.basic_publish("", "orders", b'{"id": 2}')
        return channel
"""


def _run(pytester: pytest.Pytester, body: str) -> pytest.RunResult:
    pytester.makepyfile(test_case=SETUP + body)
    return pytester.runpytest_inprocess()


def test_helpers_pass_on_matching_messages(pytester: pytest.Pytester) -> None:
    """Filters on exchange, routing key, body, JSON, headers and predicates find the right messages."""
    result = _run(pytester, """
    def test_ok(memq_pika, channel):
        assert_published(memq_pika, routing_key="orders", count=2)
        memq_pika.assert_published(json={"id": 1}, headers={"tenant": "a"})
        memq_pika.assert_published(body='{"id": 2}', count=1)
        memq_pika.assert_published(where=lambda m: m.body.startswith(b"{"), count=2)
        memq_pika.assert_not_published(exchange="amq.topic")
        method, _, _ = channel.basic_get("orders")
        channel.basic_ack(method.delivery_tag)
        channel.basic_get("orders", auto_ack=True)
        deliveries = assert_consumed(memq_pika, queue="orders", count=2)
        assert [d.body for d in deliveries] == [b'{"id": 1}', b'{"id": 2}']
        memq_pika.assert_consumed(json={"id": 2}, count=1)
        memq_pika.assert_not_consumed(queue="other")
    """)
    result.assert_outcomes(passed=1)


def test_assert_consumed_failure_says_what_happened(pytester: pytest.Pytester) -> None:
    """A message rejected by the consumer is listed as delivered but not acknowledged, with the queues."""
    result = _run(pytester, """
    def test_rejected(memq_pika, channel):
        method, _, _ = channel.basic_get("orders")
        channel.basic_reject(method.delivery_tag, requeue=True)
        memq_pika.assert_consumed(queue="orders", json={"id": 1})
    """)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E*AssertionError: expected at least one message consumed with queue='orders' json={'id': 1}, found 0",
        "E*Consumed: none",
        "E*Delivered but not acknowledged (1):",
        "E*queue='orders' routing_key='orders' body=b'{\"id\": 1}' (basic.get, reject requeue)",
        "E*Published with the same exchange/routing key/body (1):",
        "E*Broker now:",
        "E*orders*2*0*0*",
    ])
    assert "_expect.py" not in result.stdout.str()  # the helper's own frames are hidden


def test_assert_published_count_failure_lists_publishes(pytester: pytest.Pytester) -> None:
    """A wrong count shows every message published during the test."""
    result = _run(pytester, """
    def test_count(memq_pika, channel):
        memq_pika.assert_published(routing_key="orders", count=3)
    """)
    result.stdout.fnmatch_lines([
        "E*expected exactly 3 messages published with routing_key='orders', found 2",
        "E*Published during the test (2):",
        "E*exchange='' routing_key='orders' body=b'{\"id\": 1}'",
        "E*exchange='' routing_key='orders' body=b'{\"id\": 2}'",
    ])


def test_assert_not_published_failure_lists_matches(pytester: pytest.Pytester) -> None:
    """assert_not_published names the messages that should not have been sent."""
    result = _run(pytester, """
    def test_none(memq_pika, channel):
        memq_pika.assert_not_published(json={"id": 2})
    """)
    result.stdout.fnmatch_lines(["E*expected no message published with json={'id': 2}, found 1", "E*Matching (1):"])
