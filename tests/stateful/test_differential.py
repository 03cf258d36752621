"""memq against the real RabbitMQ: the same generated operations through pika, every observation compared.

A Hypothesis state machine opens connections and channels, declares, binds and deletes exchanges of every
type and queues with generated arguments, publishes with generated keys, headers and properties, gets,
consumes, acks, nacks, rejects, recovers, purges, cancels and lets time pass. Invalid operations are part of
the mix: 256-byte names, unknown exchange types, arguments of the wrong type, unknown delivery tags, calls on
closed channels. After every step the two brokers must agree on the call's result or error (class, reply
code and text), on what every consumer received, on broker cancels, and on which channels and connections
are open. See `differential_harness.py` for how RabbitMQ's asynchrony is kept out of the comparison.

Run it longer:

    HYPOTHESIS_PROFILE=thorough .venv/bin/python -m pytest tests/stateful/test_differential.py

Failures are kept in `.hypothesis/examples` and replayed first on the next run.
"""

from __future__ import annotations

import os
import pprint
from pathlib import Path
from typing import Any

import pika
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from .differential_harness import Pair, Side, require_rabbitmq
from .differential_strategies import (
    EXCHANGE_SLOTS,
    EXCHANGE_TYPES,
    QUEUE_SLOTS,
    binding_arguments,
    binding_keys,
    bodies,
    consumer_arguments,
    declared_exchange_slots,
    declared_queue_slots,
    delivery_tags,
    elapsed_ms,
    exchange_arguments,
    exchange_slots,
    exchange_types,
    keys,
    properties,
    queue_arguments,
    queue_slots,
    valid_queue_arguments,
)

ROOT = Path(__file__).resolve().parents[2]
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
EXAMPLES = {"ci": 120, "thorough": 10_000}
MAX_CONNECTIONS = 3

