"""Helpers for tests that use memq: describe a topology as plain data, declare it, ask where messages go.

A `Topology` lists exchanges, queues and bindings; `declare()` makes them on a `memq.Broker` or on any channel
with pika's method names (a `memq.Channel`, a pika `BlockingChannel` on memq or on RabbitMQ); `route()` says
which queues a message would reach, without publishing it. `memq.strategies` generates these records for
Hypothesis; this module imports no test framework.

Example:
    >>> import memq
    >>> from memq import testing
    >>> logs = testing.Topology.from_dict({
    ...     "exchanges": {"topic_logs": "topic"},
    ...     "queues": ["kern", "critical"],
    ...     "bindings": [("topic_logs", "kern", "kern.*"), ("topic_logs", "critical", "*.critical")],
    ... })
    >>> broker = memq.Broker()
    >>> _ = testing.declare(broker, logs)
    >>> sorted(testing.route(broker, "topic_logs", "kern.critical"))
    ['critical', 'kern']
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import attrs

from ._broker import Broker
from ._exchanges import ExchangeType, headers_match, split_topic_key
from ._messages import Properties
from .errors import InvalidArgument

__all__ = [
    "Exchange",
    "Queue",
    "Binding",
    "Topology",
    "Message",
    "declare",
    "route",
    "topic_matches",
    "headers_match",
    "PREDECLARED_EXCHANGES",
]

PREDECLARED_EXCHANGES: Mapping[str, str] = {
    "": "direct",
    "amq.direct": "direct",
    "amq.fanout": "fanout",
    "amq.headers": "headers",
    "amq.match": "headers",
    "amq.rabbitmq.trace": "topic",
    "amq.topic": "topic",
}
"""The exchanges every virtual host has, with their types; `declare()` never declares these."""


def _default(field: Any) -> Any:
    return field.default.factory() if isinstance(field.default, attrs.Factory) else field.default


def _short_repr(record: Any, positional: int) -> str:
    """`Name('a', 'b', key=value)`: the first fields by position, the others only when not their default."""
    parts = []
    for index, field in enumerate(attrs.fields(type(record))):
        value = getattr(record, field.name)
        default = _default(field)
        if index < positional:
            parts.append(repr(value))
        elif value != default:
            parts.append(f"{field.name}={value!r}")
    return f"{type(record).__name__}({', '.join(parts)})"


class _Readable:
    """Short reprs (defaults left out), also in Hypothesis's reports of falsifying examples."""

    _positional = 1

    def __repr__(self) -> str:
        return _short_repr(self, self._positional)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def _exchange_type(value: str | ExchangeType) -> str:
    try:
        return ExchangeType(value).value
    except ValueError:
        raise InvalidArgument(f"unknown exchange type {value!r}: use direct, fanout, topic or headers") from None


