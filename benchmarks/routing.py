"""Scenario 3: topic routing cost per message as the bindings on one exchange grow.

One topic exchange, ten queues, and n bindings: `svc<i>.*.created` for even i, `svc<i>.#` for odd i
(binding i goes to queue i % 10). Each message has the key `svc<j>.user.created` for a j spread over
the bindings, so it matches exactly one binding. The time covers publishing (routing and enqueueing);
the queues are purged, untimed, between repeats.

The sizes are built up in place: the bindings of size 100 are those of size 10 and 90 more, and so on.
The real RabbitMQ is measured up to `rabbitmq_max_bindings` (a binding is one round trip, so larger
sizes take minutes to set up), publishing without confirms and then waiting until the queues hold
every message.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ._harness import Config, Section, Table, Target, Unavailable, cpu_of, fmt_int, fmt_ratio, fmt_us, medians, now
from .peers import BODY, rabbitmq_connect

__all__ = ["run", "API_BIND_LIMIT"]

QUEUES = 10
API_BIND_LIMIT = 10_000
"""memq bindings beyond this are installed through the core's binding objects, not `queue_bind`:
`queue_bind` looks for an identical binding first, and that look-up scans the exchange's bindings."""


def binding_key(i: int) -> str:
    return f"svc{i}.*.created" if i % 2 == 0 else f"svc{i}.#"


def message_keys(bindings: int, count: int) -> list[str]:
    return [f"svc{(k * 7919) % bindings}.user.created" for k in range(count)]


class MemqTopic:
    """A memq broker with the topic exchange, grown binding by binding."""

    def __init__(self) -> None:
        import memq

        self.broker = memq.Broker(seed=0, start=0)
        self.channel = self.broker.connect().channel()
        self.channel.exchange_declare("bench.topic", "topic")
        for q in range(QUEUES):
            self.channel.queue_declare(f"q{q}")
        self.bindings = 0

    def grow(self, n: int) -> tuple[float, str]:
        """Add bindings up to n; the seconds per binding and how they were made."""
        start, first = now(), self.bindings
        if n <= API_BIND_LIMIT:
            for i in range(first, n):
                self.channel.queue_bind(f"q{i % QUEUES}", "bench.topic", binding_key(i))
            how = "queue_bind"
        else:
            self._grow_directly(n)
            how = "core Binding objects"
        self.bindings = n
        return (now() - start).cpu / max(1, n - first), how

    def _grow_directly(self, n: int) -> None:
        from memq._exchanges import Binding

        vhost = self.broker.vhosts["/"]
        exchange = vhost.exchanges["bench.topic"]
        for i in range(self.bindings, n):
            queue = vhost.queues[f"q{i % QUEUES}"]
            binding = Binding(exchange, queue, binding_key(i), {})
            exchange.add_binding(binding)
            queue.bound_to.append(binding)

    def publish(self, keys: list[str]) -> float:
        publish = self.channel.basic_publish
        start = now()
        for key in keys:
            publish("bench.topic", key, BODY)
        elapsed = now() - start
        self._drain(len(keys))
        return elapsed

    def _drain(self, expected: int) -> None:
        held = sum(self.channel.queue_purge(f"q{q}") for q in range(QUEUES))
        assert held == expected, (held, expected)


class RabbitTopic:
    """The same topology on the real RabbitMQ (exclusive queues, an auto-delete exchange)."""

    def __init__(self) -> None:
        self.connection = rabbitmq_connect()
        self.channel = self.connection.channel()
        self.exchange = f"bench.topic.{time.time_ns()}"
        self.channel.exchange_declare(self.exchange, "topic", auto_delete=True)
        self.queues = [self.channel.queue_declare("", exclusive=True).method.queue for _ in range(QUEUES)]
        self.bindings = 0

    def grow(self, n: int) -> tuple[float, str]:
        start, first = now(), self.bindings
        for i in range(first, n):
            self.channel.queue_bind(self.queues[i % QUEUES], self.exchange, binding_key(i))
        self.bindings = n
        return (now() - start) / max(1, n - first), "queue_bind"

    def publish(self, keys: list[str]) -> float:
        channel = self.channel
        start = now()
        for key in keys:
            channel.basic_publish(self.exchange, key, BODY)
        while self._held() < len(keys):
            pass
        elapsed = now() - start
        for queue in self.queues:
            channel.queue_purge(queue)
        return elapsed

    def _held(self) -> int:
        return sum(self.channel.queue_declare(q, passive=True).method.message_count for q in self.queues)

    def close(self) -> None:
        self.connection.close()


