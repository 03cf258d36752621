"""Exchanges and routing, one router per exchange type.

Mirrors RabbitMQ: direct routing is a dict lookup, topic routing walks a trie of binding words
(`*` one word, `#` zero or more; the empty key has no words), headers routing compares binding
arguments with message headers as Erlang terms (see `headers_match`). Cost: direct O(1), fanout
O(bindings), topic O(words in the routing key) in the common case, headers O(bindings).
"""

from __future__ import annotations

import calendar
import datetime
import decimal
import enum
from typing import Any, Iterable

__all__ = ["ExchangeType", "Exchange", "Binding", "split_topic_key", "headers_match"]


class ExchangeType(str, enum.Enum):
    """The exchange types memq routes for."""

    DIRECT = "direct"
    FANOUT = "fanout"
    TOPIC = "topic"
    HEADERS = "headers"

    def __str__(self) -> str:
        return self.value


class Binding:
    """A binding from an exchange to a queue or another exchange."""

    __slots__ = ("source", "destination", "routing_key", "arguments")

    def __init__(self, source: "Exchange", destination: Any, routing_key: str, arguments: dict) -> None:
        self.source = source
        self.destination = destination
        self.routing_key = routing_key
        self.arguments = arguments

    def same(self, destination: Any, routing_key: str, arguments: dict) -> bool:
        """Whether this binding is the one identified by these (RabbitMQ's binding identity)."""
        return (
            self.destination is destination
            and self.routing_key == routing_key
            and self.arguments == arguments
        )

    def __repr__(self) -> str:
        return f"<Binding {self.source.name!r} -> {self.destination.name!r} {self.routing_key!r}>"


def split_topic_key(key: str) -> list[str]:
    """Words of a topic routing or binding key: the empty key has none, `a..b` has an empty word."""
    return key.split(".") if key else []


class _TopicNode:
    __slots__ = ("children", "bindings")

    def __init__(self) -> None:
        self.children: dict[str, _TopicNode] = {}
        self.bindings: list[Binding] = []


class _DirectRouter:
    def __init__(self) -> None:
        self._by_key: dict[str, list[Binding]] = {}

    def add(self, binding: Binding) -> None:
        self._by_key.setdefault(binding.routing_key, []).append(binding)

    def remove(self, binding: Binding) -> None:
        bindings = self._by_key[binding.routing_key]
        bindings.remove(binding)
        if not bindings:
            del self._by_key[binding.routing_key]

    def route(self, routing_key: str, headers: dict | None) -> Iterable[Binding]:
        return self._by_key.get(routing_key, ())


class _FanoutRouter:
    def __init__(self) -> None:
        self._bindings: list[Binding] = []

    def add(self, binding: Binding) -> None:
        self._bindings.append(binding)

    def remove(self, binding: Binding) -> None:
        self._bindings.remove(binding)

    def route(self, routing_key: str, headers: dict | None) -> Iterable[Binding]:
        return self._bindings


class _TopicRouter:
    def __init__(self) -> None:
        self._root = _TopicNode()

    def add(self, binding: Binding) -> None:
        node = self._root
        for word in split_topic_key(binding.routing_key):
            node = node.children.setdefault(word, _TopicNode())
        node.bindings.append(binding)

    def remove(self, binding: Binding) -> None:
        path = [self._root]
        words = split_topic_key(binding.routing_key)
        for word in words:
            path.append(path[-1].children[word])
        path[-1].bindings.remove(binding)
        for depth in range(len(words), 0, -1):
            node = path[depth]
            if node.bindings or node.children:
                break
            del path[depth - 1].children[words[depth - 1]]

    def route(self, routing_key: str, headers: dict | None) -> Iterable[Binding]:
        found: list[Binding] = []
        _topic_match(self._root, split_topic_key(routing_key), 0, found, set())
        return found


def _topic_match(node: _TopicNode, words: list[str], i: int, found: list[Binding], seen: set) -> None:
    """Collect the bindings of the trie below `node` that match `words[i:]`.

    `seen` holds the (`#` node, position) pairs already explored, so keys with several `#` words
    cost O(trie nodes x words) rather than growing with the number of ways to split the key.
    """
    children = node.children
    if i == len(words):
        found.extend(node.bindings)
    else:
        child = children.get(words[i])
        if child is not None:
            _topic_match(child, words, i + 1, found, seen)
        child = children.get("*")
        if child is not None:
            _topic_match(child, words, i + 1, found, seen)
    hash_child = children.get("#")
    if hash_child is not None:
        for j in range(i, len(words) + 1):
            key = (id(hash_child), j)
            if key not in seen:
                seen.add(key)
                _topic_match(hash_child, words, j, found, seen)


_X_MATCH_KINDS = ("all", "any", "all-with-x", "any-with-x")


