"""memq's native API against a small reference model: random operations, every observation compared.

The model is written to be obviously right rather than fast. It knows routing for the default, direct,
fanout and topic exchanges (topic by a plain recursive matcher over words), keeps each queue's ready messages
sorted by arrival, puts requeued messages back at their arrival position marked redelivered, expires messages
of the TTL queue at its head, and knows what a channel close, a dropped connection and a restart settle.
It does not model which consumer of a queue gets a message, only that each queue hands its messages out in
its order and that a queue never keeps ready messages while one of its consumers has room.

After every step `broker.check_invariants()` runs and every queue's ready count is compared with the model.

Run it longer: MEMQ_STATEFUL_EXAMPLES=2000 .venv/bin/python -m pytest tests/stateful/test_core_model.py
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import memq
from memq import errors
from memq import events as ev

# name -> (durable, x-message-ttl in ms or None)
QUEUES = {"q0": (True, None), "q1": (False, None), "q2": (True, None), "ttl": (True, 1000)}
# name -> (type, durable)
EXCHANGES = {"d": ("direct", True), "f": ("fanout", False), "t": ("topic", True)}
SLOTS = 3

words = st.sampled_from(["a", "b", "c", ""])
routing_keys = st.lists(words, max_size=3).map(".".join)
binding_keys = st.lists(st.sampled_from(["a", "b", "*", "#", ""]), max_size=3).map(".".join)


def topic_matches(pattern: str, key: str) -> bool:
    """The AMQP topic rule, written plainly: `*` is one word, `#` zero or more; '' has no words."""
    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        return bool(k) and p[0] in ("*", k[0]) and match(p[1:], k[1:])

    return match(pattern.split(".") if pattern else [], key.split(".") if key else [])


class MEntry:
    """A message's place in a model queue."""

    def __init__(self, seq: int, body: bytes, arrival: float, persistent: bool) -> None:
        self.seq, self.body, self.arrival, self.persistent = seq, body, arrival, persistent
        self.redelivered = False