SETTINGS = settings(
    max_examples=int(os.environ.get("DIFFERENTIAL_EXAMPLES", EXAMPLES.get(PROFILE, EXAMPLES["ci"]))),
    stateful_step_count=40,
    deadline=None,
    database=DirectoryBasedExampleDatabase(str(ROOT / ".hypothesis" / "examples")),
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


class Divergence(AssertionError):
    """memq and RabbitMQ saw different things."""


class DifferentialMachine(RuleBasedStateMachine):
    """Each rule is one AMQP operation, run on memq and on RabbitMQ; every step compares the observations."""

    connections = Bundle("connections")
    channels = Bundle("channels")
    consumers = Bundle("consumers")

    def __init__(self) -> None:
        super().__init__()
        self.pair = Pair()
        self.failed = False
        self.published = 0
        # What the machine knows about each channel handle, from memq's answers (the two sides agree or
        # the example has already failed).
        self.taken_from: dict[int, set[str]] = {}
        self.tags_seen: dict[int, list[int]] = {}
        self.tags_used: dict[int, set[int]] = {}
        self.consuming: dict[int, dict[int, str]] = {}
        self.consumer_channel: list[int] = []
        self.exclusive_owner: dict[str, int] = {}
        self.live_connections = 0
        self.live_channels = 0
        self.channel_alias: dict[int, int] = {}
        self.connection_alias: dict[int, int] = {}
        self.closed_uses: dict[int, int] = {}

    # --- running a step on both sides -------------------------------------------------------------

    def step(self, label: str, operation: Any, settle: float = 0.0) -> tuple:
        """Run `operation(side)` on RabbitMQ then memq; compare; return memq's outcome.

        `settle`: seconds to let RabbitMQ's answers arrive before comparing, for an operation whose effect
        memq shows at once but no observation waits for (a frame pika sends on a closed channel).
        """
        pair = self.pair
        memq_side, rabbit = pair.memq, pair.rabbit
        mark = len(memq_side.broker.trace)
        pair.clear_of_timers()
        start = pair.elapsed()
        rabbit_outcome = rabbit.run(operation)
        memq_side.advance_to(start)
        memq_outcome = memq_side.run(operation)
        memq_problems = memq_side.pump()
        if settle:
            rabbit.settle(settle)
        rabbit_problems = rabbit.pump(pair.targets(), pair.closed())
        memq_deleted, rabbit_deleted = self.deletions(mark)
        seen = {"memq": self.observation(memq_side, memq_outcome, memq_problems, memq_deleted),
                "rabbitmq": self.observation(rabbit, rabbit_outcome, rabbit_problems, rabbit_deleted)}
        self.record(memq_side)
        if seen["memq"] != seen["rabbitmq"]:
            self.failed = True
            raise Divergence(self.explain(label, seen))
        memq_side.broker.check_invariants()
        return memq_outcome

    def deletions(self, mark: int) -> tuple[list, list]:
        """The queues and exchanges memq deleted since trace position `mark`, and those of them RabbitMQ has
        deleted too (waiting for it: RabbitMQ deletes auto-delete, exclusive and expired queues in the
        background)."""
        memq_side, rabbit = self.pair.memq, self.pair.rabbit
        queues, exchanges = memq_side.deleted_since(mark)
        deleted = [(kind, name) for kind, names in (("queue", queues), ("exchange", exchanges)) for name in names]
        gone = [(kind, name) for kind, name in deleted if rabbit.gone(kind, self.rabbit_name(name))]
        return ([(kind, memq_side.norm(name)) for kind, name in deleted],
                [(kind, memq_side.norm(name)) for kind, name in gone])

    def observation(self, side: Side, outcome: tuple, problems: list, deleted: list) -> dict:
        received, cancelled = side.received()
        connections_open, channels_open = side.openness()
        return {"outcome": outcome, "problems": problems, "received": received, "cancelled": cancelled,
                "connections open": connections_open, "channels open": channels_open, "deleted": deleted}

    def explain(self, label: str, seen: dict) -> str:
        lines = [f"memq and RabbitMQ differ after {label}:"]
        for key in seen["memq"]:
            if seen["memq"][key] != seen["rabbitmq"][key]:
                lines.append(f"  {key}:")
                lines.append("    memq:     " + pprint.pformat(seen["memq"][key], width=110).replace("\n", "\n" + " " * 14))
                lines.append("    rabbitmq: " + pprint.pformat(seen["rabbitmq"][key], width=110).replace("\n", "\n" + " " * 14))
        return "\n".join(lines)

    def rabbit_name(self, memq_name: str) -> str:
        """RabbitMQ's name for a queue memq knows as `memq_name` (they differ for server-named queues)."""
        generated = self.pair.memq.generated
        if memq_name in generated:
            index = generated.index(memq_name)
            if index < len(self.pair.rabbit.generated):
                return self.pair.rabbit.generated[index]
        return memq_name

    def record(self, side: Side) -> None:
        """Note the delivery tags each channel received, and consumers the broker cancelled."""
        for handle, inbox in enumerate(side.inbox):
            seen = self.tags_seen.setdefault(handle, [])
            for delivery in inbox:
                if delivery[1] not in seen:
                    seen.append(delivery[1])
        for handle, tags in enumerate(side.cancelled):
            consuming = self.consuming.get(handle, {})
            for consumer, _queue in list(consuming.items()):
                if side.consumer_tags[consumer] in tags:
                    del consuming[consumer]

    # --- keeping examples productive ----------------------------------------------------------------

    def usable(self, channel: int) -> int:
        """The channel a rule drawn for handle `channel` runs on.

        A channel the broker closed stays closed for one more operation (so calls on closed channels are
        exercised); after that the handle stands for a fresh channel on the same connection (reopened too if
        need be), opened as a step of its own. This depends only on earlier outcomes, so replaying an
        example replays it.
        """
        while channel in self.channel_alias:
            channel = self.channel_alias[channel]
        memq_channel = self.pair.memq.channels[channel]
        if memq_channel is not None and memq_channel.is_open:
            return channel
        self.closed_uses[channel] = self.closed_uses.get(channel, 0) + 1
        if self.closed_uses[channel] < 2:
            return channel
        fresh = self.open_channel(self.usable_connection(self.pair.memq.channel_connection[channel], revive=True))
        self.channel_alias[channel] = fresh
        return fresh

    def usable_connection(self, connection: int, revive: bool = False) -> int:
        """Like `usable`, for a connection: a closed one is replaced after one more use (or at once)."""
        while connection in self.connection_alias:
            connection = self.connection_alias[connection]
        memq_connection = self.pair.memq.connections[connection]
        if memq_connection is not None and memq_connection.is_open:
            return connection
        self.closed_uses[-1 - connection] = self.closed_uses.get(-1 - connection, 0) + 1
        if not revive and self.closed_uses[-1 - connection] < 2:
            return connection
        fresh = self.open_connection()
        self.connection_alias[connection] = fresh
        return fresh

    def teardown(self) -> None:
        pair = self.pair
        try:
            if not self.failed:
                pair.rabbit.settle(0.05)
                self.step("the example's last step (after letting RabbitMQ settle)", lambda side: None)
        finally:
            for side in pair.sides:
                side.close_all()
            rabbit = pair.rabbit
            names = [("queue", rabbit.queue_name(slot)) for slot in QUEUE_SLOTS + ("long255", "unicode", "crlf")]
            names += [("queue", name) for name in rabbit.generated]
            names += [("exchange", rabbit.exchange_name(slot))
                      for slot in EXCHANGE_SLOTS + ("missing", "long255", "unicode", "crlf")]
            rabbit.delete_everything(names)

    # --- connections and channels -----------------------------------------------------------------

    @initialize(target=connections)
    def first_connection(self) -> int:
        return self.open_connection()

    @initialize(target=channels,
                exchange_types=st.tuples(*[st.sampled_from(EXCHANGE_TYPES)] * len(EXCHANGE_SLOTS)),
                queue_arguments=st.tuples(*[valid_queue_arguments] * len(QUEUE_SLOTS)),
                bindings=st.lists(st.tuples(st.sampled_from(QUEUE_SLOTS), st.sampled_from(EXCHANGE_SLOTS),
                                            binding_keys, binding_arguments), min_size=1, max_size=5),
                exchange_bindings=st.lists(st.tuples(st.sampled_from(EXCHANGE_SLOTS),
                                                     st.sampled_from(EXCHANGE_SLOTS), binding_keys), max_size=2))
    def topology(self, exchange_types: tuple, queue_arguments: tuple, bindings: list,
                 exchange_bindings: list) -> int:
        """A channel on a connection of its own, and a starting topology declared through it: every exchange
        and queue of the pool, with generated types and arguments, and some bindings."""
        channel = self.open_channel(self.open_connection())
        for exchange, exchange_type in zip(EXCHANGE_SLOTS, exchange_types):
            self.exchange_declare(channel, exchange, exchange_type, False, False, False, False, {})
        for queue, arguments in zip(QUEUE_SLOTS, queue_arguments):
            self.queue_declare(channel, queue, False, False, False, False, arguments)
        for queue, exchange, key, arguments in bindings:
            self.queue_bind(channel, queue, exchange, key, arguments, True)
        for destination, source, key in exchange_bindings:
            self.exchange_bind(channel, destination, source, key, {}, True)
        return channel

    # Preconditions count what the rules themselves opened and closed: they must not depend on timing.
    @precondition(lambda self: self.live_connections < MAX_CONNECTIONS)
    @rule(target=connections)
    def open_connection(self) -> int:
        handle = len(self.pair.memq.connections)
        self.live_connections += 1

        def operation(side: Side) -> None:
            side.connections.append(None)
            side.connections[handle] = side.connect()

        self.step(f"opening connection {handle}", operation)
        return handle

    @precondition(lambda self: self.live_connections > 1)
    @rule(connection=connections)
    def close_connection(self, connection: int) -> None:
        connection = self.usable_connection(connection)
        self.live_connections -= 1
        self.step(f"closing connection {connection}", lambda side: side.connection(connection).close())
        for handle, owner in enumerate(self.pair.memq.channel_connection):
            if owner == connection:
                self.consuming.pop(handle, None)

    @rule(target=channels, connection=connections)
    def open_channel(self, connection: int) -> int:
        connection = self.usable_connection(connection)
        handle = len(self.pair.memq.channels)
        self.live_channels += 1

        def operation(side: Side) -> int:
            side.channels.append(None)
            side.channel_connection.append(connection)
            side.inbox.append([])
            side.cancelled.append([])
            channel = side.connection(connection).channel()
            side.channels[handle] = channel
            channel.add_on_cancel_callback(side.on_cancel(handle))
            channel.confirm_delivery()
            return channel.channel_number

        self.step(f"opening channel {handle} on connection {connection}", operation)
        return handle

    @precondition(lambda self: self.live_channels > 1)
    @rule(channel=channels)
    def close_channel(self, channel: int) -> None:
        channel = self.usable(channel)
        self.live_channels -= 1
        self.step(f"closing channel {channel}", lambda side: side.channel(channel).close())
        self.consuming.pop(channel, None)

    @rule(channel=channels, prefetch_count=st.integers(0, 3), global_qos=st.booleans())
    def basic_qos(self, channel: int, prefetch_count: int, global_qos: bool) -> None:
        channel = self.usable(channel)
        self.step("basic_qos", lambda side: side.channel(channel).basic_qos(
            prefetch_count=prefetch_count, global_qos=global_qos))

    @rule(channel=channels, active=st.sampled_from([True] * 9 + [False]))
    def flow(self, channel: int, active: bool) -> None:
        channel = self.usable(channel)
        self.step(f"channel.flow({active})", lambda side: side.channel(channel).flow(active))

    # --- exchanges ---------------------------------------------------------------------------------

    @rule(channel=channels, exchange=declared_exchange_slots, exchange_type=exchange_types,
          passive=st.sampled_from([False, False, False, True]), durable=st.booleans(),
          auto_delete=st.booleans(), internal=st.sampled_from([False, False, False, True]),
          arguments=exchange_arguments)
    def exchange_declare(self, channel: int, exchange: str, exchange_type: str, passive: bool,
                         durable: bool, auto_delete: bool, internal: bool, arguments: dict) -> None:
        channel = self.usable(channel)
        self.step("exchange_declare", lambda side: side.channel(channel).exchange_declare(
            side.exchange_name(exchange), exchange_type, passive=passive, durable=durable,
            auto_delete=auto_delete, internal=internal, arguments=side.resolve(arguments)))

    @rule(channel=channels, exchange=declared_exchange_slots, if_unused=st.booleans())
    def exchange_delete(self, channel: int, exchange: str, if_unused: bool) -> None:
        channel = self.usable(channel)
        self.step("exchange_delete", lambda side: side.channel(channel).exchange_delete(
            side.exchange_name(exchange), if_unused=if_unused))

    @rule(channel=channels, destination=exchange_slots, source=exchange_slots, key=binding_keys,
          arguments=binding_arguments, bind=st.sampled_from([True, True, False]))
    def exchange_bind(self, channel: int, destination: str, source: str, key: Any, arguments: dict,
                      bind: bool) -> None:
        channel = self.usable(channel)
        def operation(side: Side) -> Any:
            method = side.channel(channel).exchange_bind if bind else side.channel(channel).exchange_unbind
            return method(side.exchange_name(destination), side.exchange_name(source), side.resolve(key),
                          arguments=arguments)

        self.step("exchange_bind" if bind else "exchange_unbind", operation)

    # --- queues ------------------------------------------------------------------------------------

    @rule(channel=channels, queue=declared_queue_slots, passive=st.sampled_from([False, False, False, True]),
          durable=st.sampled_from([False, False, True]), exclusive=st.booleans(),
          auto_delete=st.booleans(), arguments=queue_arguments)
    def queue_declare(self, channel: int, queue: str, passive: bool, durable: bool, exclusive: bool,
                      auto_delete: bool, arguments: dict) -> None:
        channel = self.usable(channel)
        def operation(side: Side) -> Any:
            ok = side.channel(channel).queue_declare(
                side.queue_name(queue), passive=passive, durable=durable, exclusive=exclusive,
                auto_delete=auto_delete, arguments=side.resolve(arguments))
            if queue == "" and ok.method.queue not in side.generated:
                side.add_generated(ok.method.queue)
            return ok

        outcome = self.step("queue_declare", operation)
        if outcome[0] == "ok" and not passive:
            name = self.pair.memq.generated[-1] if queue == "" else self.pair.memq.queue_name(queue)
            if exclusive:
                self.exclusive_owner[name] = self.pair.memq.channel_connection[channel]
            else:
                self.exclusive_owner.pop(name, None)

    @rule(channel=channels, queue=queue_slots, exchange=exchange_slots, key=binding_keys,
          arguments=binding_arguments, bind=st.sampled_from([True, True, False]))
    def queue_bind(self, channel: int, queue: str, exchange: str, key: Any, arguments: dict,
                   bind: bool) -> None:
        channel = self.usable(channel)
        def operation(side: Side) -> Any:
            method = side.channel(channel).queue_bind if bind else side.channel(channel).queue_unbind
            return method(side.queue_name(queue), side.exchange_name(exchange), side.resolve(key),
                          arguments=arguments)

        self.step("queue_bind" if bind else "queue_unbind", operation)

    @rule(channel=channels, queue=queue_slots)
    def queue_purge(self, channel: int, queue: str) -> None:
        channel = self.usable(channel)
        self.step("queue_purge", lambda side: side.channel(channel).queue_purge(side.queue_name(queue)))

    @rule(channel=channels, queue=queue_slots, if_unused=st.booleans(), if_empty=st.booleans())
    def queue_delete(self, channel: int, queue: str, if_unused: bool, if_empty: bool) -> None:
        channel = self.usable(channel)
        self.step("queue_delete", lambda side: side.channel(channel).queue_delete(
            side.queue_name(queue), if_unused=if_unused, if_empty=if_empty))

    # --- publishing --------------------------------------------------------------------------------

    @rule(channel=channels, exchange=exchange_slots, key=keys, props=properties, body=bodies,
          mandatory=st.booleans())
    def basic_publish(self, channel: int, exchange: str, key: Any, props: dict, body: bytes,
                      mandatory: bool) -> None:
        channel = self.usable(channel)
        self.published += 1
        numbered = b"%d:" % self.published + body

        def operation(side: Side) -> Any:
            return side.channel(channel).basic_publish(
                side.exchange_name(exchange), side.resolve(key), numbered,
                pika.BasicProperties(**side.resolve(props)), mandatory=mandatory)

        self.step("basic_publish", operation)

    @rule(channel=channels, queue=queue_slots, expiration=st.sampled_from([None, None, "0", "50", "120"]),
          priority=st.sampled_from([None, 0, 3]), count=st.integers(1, 4))
    def publish_to_queue(self, channel: int, queue: str, expiration: str | None, priority: int | None,
                         count: int) -> None:
        """Publish a few plain messages through the default exchange, straight into a queue."""
        channel = self.usable(channel)
        first = self.published + 1
        self.published += count

        def operation(side: Side) -> Any:
            handle = side.channel(channel)
            for number in range(first, first + count):
                handle.basic_publish("", side.queue_name(queue), b"%d" % number,
                                     pika.BasicProperties(expiration=expiration, priority=priority))

        self.step("publishing to a queue", operation)

    # --- getting and consuming ---------------------------------------------------------------------

    @rule(channel=channels, queue=queue_slots, auto_ack=st.booleans())
    def basic_get(self, channel: int, queue: str, auto_ack: bool) -> None:
        channel = self.usable(channel)
        was_open = self.pair.memq.openness()[1][channel]
        outcome = self.step("basic_get", lambda side: side.channel(channel).basic_get(
            side.queue_name(queue), auto_ack=auto_ack), settle=0.0 if was_open else 0.02)
        if outcome[0] == "ok" and outcome[1][0] is not None:
            self.taken_from.setdefault(channel, set()).add(queue)
            if not auto_ack:
                self.tags_seen.setdefault(channel, []).append(outcome[1][0][1]["delivery_tag"])

    @rule(target=consumers, channel=channels, queue=queue_slots, auto_ack=st.booleans(),
          exclusive=st.sampled_from([False, False, True]), tag=st.sampled_from([None, "ca", "cb"]),
          arguments=consumer_arguments)
    def basic_consume(self, channel: int, queue: str, auto_ack: bool, exclusive: bool, tag: str | None,
                      arguments: dict) -> Any:
        channel = self.usable(channel)
        name = self.pair.memq.queue_name(queue)
        handle = len(self.consumer_channel)
        self.consumer_channel.append(channel)
        for side in self.pair.sides:
            side.consumer_tags.append(None)
        if set(self.consuming.get(channel, {}).values()) - {name}:
            # Two queues delivering to one channel race for its delivery tags on RabbitMQ, so this consumer
            # is never started. (The handle is returned all the same: what the bundles hold must not depend
            # on what the brokers answered, or Hypothesis cannot replay an example.)
            return handle

        def operation(side: Side) -> str:
            consumer_tag = side.channel(channel).basic_consume(
                side.queue_name(queue), side.on_message(channel), auto_ack=auto_ack, exclusive=exclusive,
                consumer_tag=tag, arguments=arguments)
            side.add_consumer_tag(consumer_tag)
            side.consumer_tags[handle] = consumer_tag
            return consumer_tag

        outcome = self.step("basic_consume", operation)
        if outcome[0] == "ok":
            self.consuming.setdefault(channel, {})[handle] = name
            self.taken_from.setdefault(channel, set()).add(queue)
        return handle

    @rule(consumer=consumers)
    def basic_cancel(self, consumer: int) -> None:
        channel = self.consumer_channel[consumer]

        def operation(side: Side) -> Any:
            tag = side.consumer_tags[consumer]
            return side.channel(channel).basic_cancel(tag if tag is not None else "never-started")

        self.step("basic_cancel", operation)
        self.consuming.get(channel, {}).pop(consumer, None)

    @rule(channel=channels, tag=st.sampled_from(["ca", "nope"]))
    def basic_cancel_by_tag(self, channel: int, tag: str) -> None:
        channel = self.usable(channel)
        self.step("basic_cancel", lambda side: side.channel(channel).basic_cancel(tag))
        for consumer, _ in list(self.consuming.get(channel, {}).items()):
            if self.pair.memq.consumer_tags[consumer] == tag:
                del self.consuming[channel][consumer]

    # --- acknowledgements ----------------------------------------------------------------------------

    def settle(self, label: str, channel: int, tag: Any, call: Any) -> None:
        """Run an asynchronous settlement, then a passive declare of each queue the channel took from."""
        channel = self.usable(channel)
        number = self.delivery_tag(channel, tag)
        existing = self.pair.memq.existing_queues()
        owner = self.pair.memq.channel_connection[channel]
        probes = sorted(
            slot for slot in self.taken_from.get(channel, ())
            if slot and self.pair.memq.queue_name(slot) in existing
            and self.exclusive_owner.get(self.pair.memq.queue_name(slot), owner) == owner
        )

        def operation(side: Side) -> Any:
            handle = side.channel(channel)
            call(handle, number)
            counts = [handle.queue_declare(side.queue_name(slot), passive=True) for slot in probes]
            handle.exchange_declare("amq.direct", passive=True)
            return counts

        self.step(f"{label}({number})", operation)

    def delivery_tag(self, channel: int, tag: Any) -> int:
        seen = self.tags_seen.get(channel, [])
        used = self.tags_used.setdefault(channel, set())
        if tag == "last":
            tag = max(seen, default=0)
        elif tag == "first":
            tag = min((t for t in seen if t not in used), default=0)
        used.add(tag)
        return tag

    @rule(channel=channels, tag=delivery_tags, multiple=st.booleans())
    def basic_ack(self, channel: int, tag: Any, multiple: bool) -> None:
        self.settle("basic_ack", channel, tag, lambda ch, n: ch.basic_ack(n, multiple=multiple))

    @rule(channel=channels, tag=delivery_tags, multiple=st.booleans(), requeue=st.booleans())
    def basic_nack(self, channel: int, tag: Any, multiple: bool, requeue: bool) -> None:
        self.settle("basic_nack", channel, tag,
                    lambda ch, n: ch.basic_nack(n, multiple=multiple, requeue=requeue))

    @rule(channel=channels, tag=delivery_tags, requeue=st.booleans())
    def basic_reject(self, channel: int, tag: Any, requeue: bool) -> None:
        self.settle("basic_reject", channel, tag, lambda ch, n: ch.basic_reject(n, requeue=requeue))

    @rule(channel=channels, requeue=st.sampled_from([True] * 9 + [False]))
    def basic_recover(self, channel: int, requeue: bool) -> None:
        self.settle("basic_recover", channel, 0, lambda ch, n: ch.basic_recover(requeue=requeue))

    # --- time ----------------------------------------------------------------------------------------

    @rule(milliseconds=elapsed_ms)
    def elapse(self, milliseconds: Any) -> None:
        """Let time pass: a fixed time, or until memq's next timer is due (a short pause if none is)."""
        pair = self.pair
        if milliseconds == "next":
            deadline = pair.memq.next_deadline()
            target = deadline if deadline is not None else pair.elapsed() + 0.005
        else:
            target = pair.elapsed() + milliseconds / 1000
        pair.sleep_until(target)
        self.step(f"time passing ({milliseconds})", lambda side: None)



def test_memq_matches_rabbitmq() -> None:
    """Generated operations, valid and invalid, give the same observations on memq and on RabbitMQ."""
    require_rabbitmq()
    run_state_machine_as_test(DifferentialMachine, settings=SETTINGS)
