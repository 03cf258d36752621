"""A virtual host: its exchanges, queues and bindings, and the checks RabbitMQ makes on them."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from . import _events as ev
from . import errors
from ._arguments import (QUEUE_ARGUMENTS, amqp_type, check_queue_arguments, check_queue_type, check_server_named,
                         check_x_match, inequivalent_values, max_priority_of)
from ._exchanges import Binding, Exchange, ExchangeType
from ._queues import Queue
from ._replies import reply

if TYPE_CHECKING:
    from ._broker import Broker
    from ._channels import Connection
    from ._messages import Properties

__all__ = ["VHost", "PREDECLARED_EXCHANGES"]

PREDECLARED_EXCHANGES: tuple[tuple[str, ExchangeType, bool], ...] = (
    ("", ExchangeType.DIRECT, False),
    ("amq.direct", ExchangeType.DIRECT, False),
    ("amq.fanout", ExchangeType.FANOUT, False),
    ("amq.headers", ExchangeType.HEADERS, False),
    ("amq.match", ExchangeType.HEADERS, False),
    ("amq.rabbitmq.trace", ExchangeType.TOPIC, True),
    ("amq.topic", ExchangeType.TOPIC, False),
)


# RabbitMQ says "invalid exchange type" for a name that is already an Erlang atom in its VM and
# "unknown exchange type" otherwise. Which atoms exist cannot be known from outside; these are names
# seen to be atoms in RabbitMQ 3.10 (the empty name, single letters, common words of Erlang and
# RabbitMQ). Differs from RabbitMQ for other atoms: see docs/differences.md.
_ERLANG_ATOMS = frozenset(
    ["", *"abcdefghijklmnopqrstuvwxyz"]
    + """true false ok error undefined queue exchange binding classic quorum stream random local all any
    none default infinity normal shutdown timeout badarg exit throw node self lists string binary atom
    integer float list tuple map pid port ref reference function value key name type state data info
    warning debug notice critical alert emergency max min global transient durable persistent exclusive
    internal arguments amqp rabbit mnesia kernel stdlib message channel connection user vhost policy
    consumer""".split()
)


def _flag(value: bool) -> str:
    return "true" if value else "false"


class VHost:
    """Exchanges and queues of one virtual host, in declaration order."""

    def __init__(self, broker: "Broker", name: str) -> None:
        self.broker = broker
        self.name = name
        self.exchanges: dict[str, Exchange] = {}
        self.queues: dict[str, Queue] = {}
        for exchange_name, kind, internal in PREDECLARED_EXCHANGES:
            self.exchanges[exchange_name] = Exchange(name, exchange_name, kind, True, False, internal)

    # --- lookups -------------------------------------------------------------------------------

    def exchange(self, name: str) -> Exchange:
        """The exchange called `name`, or 404."""
        found = self.exchanges.get(name)
        if found is None:
            raise reply("no_exchange", exchange=name, vhost=self.name)
        return found

    def queue_for(self, name: str, connection: "Connection") -> Queue:
        """The queue called `name`, checked for exclusive access by `connection`, or 404/405."""
        queue = self.queues.get(name)
        if queue is None:
            raise reply("no_queue", queue=name, vhost=self.name)
        self.check_exclusive(queue, connection)
        return queue

    def check_exclusive(self, queue: Queue, connection: "Connection") -> None:
        if queue.exclusive_owner is not None and queue.exclusive_owner is not connection:
            raise reply("exclusive_locked", queue=queue.name, vhost=self.name)

    def check_publish(self, exchange: str, properties: "Properties | None", connection: "Connection") -> Exchange:
        """The exchange a publish goes to, after RabbitMQ's checks (missing, internal, user id if given)."""
        found = self.exchange(exchange or "")
        if found.internal:
            raise reply("internal_exchange", exchange=found.name, vhost=self.name)
        if properties is not None:
            self.check_user_id(properties, connection)
        return found

    def check_user_id(self, properties: "Properties", connection: "Connection") -> None:
        """RabbitMQ's check that a message's user_id is the connection's user."""
        if properties.user_id is not None and properties.user_id != connection.username:
            raise errors.PreconditionFailed(
                f"PRECONDITION_FAILED - user_id property set to '{properties.user_id}' "
                f"but authenticated user was '{connection.username}'"
            )

    # --- exchanges -----------------------------------------------------------------------------

    def exchange_declare(self, name: str, type_name: str, passive: bool, durable: bool,
                         auto_delete: bool, internal: bool, arguments: dict) -> Exchange:
        if passive:
            if name == "":
                raise reply("default_exchange")
            return self.exchange(name)
        # Mirrors RabbitMQ: the type is checked first, then the name.
        try:
            kind = ExchangeType(type_name)
        except ValueError:
            if type_name in ("x-consistent-hash", "x-delayed-message", "x-random", "x-local-random"):
                raise errors.Unsupported(f"memq does not model the {type_name!r} exchange type") from None
            key = "invalid_exchange_type" if type_name in _ERLANG_ATOMS else "unknown_exchange_type"
            raise reply(key, type=type_name) from None
        if name == "":
            raise reply("default_exchange")
        existing = self.exchanges.get(name)
        if existing is None:
            if name.startswith("amq."):
                raise reply("reserved_name", kind="exchange", name=name)
            alternate = arguments.get("alternate-exchange")
            if alternate is not None and not isinstance(alternate, str):
                # Mirrors RabbitMQ 3.10: checked when the exchange is created (a redeclaration compares it).
                raise errors.PreconditionFailed(
                    f"PRECONDITION_FAILED - invalid type '{amqp_type(alternate)}' for arg 'alternate-exchange' "
                    f"in exchange '{name}' in vhost '{self.name}'")
            existing = Exchange(self.name, name, kind, durable, auto_delete, internal, arguments)
            self.exchanges[name] = existing
            self.broker._record(ev.ExchangeDeclared, self.name, name, kind.value)
            return existing
        self._exchange_equivalent(existing, kind, durable, auto_delete, internal, arguments)
        return existing

    def _exchange_equivalent(self, x: Exchange, kind: ExchangeType, durable: bool, auto_delete: bool,
                             internal: bool, arguments: dict) -> None:
        if x.type is not kind:
            raise reply("inequivalent_flag", arg="type", kind="exchange", name=x.name, vhost=self.name,
                        received=kind.value, current=x.type.value)
        for arg, received, current in (
            ("durable", durable, x.durable),
            ("auto_delete", auto_delete, x.auto_delete),
            ("internal", internal, x.internal),
        ):
            if received != current:
                raise reply("inequivalent_flag", arg=arg, kind="exchange", name=x.name, vhost=self.name,
                            received=_flag(received), current=_flag(current))
        self._arguments_equivalent("exchange", x.name, arguments, x.arguments, ("alternate-exchange",))

    def _arguments_equivalent(self, kind: str, name: str, received: dict, current: dict,
                              checked: tuple[str, ...]) -> None:
        for arg in checked:
            difference = inequivalent_values(received, current, arg)
            if difference is not None:
                raise reply("inequivalent_arg", arg=arg, kind=kind, name=name, vhost=self.name,
                            received=difference[0], current=difference[1])

    def exchange_delete(self, name: str, if_unused: bool) -> None:
        if name == "":
            raise reply("default_exchange")
        if name.startswith("amq."):
            raise reply("system_exchange", exchange=name, vhost=self.name)
        x = self.exchanges.get(name)
        if x is None:
            return
        if if_unused and x.bindings:
            raise reply("exchange_in_use", exchange=name, vhost=self.name)
        self.delete_exchange(x)

    def delete_exchange(self, x: Exchange) -> None:
        # Forgotten first, so that removing its last binding cannot auto-delete it a second time; a binding
        # of the exchange to itself is in both lists and is removed once.
        del self.exchanges[x.name]
        for binding in dict.fromkeys(x.bindings + x.bound_to):
            self._remove_binding(binding)
        self.broker._record(ev.ExchangeDeleted, self.name, x.name)

    # --- queues --------------------------------------------------------------------------------

    def queue_declare(self, name: str, passive: bool, durable: bool, exclusive: bool,
                      auto_delete: bool, arguments: dict, connection: "Connection") -> Queue:
        if passive:
            queue = self.queues.get(name)
            if queue is None:
                raise reply("no_queue", queue=name, vhost=self.name)
            self.check_exclusive(queue, connection)
            self.broker.queue_used(queue)
            return queue
        durable = durable and not exclusive  # Mirrors RabbitMQ: an exclusive queue is never durable
        queue_type = arguments.get("x-queue-type", "classic")
        if name == "":
            check_server_named(queue_type)
            name = self._generated_name("amq.gen-")
        elif name.startswith("amq."):
            raise reply("reserved_name", kind="queue", name=name)
        owner = connection if exclusive else None
        existing = self.queues.get(name)
        if existing is not None:
            self._queue_equivalent(existing, durable, auto_delete, owner, arguments, connection)
            self.broker.queue_used(existing)
            return existing
        dlx = arguments.get("x-dead-letter-exchange")
        if dlx is not None and not isinstance(dlx, str):
            raise errors.PreconditionFailed(
                f"PRECONDITION_FAILED - invalid type '{amqp_type(dlx)}' for arg 'x-dead-letter-exchange' "
                f"in queue '{name}' in vhost '{self.name}'"
            )
        check_queue_arguments(arguments, name, self.name)
        check_queue_type(queue_type, arguments, durable, exclusive, auto_delete, name, self.name)
        queue = Queue(self.name, name, durable, owner, auto_delete, arguments, max_priority_of(arguments))
        queue.last_used = self.broker.clock.now()
        self.queues[name] = queue
        self.broker._record(ev.QueueDeclared, self.name, name)
        self.broker._queue_declared(queue)
        return queue

    def _generated_name(self, prefix: str) -> str:
        raw = self.broker.rng.getrandbits(128).to_bytes(16, "big")
        return prefix + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def _queue_equivalent(self, q: Queue, durable: bool, auto_delete: bool, owner: Any,
                          arguments: dict, connection: "Connection") -> None:
        self.check_exclusive(q, connection)
        if (owner is None) != (q.exclusive_owner is None):
            raise reply("exclusive_locked", queue=q.name, vhost=self.name)
        for arg, received, current in (("durable", durable, q.durable), ("auto_delete", auto_delete, q.auto_delete)):
            if received != current:
                raise reply("inequivalent_flag", arg=arg, kind="queue", name=q.name, vhost=self.name,
                            received=_flag(received), current=_flag(current))
        self._arguments_equivalent("queue", q.name, arguments, q.arguments, tuple(QUEUE_ARGUMENTS))

    def queue_purge(self, name: str, connection: "Connection") -> int:
        queue = self.queue_for(name, connection)
        return self.broker._purge(queue, "purged")

    def queue_delete(self, name: str, if_unused: bool, if_empty: bool, connection: "Connection") -> int:
        queue = self.queues.get(name)
        if queue is None:
            return 0
        self.check_exclusive(queue, connection)
        if if_unused and queue.consumers:
            raise reply("queue_in_use", queue=name, vhost=self.name)
        if if_empty and queue.message_count:
            raise reply("queue_not_empty", queue=name, vhost=self.name)
        return self.broker._delete_queue(queue, "deleted")

    def forget_queue(self, queue: Queue) -> None:
        """Remove a queue and its bindings from the topology (the broker settles its messages)."""
        for binding in list(queue.bound_to):
            self._remove_binding(binding)
        del self.queues[queue.name]
        queue.deleted = True

    # --- bindings ------------------------------------------------------------------------------

    def _destination(self, name: str, kind: str, connection: "Connection") -> Any:
        if kind == "queue":
            return self.queue_for(name, connection)
        return self.exchange(name)

    def bind(self, source: str, destination: str, kind: str, routing_key: str, arguments: dict,
             connection: "Connection") -> None:
        if source == "" or (kind == "exchange" and destination == ""):
            raise reply("default_exchange")
        x = self.exchange(source)
        dest = self._destination(destination, kind, connection)
        if x.type is ExchangeType.HEADERS:
            check_x_match(arguments)
        if x.find_binding(dest, routing_key, arguments) is not None:
            return
        binding = Binding(x, dest, routing_key, dict(arguments))
        x.add_binding(binding)
        dest.bound_to.append(binding)
        self.broker._record(ev.Bound, self.name, source, destination, kind, routing_key)

    def unbind(self, source: str, destination: str, kind: str, routing_key: str, arguments: dict,
               connection: "Connection") -> None:
        if source == "" or (kind == "exchange" and destination == ""):
            raise reply("default_exchange")
        x = self.exchanges.get(source)
        dest = (self.queues if kind == "queue" else self.exchanges).get(destination)
        if x is None or dest is None:
            return
        binding = x.find_binding(dest, routing_key, arguments)
        if binding is None:
            return  # Mirrors RabbitMQ: a missing binding is fine, even of another connection's exclusive queue
        if kind == "queue":
            self.check_exclusive(dest, connection)
        self._remove_binding(binding)

    def _remove_binding(self, binding: Binding) -> None:
        source, dest = binding.source, binding.destination
        source.remove_binding(binding)
        dest.bound_to.remove(binding)
        kind = "queue" if isinstance(dest, Queue) else "exchange"
        self.broker._record(ev.Unbound, self.name, source.name, dest.name, kind, binding.routing_key)
        if source.auto_delete and not source.bindings and source.name in self.exchanges:
            self.delete_exchange(source)

    # --- routing -------------------------------------------------------------------------------

    def route(self, x: Exchange, routing_key: str, headers: dict | None) -> list[Queue]:
        """The queues a message reaches, each once, following exchange bindings and alternate exchanges."""
        if x.name == "":
            queue = self.queues.get(routing_key)
            return [queue] if queue is not None else []
        queues: list[Queue] = []
        seen: set[int] = set()
        work = [x]
        visited = {id(x)}
        while work:
            exchange = work.pop(0)
            matched = False
            for binding in exchange.match(routing_key, headers):
                matched = True
                dest = binding.destination
                if id(dest) in visited or id(dest) in seen:
                    continue
                if isinstance(dest, Queue):
                    seen.add(id(dest))
                    queues.append(dest)
                else:
                    visited.add(id(dest))
                    work.append(dest)
            if not matched:
                alternate = self.exchanges.get(exchange.arguments.get("alternate-exchange", ""))
                if alternate is not None and alternate.name and id(alternate) not in visited:
                    visited.add(id(alternate))
                    work.append(alternate)
        return queues