class MQueue:
    """One incarnation of a queue: deleting and redeclaring makes a new one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.durable, ttl = QUEUES[name]
        self.ttl = None if ttl is None else ttl / 1000.0
        self.ready: list[MEntry] = []
        self.next_seq = 0
        self.alive = True

    def expire(self, now: float) -> None:
        """Messages past their TTL leave from the head (arrival order is deadline order here)."""
        if self.ttl is not None:
            while self.ready and self.ready[0].arrival + self.ttl <= now:
                self.ready.pop(0)

    def requeue(self, entry: MEntry) -> None:
        if self.alive:
            entry.redelivered = True
            self.ready.append(entry)
            self.ready.sort(key=lambda e: e.seq)


class MConsumer:
    def __init__(self, tag: str, queue: MQueue, prefetch: int, auto_ack: bool) -> None:
        self.tag, self.queue, self.prefetch, self.auto_ack = tag, queue, prefetch, auto_ack
        self.unacked = 0

    def has_room(self) -> bool:
        return self.auto_ack or not self.prefetch or self.unacked < self.prefetch


class MChannel:
    """A real channel and what the model expects of it."""

    def __init__(self, channel: memq.Channel) -> None:
        self.channel = channel
        self.next_tag = 0
        self.prefetch = 0
        self.unacked: dict[int, tuple[MQueue, MEntry, MConsumer | None]] = {}
        self.consumers: dict[str, MConsumer] = {}


class CoreModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.broker = memq.Broker(seed=0, start=0)
        self.connection = self.broker.connect()
        self.slots: list[MChannel | None] = [None] * SLOTS
        self.queues: dict[str, MQueue] = {}
        self.exchanges: set[str] = set()
        self.bindings: list[tuple[str, str, str]] = []  # (exchange, queue, key), in binding order
        self.deliveries: list[tuple[memq.Channel, memq.Deliver, bytes]] = []
        self.bodies = 0

    # --- helpers -------------------------------------------------------------------------------

    def slot(self, index: int) -> MChannel:
        """The open channel in slot `index`, opening one (and a connection) if needed."""
        current = self.slots[index]
        if current is None or not current.channel.is_open:
            if not self.connection.is_open:
                self.connection = self.broker.connect()
            current = self.slots[index] = MChannel(self.connection.channel())
        return current

    def now(self) -> float:
        return self.broker.clock.now()

    def settle_closed(self, mch: MChannel) -> None:
        """The model side of a channel closing: its unacked messages go back, its consumers go."""
        for _, (queue, entry, consumer) in sorted(mch.unacked.items()):
            queue.requeue(entry)
        mch.unacked.clear()
        mch.consumers.clear()

    def expect_channel_error(self, mch: MChannel, code: int, call: Any, *args: Any, **kwargs: Any) -> None:
        try:
            call(*args, **kwargs)
        except errors.AMQPError as error:
            assert error.reply_code == code and not error.hard, error
        else:
            raise AssertionError(f"{call.__name__}{args} should have failed with {code}")
        assert not mch.channel.is_open and self.connection.is_open
        self.settle_closed(mch)

    def remove_queue(self, name: str) -> None:
        queue = self.queues.pop(name)
        queue.alive = False
        for mch in self.open_channels():
            for tag, consumer in list(mch.consumers.items()):
                if consumer.queue is queue:
                    del mch.consumers[tag]
        self.bindings = [b for b in self.bindings if b[1] != name]

    def open_channels(self) -> list[MChannel]:
        return [m for m in self.slots if m is not None and m.channel.is_open]

    def route(self, exchange: str, key: str) -> list[str]:
        if exchange == "":
            return [key] if key in self.queues else []
        kind = EXCHANGES[exchange][0]
        targets = []
        for source, queue, binding_key in self.bindings:
            if source != exchange or queue in targets:
                continue
            if kind == "fanout" or (kind == "direct" and binding_key == key) or (
                    kind == "topic" and topic_matches(binding_key, key)):
                targets.append(queue)
        return targets

    def take_deliveries(self) -> None:
        """Check each delivery made since the last look against the head of its model queue."""
        deliveries, self.deliveries = self.deliveries, []
        for channel, deliver, body in deliveries:
            mch = next(m for m in self.slots if m is not None and m.channel is channel)
            consumer = mch.consumers[deliver.consumer_tag]
            queue = consumer.queue
            queue.expire(self.now())
            assert queue.ready, f"{queue.name} delivered {body!r} but the model has nothing ready"
            entry = queue.ready.pop(0)
            assert (body, deliver.redelivered) == (entry.body, entry.redelivered), queue.name
            mch.next_tag += 1
            assert deliver.delivery_tag == mch.next_tag
            if not consumer.auto_ack:
                mch.unacked[deliver.delivery_tag] = (queue, entry, consumer)
                consumer.unacked += 1
                assert not consumer.prefetch or consumer.unacked <= consumer.prefetch, f"{consumer.tag} over prefetch"

    def settle(self, mch: MChannel, tags: list[int], requeue: bool | None) -> None:
        for tag in tags:
            queue, entry, consumer = mch.unacked.pop(tag)
            if consumer is not None:
                consumer.unacked -= 1
            if requeue:
                queue.requeue(entry)

    # --- topology ------------------------------------------------------------------------------

    @initialize(bindings=st.lists(st.tuples(st.sampled_from(sorted(EXCHANGES)), st.sampled_from(sorted(QUEUES)),
                                            binding_keys), max_size=6))
    def declare_everything(self, bindings: list[tuple[str, str, str]]) -> None:
        """Start from every exchange and queue declared, with some bindings, so that messages flow early."""
        for name in EXCHANGES:
            self.declare_exchange(name, 0)
        for name in QUEUES:
            self.declare_queue(name, 0)
        for exchange, queue, key in bindings:
            self.bind(exchange, queue, key, 0)


    @rule(name=st.sampled_from(sorted(QUEUES)), slot=st.integers(0, SLOTS - 1))
    def declare_queue(self, name: str, slot: int) -> None:
        durable, ttl = QUEUES[name]
        arguments = {} if ttl is None else {"x-message-ttl": ttl}
        ok = self.slot(slot).channel.queue_declare(name, durable=durable, arguments=arguments)
        queue = self.queues.setdefault(name, MQueue(name))
        queue.expire(self.now())
        assert ok.message_count == len(queue.ready)

    @rule(name=st.sampled_from(sorted(QUEUES)), slot=st.integers(0, SLOTS - 1))
    def delete_queue(self, name: str, slot: int) -> None:
        count = self.slot(slot).channel.queue_delete(name)
        queue = self.queues.get(name)
        if queue is None:
            assert count == 0
            return
        queue.expire(self.now())
        assert count == len(queue.ready)
        self.remove_queue(name)

    @rule(name=st.sampled_from(sorted(QUEUES)), slot=st.integers(0, SLOTS - 1))
    def purge_queue(self, name: str, slot: int) -> None:
        mch = self.slot(slot)
        queue = self.queues.get(name)
        if queue is None:
            self.expect_channel_error(mch, 404, mch.channel.queue_purge, name)
            return
        queue.expire(self.now())
        assert mch.channel.queue_purge(name) == len(queue.ready)
        queue.ready.clear()

    @rule(name=st.sampled_from(sorted(EXCHANGES)), slot=st.integers(0, SLOTS - 1))
    def declare_exchange(self, name: str, slot: int) -> None:
        kind, durable = EXCHANGES[name]
        self.slot(slot).channel.exchange_declare(name, kind, durable=durable)
        self.exchanges.add(name)

    @rule(name=st.sampled_from(sorted(EXCHANGES)), slot=st.integers(0, SLOTS - 1))
    def delete_exchange(self, name: str, slot: int) -> None:
        self.slot(slot).channel.exchange_delete(name)
        self.exchanges.discard(name)
        self.bindings = [b for b in self.bindings if b[0] != name]

    @rule(exchange=st.sampled_from(sorted(EXCHANGES)), queue=st.sampled_from(sorted(QUEUES)), key=binding_keys,
          slot=st.integers(0, SLOTS - 1))
    def bind(self, exchange: str, queue: str, key: str, slot: int) -> None:
        mch = self.slot(slot)
        if exchange not in self.exchanges or queue not in self.queues:
            self.expect_channel_error(mch, 404, mch.channel.queue_bind, queue, exchange, key)
            return
        mch.channel.queue_bind(queue, exchange, key)
        if (exchange, queue, key) not in self.bindings:
            self.bindings.append((exchange, queue, key))

    @rule(data=st.data(), slot=st.integers(0, SLOTS - 1))
    def unbind(self, data: st.DataObject, slot: int) -> None:
        if not self.bindings:
            return
        exchange, queue, key = data.draw(st.sampled_from(self.bindings))
        self.slot(slot).channel.queue_unbind(queue, exchange, key)
        self.bindings.remove((exchange, queue, key))

    # --- publishing and getting ----------------------------------------------------------------

    @rule(exchange=st.sampled_from(["", *sorted(EXCHANGES)]), key=routing_keys | st.sampled_from(sorted(QUEUES)),
          persistent=st.booleans(), slot=st.integers(0, SLOTS - 1))
    def publish(self, exchange: str, key: str, persistent: bool, slot: int) -> None:
        mch = self.slot(slot)
        self.bodies += 1
        body = f"m{self.bodies}".encode()
        properties = memq.Properties(delivery_mode=2 if persistent else 1)
        if exchange and exchange not in self.exchanges:
            self.expect_channel_error(mch, 404, mch.channel.basic_publish, exchange, key, body, properties)
            return
        mark = len(self.broker.trace)
        mch.channel.basic_publish(exchange, key, body, properties)
        expected = self.route(exchange, key)
        routed = [e for e in self.broker.trace[mark:] if isinstance(e, (ev.Routed, ev.Unroutable))]
        actual = list(routed[0].queues) if isinstance(routed[0], ev.Routed) else []
        assert sorted(actual) == sorted(expected) and len(set(actual)) == len(actual), (exchange, key)
        for name in expected:
            queue = self.queues[name]
            queue.next_seq += 1
            queue.ready.append(MEntry(queue.next_seq, body, self.now(), persistent))

    @rule(name=st.sampled_from(sorted(QUEUES)), persistent=st.booleans(), slot=st.integers(0, SLOTS - 1),
          then_run=st.booleans())
    def publish_to_queue(self, name: str, persistent: bool, slot: int, then_run: bool) -> None:
        """Publish through the default exchange to a queue by name (the commonest publish), maybe deliver."""
        self.publish("", name, persistent, slot)
        if then_run:
            self.run()

    @rule(data=st.data(), persistent=st.booleans(), slot=st.integers(0, SLOTS - 1), then_run=st.booleans())
    def publish_matching(self, data: st.DataObject, persistent: bool, slot: int, then_run: bool) -> None:
        """Publish with a routing key made to match one of the bindings (`*` one word, `#` zero to two)."""
        if not self.bindings:
            return
        exchange, _, key = data.draw(st.sampled_from(self.bindings))
        if EXCHANGES[exchange][0] == "topic":
            made: list[str] = []
            for word in key.split(".") if key else []:
                if word == "*":
                    made.append(data.draw(words))
                elif word == "#":
                    made.extend(data.draw(st.lists(words, max_size=2)))
                else:
                    made.append(word)
            key = ".".join(made)
        self.publish(exchange, key, persistent, slot)
        if then_run:
            self.run()

    @rule(name=st.sampled_from(sorted(QUEUES)), auto_ack=st.booleans(), slot=st.integers(0, SLOTS - 1))
    def get(self, name: str, auto_ack: bool, slot: int) -> None:
        mch = self.slot(slot)
        queue = self.queues.get(name)
        if queue is None:
            self.expect_channel_error(mch, 404, mch.channel.basic_get, name)
            return
        got = mch.channel.basic_get(name, auto_ack=auto_ack)
        queue.expire(self.now())
        if not queue.ready:
            assert got is None
            return
        entry = queue.ready.pop(0)
        mch.next_tag += 1
        assert got is not None
        assert (got.body, got.redelivered, got.delivery_tag, got.message_count) == (
            entry.body, entry.redelivered, mch.next_tag, len(queue.ready))
        if not auto_ack:
            mch.unacked[got.delivery_tag] = (queue, entry, None)

    # --- consumers -----------------------------------------------------------------------------

    @rule(slot=st.integers(0, SLOTS - 1), prefetch=st.integers(0, 3))
    def qos(self, slot: int, prefetch: int) -> None:
        mch = self.slot(slot)
        mch.channel.basic_qos(prefetch_count=prefetch)
        mch.prefetch = prefetch

    @rule(name=st.sampled_from(sorted(QUEUES)), auto_ack=st.booleans(), slot=st.integers(0, SLOTS - 1),
          prefetch=st.none() | st.integers(0, 3))
    def consume(self, name: str, auto_ack: bool, slot: int, prefetch: int | None) -> None:
        mch = self.slot(slot)
        if prefetch is not None:
            self.qos(slot, prefetch)

        def record(channel: memq.Channel, deliver: memq.Deliver, properties: memq.Properties, body: bytes) -> None:
            self.deliveries.append((channel, deliver, body))

        queue = self.queues.get(name)
        if queue is None:
            self.expect_channel_error(mch, 404, mch.channel.basic_consume, name, record)
            return
        tag = mch.channel.basic_consume(name, record, auto_ack=auto_ack)
        mch.consumers[tag] = MConsumer(tag, queue, mch.prefetch, auto_ack)

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        consumers = [(m, tag) for m in self.open_channels() for tag in m.consumers]
        if not consumers:
            return
        mch, tag = data.draw(st.sampled_from(consumers))
        mch.channel.basic_cancel(tag)
        del mch.consumers[tag]

    @rule()
    def run(self) -> None:
        self.broker.run_until_idle()
        self.take_deliveries()
        for mch in self.open_channels():
            for consumer in mch.consumers.values():
                consumer.queue.expire(self.now())
                assert not (consumer.queue.ready and consumer.has_room()), (
                    f"{consumer.queue.name} keeps {len(consumer.queue.ready)} ready while {consumer.tag} has room")

    # --- acknowledgements ----------------------------------------------------------------------

    @rule(data=st.data(), slot=st.integers(0, SLOTS - 1), multiple=st.booleans(),
          how=st.sampled_from(["ack", "nack", "reject"]), requeue=st.booleans(), then_run=st.booleans())
    def settle_tag(self, data: st.DataObject, slot: int, multiple: bool, how: str, requeue: bool,
                   then_run: bool) -> None:
        mch = self.slot(slot)
        if not mch.unacked:
            return
        tag = data.draw(st.sampled_from(sorted(mch.unacked)))
        tags = [t for t in sorted(mch.unacked) if t <= tag] if multiple and how != "reject" else [tag]
        if how == "ack":
            mch.channel.basic_ack(tag, multiple=multiple)
        elif how == "nack":
            mch.channel.basic_nack(tag, multiple=multiple, requeue=requeue)
        else:
            mch.channel.basic_reject(tag, requeue=requeue)
        self.settle(mch, tags, requeue and how != "ack")
        if then_run:
            self.run()

    @rule(slot=st.integers(0, SLOTS - 1), zero=st.booleans())
    def settle_unknown_tag(self, slot: int, zero: bool) -> None:
        mch = self.slot(slot)
        tag = 0 if zero else mch.next_tag + 1
        self.expect_channel_error(mch, 406, mch.channel.basic_ack, tag)

    @rule(slot=st.integers(0, SLOTS - 1))
    def recover(self, slot: int) -> None:
        mch = self.slot(slot)
        mch.channel.basic_recover(requeue=True)
        self.settle(mch, sorted(mch.unacked), True)

    # --- closing, time, restart ----------------------------------------------------------------

    @rule(slot=st.integers(0, SLOTS - 1))
    def close_channel(self, slot: int) -> None:
        mch = self.slot(slot)
        mch.channel.close()
        self.settle_closed(mch)

    @rule(dropped=st.booleans())
    def close_connection(self, dropped: bool) -> None:
        if not self.connection.is_open:
            return
        channels = self.open_channels()
        if dropped:
            self.broker.drop_connection(self.connection)
        else:
            self.connection.close()
        for mch in channels:
            self.settle_closed(mch)
        for mch in self.slots:
            if mch is not None:
                assert not mch.channel.is_open

    @rule(seconds=st.sampled_from([0, 0.25, 0.5, 1, 2]))
    def advance(self, seconds: float) -> None:
        self.run()
        self.broker.clock.advance(seconds)
        self.take_deliveries()
        for queue in self.queues.values():
            queue.expire(self.now())

    @rule()
    def restart(self) -> None:
        channels = self.open_channels()
        self.broker.restart()
        for mch in channels:
            self.settle_closed(mch)
        for name, queue in list(self.queues.items()):
            if not queue.durable:
                self.remove_queue(name)
            else:
                queue.ready = [e for e in queue.ready if e.persistent]
        for name in list(self.exchanges):
            if not EXCHANGES[name][1]:
                self.exchanges.discard(name)
                self.bindings = [b for b in self.bindings if b[0] != name]

    # --- invariants ----------------------------------------------------------------------------

    @invariant()
    def structure_holds(self) -> None:
        self.broker.check_invariants()

    @invariant()
    def queues_match_model(self) -> None:
        assert sorted(info.name for info in self.broker.list_queues()) == sorted(self.queues)
        for name, queue in self.queues.items():
            queue.expire(self.now())
            actual = [(m.body, m.redelivered) for m in self.broker.queue(name).messages]
            assert actual == [(e.body, e.redelivered) for e in queue.ready], name

    @invariant()
    def channels_match_model(self) -> None:
        actual = {(c.connection, c.number): (c.messages_unacknowledged, c.consumer_count)
                  for c in self.broker.list_channels()}
        expected = {(m.channel.connection.name, m.channel.channel_number): (len(m.unacked), len(m.consumers))
                    for m in self.open_channels()}
        assert actual == expected


CoreModel.TestCase.settings = settings(
    max_examples=int(os.environ.get("MEMQ_STATEFUL_EXAMPLES", "400")),
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCoreModel = CoreModel.TestCase
TestCoreModel.__doc__ = "Random native-API operations agree with the reference model and keep the broker's invariants."