def _table(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(value or {})


@attrs.frozen(repr=False)
class Exchange(_Readable):
    """An exchange to declare: `Exchange("logs", "topic")`."""

    _positional = 2

    name: str
    type: str = attrs.field(default="direct", converter=_exchange_type)
    durable: bool = False
    auto_delete: bool = False
    internal: bool = False
    arguments: dict[str, Any] = attrs.field(factory=dict, converter=_table)

    @property
    def alternate_exchange(self) -> str | None:
        """The `alternate-exchange` argument, or None."""
        return self.arguments.get("alternate-exchange")


@attrs.frozen(repr=False)
class Queue(_Readable):
    """A queue to declare: `Queue("jobs", arguments={"x-max-length": 10})`."""

    name: str
    durable: bool = False
    exclusive: bool = False
    auto_delete: bool = False
    arguments: dict[str, Any] = attrs.field(factory=dict, converter=_table)


def _destination_kind(value: str) -> str:
    if value not in ("queue", "exchange"):
        raise InvalidArgument(f"destination_kind is 'queue' or 'exchange', not {value!r}")
    return value


@attrs.frozen(repr=False)
class Binding(_Readable):
    """A binding from exchange `source` to a queue (or, with `destination_kind="exchange"`, an exchange)."""

    _positional = 3

    source: str
    destination: str
    routing_key: str = ""
    arguments: dict[str, Any] = attrs.field(factory=dict, converter=_table)
    destination_kind: str = attrs.field(default="queue", converter=_destination_kind)


@attrs.frozen(repr=False)
class Message(_Readable):
    """A message to publish: a routing key, a body and properties (`memq.Properties`)."""

    routing_key: str = ""
    body: bytes = b""
    properties: Properties = Properties()

    @property
    def headers(self) -> dict[str, Any] | None:
        """The headers property."""
        return self.properties.headers

    def __repr__(self) -> str:
        parts = [repr(self.routing_key)]
        if self.body:
            parts.append(f"body={self.body!r}")
        shown = {f.name: getattr(self.properties, f.name) for f in attrs.fields(Properties)}
        fields = ", ".join(f"{name}={value!r}" for name, value in shown.items() if value is not None)
        if fields:
            parts.append(f"properties=Properties({fields})")
        return f"Message({', '.join(parts)})"


@attrs.frozen(repr=False)
class Topology:
    """Exchanges, queues and bindings, declared in this order (so an alternate exchange may come later).

    Example:
        >>> Topology(exchanges=[Exchange("logs", "fanout")], queues=[Queue("all")],
        ...          bindings=[Binding("logs", "all")]).to_dict()["bindings"]
        [('logs', 'all', '')]
    """

    exchanges: tuple[Exchange, ...] = attrs.field(default=(), converter=tuple)
    queues: tuple[Queue, ...] = attrs.field(default=(), converter=tuple)
    bindings: tuple[Binding, ...] = attrs.field(default=(), converter=tuple)

    def exchange(self, name: str) -> Exchange | None:
        """The declared exchange called `name`, or None."""
        return next((x for x in self.exchanges if x.name == name), None)

    def exchange_type(self, name: str) -> str | None:
        """The type of exchange `name`, declared here or predeclared by the broker; None if unknown."""
        found = self.exchange(name)
        return found.type if found is not None else PREDECLARED_EXCHANGES.get(name)

    @property
    def queue_names(self) -> list[str]:
        return [q.name for q in self.queues]

    @classmethod
    def from_dict(cls, description: Mapping[str, Any]) -> "Topology":
        """A topology from plain data.

        `exchanges`: a mapping name -> type, or name -> dict of `Exchange` fields (or a list of such dicts
        with a `name`). `queues`: a list of names, or a mapping name -> dict of `Queue` fields. `bindings`: a
        list of `(source, destination, routing_key[, arguments])` tuples, or of dicts with `source`, then
        `queue` or `exchange`, and optionally `routing_key`, `arguments`. A tuple's destination is the queue of
        that name if the description declares one, else the exchange of that name.

        Raises:
            errors.InvalidArgument: an unknown key, exchange type or ambiguous destination.
        """
        _only_keys(description, ("exchanges", "queues", "bindings"), "topology")
        exchanges = [_exchange_of(name, spec) for name, spec in _named_items(description.get("exchanges", ()))]
        queues = [_queue_of(name, spec) for name, spec in _named_items(description.get("queues", ()))]
        queue_names = {q.name for q in queues}
        exchange_names = {x.name for x in exchanges}
        bindings = [_binding_of(spec, queue_names, exchange_names) for spec in description.get("bindings", ())]
        return cls(exchanges, queues, bindings)

    def to_dict(self) -> dict[str, Any]:
        """The topology as plain data that `from_dict` reads back (explicit about every destination kind)."""
        return {
            "exchanges": {x.name: _fields_of(x, skip=("name",)) for x in self.exchanges},
            "queues": {q.name: _fields_of(q, skip=("name",)) for q in self.queues},
            "bindings": [_binding_as_data(b) for b in self.bindings],
        }

    def __repr__(self) -> str:
        return _block_repr(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(_block_repr(self))


def _block_repr(topology: Topology) -> str:
    lines = ["Topology("]
    for field in ("exchanges", "queues", "bindings"):
        items = getattr(topology, field)
        if items:
            lines.append(f"    {field}=[")
            lines.extend(f"        {item!r}," for item in items)
            lines.append("    ],")
    return "\n".join(lines) + "\n)" if len(lines) > 1 else "Topology()"


def _only_keys(spec: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    unknown = [key for key in spec if key not in allowed]
    if unknown:
        raise InvalidArgument(f"unknown key {unknown[0]!r} in {what} description; known: {', '.join(allowed)}")


def _named_items(section: Any) -> list[tuple[str, Any]]:
    if isinstance(section, Mapping):
        return list(section.items())
    items = []
    for entry in section:
        if isinstance(entry, str):
            items.append((entry, {}))
        elif isinstance(entry, Mapping) and "name" in entry:
            items.append((entry["name"], {k: v for k, v in entry.items() if k != "name"}))
        else:
            raise InvalidArgument(f"expected a name or a dict with a 'name', got {entry!r}")
    return items


_EXCHANGE_FIELDS = ("type", "durable", "auto_delete", "internal", "arguments")
_QUEUE_FIELDS = ("durable", "exclusive", "auto_delete", "arguments")


def _exchange_of(name: str, spec: Any) -> Exchange:
    if isinstance(spec, (str, ExchangeType)):
        return Exchange(name, spec)
    spec = dict(spec or {})
    _only_keys(spec, _EXCHANGE_FIELDS, f"exchange {name!r}")
    return Exchange(name, **spec)


def _queue_of(name: str, spec: Any) -> Queue:
    spec = dict(spec or {})
    _only_keys(spec, _QUEUE_FIELDS, f"queue {name!r}")
    return Queue(name, **spec)


def _binding_of(spec: Any, queue_names: set[str], exchange_names: set[str]) -> Binding:
    if isinstance(spec, Binding):
        return spec
    if isinstance(spec, Mapping):
        _only_keys(spec, ("source", "queue", "exchange", "routing_key", "arguments"), "binding")
        if ("queue" in spec) == ("exchange" in spec):
            raise InvalidArgument(f"a binding names one destination, 'queue' or 'exchange': {dict(spec)!r}")
        kind = "queue" if "queue" in spec else "exchange"
        return Binding(spec["source"], spec[kind], spec.get("routing_key", ""), spec.get("arguments"), kind)
    source, destination, *rest = spec
    if destination in queue_names and destination in exchange_names:
        raise InvalidArgument(
            f"{destination!r} is both a queue and an exchange: "
            "write the binding as a dict with 'queue' or 'exchange'"
        )
    kind = "exchange" if destination in exchange_names and destination not in queue_names else "queue"
    return Binding(source, destination, *rest, destination_kind=kind)


def _fields_of(record: Any, skip: Sequence[str]) -> dict[str, Any]:
    found = {}
    for field in attrs.fields(type(record)):
        value = getattr(record, field.name)
        default = _default(field)
        if field.name not in skip and (value != default or field.name == "type"):
            found[field.name] = value
    return found


def _binding_as_data(binding: Binding) -> Any:
    if binding.destination_kind == "queue" and not binding.arguments:
        return (binding.source, binding.destination, binding.routing_key)
    data = {"source": binding.source, binding.destination_kind: binding.destination,
            "routing_key": binding.routing_key}
    if binding.arguments:
        data["arguments"] = dict(binding.arguments)
    return data


# --- declaring and routing ----------------------------------------------------------------------

def declare(target: Any, topology: Topology | Mapping[str, Any], *, vhost: str = "/") -> Any:
    """Declare every exchange, queue and binding of `topology`, in that order; returns the channel used.

    Args:
        target: a `memq.Broker` (a new connection and channel to `vhost` are opened, and stay open so that
            exclusive queues live on) or a channel with pika's method names (`memq.Channel`, pika's
            `BlockingChannel`).
        topology: a `Topology` or the plain data `Topology.from_dict` reads.

    The predeclared exchanges (`""`, `amq.*`) are not declared; bindings may use them.

    Raises:
        whatever the channel raises for a declaration the broker refuses (`memq.errors.PreconditionFailed`...).
    """
    if not isinstance(topology, Topology):
        topology = Topology.from_dict(topology)
    channel = target.connect(vhost).channel() if isinstance(target, Broker) else target
    for x in topology.exchanges:
        if x.name in PREDECLARED_EXCHANGES:
            continue
        channel.exchange_declare(exchange=x.name, exchange_type=x.type, durable=x.durable, auto_delete=x.auto_delete,
                                 internal=x.internal, arguments=dict(x.arguments) or None)
    for q in topology.queues:
        channel.queue_declare(queue=q.name, durable=q.durable, exclusive=q.exclusive, auto_delete=q.auto_delete,
                              arguments=dict(q.arguments) or None)
    for b in topology.bindings:
        arguments = dict(b.arguments) or None
        if b.destination_kind == "queue":
            channel.queue_bind(queue=b.destination, exchange=b.source, routing_key=b.routing_key,
                               arguments=arguments)
        else:
            channel.exchange_bind(destination=b.destination, source=b.source, routing_key=b.routing_key,
                                  arguments=arguments)
    return channel


def route(broker: Broker, exchange: str, message: Message | str = "", headers: Mapping[str, Any] | None = None,
          *, vhost: str = "/") -> frozenset[str]:
    """The names of the queues a message published to `exchange` would reach, without publishing it.

    `message` is a `Message` (its routing key and headers are used) or a routing key. Exchange-to-exchange
    bindings and alternate exchanges are followed; a queue reached several ways counts once.

    Raises:
        errors.NotFound: no exchange called `exchange`.

    Example:
        >>> import memq
        >>> broker = memq.Broker()
        >>> _ = declare(broker, {"exchanges": {"logs": "fanout"}, "queues": ["a", "b"],
        ...                      "bindings": [("logs", "a", ""), ("logs", "b", "")]})
        >>> sorted(route(broker, "logs", "any.key")), route(broker, "", "no-such-queue")
        (['a', 'b'], frozenset())
    """
    if isinstance(message, Message):
        routing_key, headers = message.routing_key, message.headers if headers is None else headers
    else:
        routing_key = message
    table = dict(headers) if headers is not None else None
    return frozenset(broker.route(exchange, routing_key, table, vhost=vhost))


def topic_matches(binding_key: str, routing_key: str) -> bool:
    """Whether a topic binding key matches a routing key: `*` is exactly one word, `#` zero or more.

    Mirrors RabbitMQ: words are separated by `.`; the empty key has no words, `a..b` has an empty word;
    `*` and `#` are wildcards only as whole words (`a*` is a literal word). Cost: O(words in the binding key
    x words in the routing key), whatever the pattern (no backtracking).

    Example:
        >>> topic_matches("kern.*", "kern.critical"), topic_matches("#.a", "a"), topic_matches("*", "")
        (True, True, False)
    """
    words = split_topic_key(routing_key)
    # reachable[j]: the binding words seen so far can match the first j routing-key words.
    reachable = [True] + [False] * len(words)
    for pattern_word in split_topic_key(binding_key):
        if pattern_word == "#":
            for j in range(1, len(words) + 1):
                reachable[j] = reachable[j] or reachable[j - 1]
        else:
            reachable = [False] + [
                reachable[j] and (pattern_word == "*" or pattern_word == words[j]) for j in range(len(words))
            ]
    return reachable[-1]