def _rabbit(config: Config) -> RabbitTopic | str:
    if not config.rabbitmq:
        return "skipped (--no-rabbitmq)"
    try:
        return RabbitTopic()
    except Unavailable as why:
        return str(why)


def run(config: Config) -> Section:
    sizes = config.sizes
    memq_topic, rabbit = MemqTopic(), _rabbit(config)
    table = Table(f"Topic routing cost per message as bindings grow (median of {sizes.repeat})",
                  ["bindings", "memq CPU us/msg", "memq vs 10", "memq set-up CPU us/binding",
                   "RabbitMQ us/msg", "RabbitMQ vs 10", "RabbitMQ set-up us/binding"])
    curves: dict[str, dict[int, float]] = {"memq": {}, "RabbitMQ": {}}
    for n in sizes.bindings:
        bind_cost, how = memq_topic.grow(n)
        cases: dict[str, Callable[[], float]] = {"memq": _publisher(memq_topic, n, sizes.routed)}
        rabbit_cell = ["-", "-", "-"]
        if isinstance(rabbit, RabbitTopic) and n <= sizes.rabbitmq_max_bindings:
            rabbit_bind, _ = rabbit.grow(n)
            cases["RabbitMQ"] = _publisher(rabbit, n, sizes.routed_remote)
            rabbit_cell[2] = fmt_us(rabbit_bind)
        elif isinstance(rabbit, RabbitTopic):
            rabbit_cell = ["not measured (capped)", "", ""]
        results = medians(cases, sizes.repeat)
        for name, result in results.items():
            if not isinstance(result, str):  # memq on CPU time, RabbitMQ (another process) on wall-clock time
                count = sizes.routed if name == "memq" else sizes.routed_remote
                curves[name][n] = (cpu_of(result) if name == "memq" else float(result)) / count
        rabbit_cell[:2] = _cells(curves["RabbitMQ"], n) if n in curves["RabbitMQ"] else rabbit_cell[:2]
        memq_bind = fmt_us(bind_cost) + ("" if how == "queue_bind" else f" ({how})")
        table.rows.append([fmt_int(n), *_cells(curves["memq"], n), memq_bind, *rabbit_cell])
    if isinstance(rabbit, RabbitTopic):
        rabbit.close()
        table.notes.append(f"RabbitMQ is measured up to {fmt_int(sizes.rabbitmq_max_bindings)} bindings: "
                           "each binding is a round trip, so the larger sizes would take minutes to set up.")
    else:
        table.notes.append(f"RabbitMQ: {rabbit}")
    table.notes.append("memq is timed on CPU time (this process does all its work); RabbitMQ, working in "
                       "another process, on wall-clock time.")
    table.notes.append(f"memq bindings beyond {fmt_int(API_BIND_LIMIT)} are installed through the core's "
                       "Binding objects: `queue_bind` scans the exchange's bindings for a duplicate, so "
                       "its cost grows with the bindings already there (the set-up column shows it).")
    section = Section("routing", "3. Topic routing cost vs bindings", [table])
    section.plot = {"curves": curves}
    section.targets.append(_flatness_target(curves["memq"]))
    return section


def _publisher(topic: Any, bindings: int, count: int) -> Callable[[], float]:
    keys = message_keys(bindings, count)
    return lambda: topic.publish(keys)


def _cells(curve: dict[int, float], n: int) -> list[str]:
    base = curve.get(min(curve)) if curve else None
    return [fmt_us(curve[n]), fmt_ratio(curve[n] / base) if base else "-"]


def _flatness_target(curve: dict[int, float]) -> Target:
    goal = "memq topic routing with 10,000 bindings costs <= 2x per message what 10 bindings cost"
    if 10 not in curve or 10_000 not in curve:
        return Target(goal, "-", None)
    ratio = curve[10_000] / curve[10]
    return Target(goal, f"{fmt_ratio(ratio)} ({fmt_us(curve[10_000])} vs {fmt_us(curve[10])} CPU us/msg)",
                  ratio <= 2)