def _field(value: Any) -> tuple[str, Any]:
    """A field value as RabbitMQ holds it once pika has encoded it: its AMQP type and its Erlang value.

    The Erlang value is written as a Python value that compares as Erlang's `==` does: a longstr and a
    byte array are both binaries (bytes); a timestamp is its whole seconds (an int); integers and floats
    compare as numbers; true, false and void are atoms (str), equal to nothing else; a decimal is a tuple,
    equal only to a decimal of the same value; a table is a list of (key, type, value) in its order, an
    array a list of (type, value), so the values inside keep their types (and `{}` equals `[]`).
    """
    if value is None:
        return "void", "undefined"
    if isinstance(value, bool):
        return "bool", "true" if value else "false"
    if isinstance(value, int):
        return "int", value
    if isinstance(value, float):
        return "double", value
    if isinstance(value, str):
        return "longstr", value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return "binary", bytes(value)
    if isinstance(value, decimal.Decimal):
        return "decimal", ("decimal", value)
    if isinstance(value, datetime.datetime):
        return "timestamp", calendar.timegm(value.utctimetuple())
    if isinstance(value, dict):
        return "table", [(key, *_field(item)) for key, item in value.items()]
    if isinstance(value, (list, tuple)):
        return "array", [_field(item) for item in value]
    return type(value).__name__, value


def headers_match(binding_args: dict, headers: dict | None) -> bool:
    """Whether a message with these headers matches a headers-exchange binding.

    Mirrors RabbitMQ 3.10: `x-match` is `all` (default), `any`, `all-with-x` or `any-with-x`;
    binding keys starting with `x-` take part only in the `-with-x` kinds; a binding value of
    None (void) matches any value of a present header. Values compare as Erlang terms, without their
    top-level type: `"a"` matches `b"a"`, `1000` a timestamp of 1000 s; `1` does not match `True` or `"1"`,
    and `[1]` does not match `[True]` (values inside arrays and tables keep their types).
    """
    kind = binding_args.get("x-match", "all")
    with_x = kind.endswith("-with-x")
    headers = headers or {}
    all_match, any_match = True, False
    for key, expected in binding_args.items():
        if key == "x-match" or (key.startswith("x-") and not with_x):
            continue
        if key not in headers:
            all_match = False
            continue
        actual = headers[key]
        if expected is None:
            any_match = True
        elif _field(expected)[1] == _field(actual)[1]:
            any_match = True
        else:
            all_match = False
    return any_match if kind.startswith("any") else all_match


class _HeadersRouter(_FanoutRouter):
    def route(self, routing_key: str, headers: dict | None) -> Iterable[Binding]:
        return [b for b in self._bindings if headers_match(b.arguments, headers)]


_ROUTERS = {
    ExchangeType.DIRECT: _DirectRouter,
    ExchangeType.FANOUT: _FanoutRouter,
    ExchangeType.TOPIC: _TopicRouter,
    ExchangeType.HEADERS: _HeadersRouter,
}


class Exchange:
    """An exchange: its declaration and its bindings, in the order they were made."""

    __slots__ = (
        "vhost", "name", "type", "durable", "auto_delete", "internal", "arguments",
        "bindings", "_router", "bound_to", "_by_identity",
    )

    def __init__(
        self,
        vhost: str,
        name: str,
        type: ExchangeType,
        durable: bool = False,
        auto_delete: bool = False,
        internal: bool = False,
        arguments: dict | None = None,
    ) -> None:
        self.vhost = vhost
        self.name = name
        self.type = type
        self.durable = durable
        self.auto_delete = auto_delete
        self.internal = internal
        self.arguments = dict(arguments or {})
        self.bindings: list[Binding] = []
        self.bound_to: list[Binding] = []  # bindings where this exchange is the destination
        self._router = _ROUTERS[type]()
        # (destination, routing key) -> its bindings, so finding a binding costs O(1), not O(bindings)
        self._by_identity: dict[tuple[int, str], list[Binding]] = {}

    def find_binding(self, destination: Any, routing_key: str, arguments: dict) -> Binding | None:
        """The binding with this identity, or None."""
        for binding in self._by_identity.get((id(destination), routing_key), ()):
            if binding.same(destination, routing_key, arguments):
                return binding
        return None

    def add_binding(self, binding: Binding) -> None:
        self.bindings.append(binding)
        self._by_identity.setdefault((id(binding.destination), binding.routing_key), []).append(binding)
        self._router.add(binding)

    def remove_binding(self, binding: Binding) -> None:
        self.bindings.remove(binding)
        key = (id(binding.destination), binding.routing_key)
        same_key = self._by_identity[key]
        same_key.remove(binding)
        if not same_key:
            del self._by_identity[key]
        self._router.remove(binding)

    def match(self, routing_key: str, headers: dict | None) -> Iterable[Binding]:
        """The bindings a message with this key and these headers matches."""
        return self._router.route(routing_key, headers)

    def __repr__(self) -> str:
        return f"<Exchange {self.name!r} {self.type.value}>"
