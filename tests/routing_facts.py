"""RabbitMQ's routing answers, one table per exchange type, shared by the core, conformance and property tests.

Each row was observed on RabbitMQ 3.10.8 through pika 1.4.4; the conformance suite checks every row
against the real broker again, on every run.
"""

from __future__ import annotations

import datetime
import decimal

NO_HEADERS = None  # publish with no headers table at all
UTC = datetime.timezone.utc

# (binding key, routing key, routed?) -- RABBITMQ_FACTS.md, "Routing / Topic", row for row.
TOPIC_FACTS = [
    ("a.#", "a", True), ("#.a", "a", True), ("a.*", "a", False), ("*", "", False), ("#", "", True),
    ("a..b", "a..b", True), ("#.#", "a", True), ("a.*.#", "a.b", True), ("*.#.*", "a", False),
    ("*.#.*", "a.b", True), ("a.#.b", "a.b", True), ("a.#.b", "a.x.y.b", True), ("a.#.#.b", "a.b", True),
    ("#", "a.b.c", True), ("*", "a.b", False), ("a.*", "a.", True), ("*.*", "a.", True), ("*.a", ".a", True),
    ("a.#", "a.", True), ("#.", "a.", True), ("", "", True), ("", "a", False), ("a", "A", False),
    ("a.b", "a.b.", False), ("a*", "ab", False), ("a#", "a", False),
]

# (binding arguments, message headers, routed?) -- RABBITMQ_FACTS.md, "Routing / Headers", row for row, then
# value comparisons seen on RabbitMQ 3.10.8 through pika 1.4.4 (a throwaway script; the types are pika's).
HEADERS_FACTS = [
    ({"x-match": "all", "a": 1, "b": 2}, {"a": 1, "b": 2}, True),
    ({"x-match": "all", "a": 1, "b": 2}, {"a": 1}, False),
    ({"x-match": "any", "a": 1, "b": 2}, {"a": 1}, True),
    ({"x-match": "any", "a": 1, "b": 2}, {"c": 1}, False),
    ({"a": 1, "b": 2}, {"a": 1}, False),
    ({"a": 1}, {"a": 1, "c": 3}, True),
    ({}, {}, True),
    ({}, NO_HEADERS, True),
    ({"x-match": "all"}, NO_HEADERS, True),
    ({"x-match": "any"}, {"a": 1}, False),
    ({"x-match": "all", "x-foo": 1}, {}, True),
    ({"x-match": "all", "x-foo": 1}, {"x-foo": 2}, True),
    ({"x-match": "any", "x-foo": 1}, {"x-foo": 1}, False),
    ({"x-match": "any", "x-foo": 1, "a": 1}, {"x-foo": 1}, False),
    ({"x-match": "all-with-x", "x-foo": 1}, {"x-foo": 1}, True),
    ({"x-match": "all-with-x", "x-foo": 1}, {}, False),
    ({"x-match": "any-with-x", "x-foo": 1, "a": 1}, {"x-foo": 1}, True),
    ({"x-match": "any-with-x", "x-foo": 1}, {"x-foo": 2}, False),
    ({"x-match": "all", "a": None}, {"a": 1}, True),
    ({"x-match": "all", "a": None}, {"a": None}, True),
    ({"x-match": "all", "a": None}, {}, False),
    ({"x-match": "any", "a": None}, {"a": "x"}, True),
    ({"x-match": "all", "a": 1}, {"a": "1"}, False),
    ({"x-match": "all", "a": 1}, {"a": True}, False),
    ({"x-match": "all", "a": "1"}, {"a": "1"}, True),
    # x-match itself is never compared, not even by the -with-x kinds; `x-` is case-sensitive.
    ({"x-match": "any-with-x"}, {"x-match": "any-with-x"}, False),
    ({"x-match": "all-with-x", "a": 1}, {"a": 1}, True),
    ({"X-foo": 1}, {}, False),
    # Top-level values compare as Erlang terms, without their AMQP type: a longstr equals a byte array, a
    # timestamp equals its seconds (pika sends whole seconds).
    ({"a": "x"}, {"a": b"x"}, True),
    ({"a": b"x"}, {"a": "x"}, True),
    ({"a": "é"}, {"a": "é".encode()}, True),
    ({"a": 1000}, {"a": datetime.datetime.fromtimestamp(1000, UTC)}, True),
    ({"a": datetime.datetime.fromtimestamp(1000.5, UTC)}, {"a": datetime.datetime.fromtimestamp(1000, UTC)}, True),
    ({"a": decimal.Decimal("1.0")}, {"a": decimal.Decimal("1.00")}, True),
    ({"a": decimal.Decimal("1")}, {"a": 1}, False),
    ({"a": False}, {"a": 0}, False),
    ({"a": 1}, {"a": None}, False),
    ({"a": 1}, {"a": 2**40}, False),
    # Inside tables and arrays each value keeps its type, and a table keeps its order.
    ({"a": [1]}, {"a": [True]}, False),
    ({"a": ["x"]}, {"a": [b"x"]}, False),
    ({"a": [[1]]}, {"a": [[True]]}, False),
    ({"a": {"b": 1, "c": 2}}, {"a": {"c": 2, "b": 1}}, False),
    ({"a": {"b": "x"}}, {"a": {"b": b"x"}}, False),
    ({"a": {"b": 1}}, {"a": {"b": 1}}, True),
    ({"a": [1, "x"]}, {"a": [1, "x"]}, True),
    ({"a": {}}, {"a": []}, True),
]
