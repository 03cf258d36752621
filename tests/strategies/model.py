"""A small reference model of RabbitMQ 3.10 routing, written apart from memq's routers, to test them against.

Each rule is the plainest statement of what the broker does (RABBITMQ_FACTS.md, and RabbitMQ's
`rabbit_exchange:route/2` for exchange-to-exchange bindings and alternate exchanges); none is fast.
"""

from __future__ import annotations

import calendar
import datetime
import decimal
import re
from typing import Any, Mapping

from memq.testing import Topology

PREDECLARED = {
    "": "direct",
    "amq.direct": "direct",
    "amq.fanout": "fanout",
    "amq.headers": "headers",
    "amq.match": "headers",
    "amq.rabbitmq.trace": "topic",
    "amq.topic": "topic",
}


# --- topic: a regular expression per binding key ---------------------------------------------------

def _dotted(routing_key: str) -> str:
    """Each word written as `.word`, so that "" is no word and "." two empty words."""
    return "." + routing_key if routing_key else ""


def topic_regex(binding_key: str) -> re.Pattern[str]:
    """`*` is one `.word`, `#` any number of them, any other word itself."""
    parts = []
    for word in binding_key.split(".") if binding_key else []:
        if word == "*":
            parts.append(r"\.[^.]*")
        elif word == "#":
            parts.append(r"(?:\.[^.]*)*")
        else:
            parts.append(re.escape("." + word))
    return re.compile("".join(parts), re.DOTALL)


def topic_matches(binding_key: str, routing_key: str) -> bool:
    return topic_regex(binding_key).fullmatch(_dotted(routing_key)) is not None


# --- headers: Erlang term equality of values as pika encodes them ---------------------------------

def wire_term(value: Any) -> tuple[str, Any]:
    """The AMQP field type pika gives `value` and the Erlang term RabbitMQ decodes it to.

    Binaries are bytes; atoms (true, false, undefined) are str, so they equal nothing else; tables are
    lists of (key, type, value), arrays lists of (type, value); a decimal is (scale, unscaled integer).
    """
    if value is None:
        return "void", "undefined"
    if isinstance(value, str):
        return "longstr", value.encode("utf-8")
    if isinstance(value, bytes):
        return "binary", value
    if isinstance(value, bool):
        return "bool", "true" if value else "false"
    if isinstance(value, int):
        return ("signedint" if -(2**31) <= value < 2**31 else "long"), value
    if isinstance(value, float):
        return "double", value
    if isinstance(value, decimal.Decimal):
        value = value.normalize()
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        if exponent < 0:
            return "decimal", (-exponent, int(value * (decimal.Decimal(10) ** -exponent)))
        return "decimal", (0, int(value))
    if isinstance(value, datetime.datetime):
        return "timestamp", calendar.timegm(value.utctimetuple())
    if isinstance(value, dict):
        return "table", [(key.encode("utf-8"), *wire_term(item)) for key, item in value.items()]
    if isinstance(value, (list, tuple)):
        return "array", [wire_term(item) for item in value]
    raise TypeError(f"pika cannot send {value!r}")


def header_equal(expected: Any, actual: Any) -> bool:
    """RabbitMQ's test for a header: Erlang `==` on the two terms, their top-level types left aside."""
    return wire_term(expected)[1] == wire_term(actual)[1]


def headers_match(arguments: Mapping[str, Any], headers: Mapping[str, Any] | None) -> bool:
    """x-match all/any (default all); `x-` arguments count only for the -with-x kinds; a void argument
    matches any present header."""
    kind = arguments.get("x-match", "all")
    headers = headers or {}
    compared = [
        (key, value) for key, value in arguments.items()
        if key != "x-match" and (kind.endswith("-with-x") or not key.startswith("x-"))
    ]
    results = [key in headers and (value is None or header_equal(value, headers[key])) for key, value in compared]
    return any(results) if kind.startswith("any") else all(results)


# --- routing through a topology --------------------------------------------------------------------

def binding_matches(exchange_type: str, binding_key: str, arguments: Mapping[str, Any], routing_key: str,
                    headers: Mapping[str, Any] | None) -> bool:
    if exchange_type == "direct":
        return binding_key == routing_key
    if exchange_type == "fanout":
        return True
    if exchange_type == "topic":
        return topic_matches(binding_key, routing_key)
    return headers_match(arguments, headers)


def route(topology: Topology, exchange: str, routing_key: str, headers: Mapping[str, Any] | None) -> set[str]:
    """The queues a message reaches: the default exchange names a queue; others follow their bindings to
    queues and exchanges, each exchange visited once; an exchange none of whose bindings matched passes the
    message to its alternate exchange, if that exists (never the default exchange: RabbitMQ 3.10 routes
    nothing through an alternate-exchange of "")."""
    queue_names = {q.name for q in topology.queues}
    if exchange == "":
        return {routing_key} & queue_names
    types = {**PREDECLARED, **{x.name: x.type for x in topology.exchanges}}
    alternates = {x.name: x.arguments.get("alternate-exchange") for x in topology.exchanges}
    reached: set[str] = set()
    seen, work = {exchange}, [exchange]
    while work:
        source = work.pop()
        matched = [b for b in topology.bindings if b.source == source
                   and binding_matches(types[source], b.routing_key, b.arguments, routing_key, headers)]
        for binding in matched:
            if binding.destination_kind == "queue":
                reached.add(binding.destination)
            elif binding.destination not in seen:
                seen.add(binding.destination)
                work.append(binding.destination)
        alternate = alternates.get(source)
        if not matched and alternate in types and alternate != "" and alternate not in seen:
            seen.add(alternate)
            work.append(alternate)
    return reached
