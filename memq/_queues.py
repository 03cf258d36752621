"""Queues: ready messages in order, consumers served round-robin.

Theory of operation
-------------------
A queue holds *entries*: one per message routed to it, numbered by `seq` in arrival order. Ready
entries wait in a deque per priority level (one level unless `x-max-priority` is set); delivery takes
from the head of the highest non-empty level. A delivered entry is *unacked*: it lives in the
delivering channel's table until acked, rejected, or requeued. A requeued entry goes back to its
original position (by `seq`) with `redelivered` set, as RabbitMQ does.

Consumers are kept in the order they subscribed; the queue remembers where round-robin stopped and
serves the next consumer that has prefetch capacity. Higher `x-priority` consumers are served first
while they have capacity.
"""

from __future__ import annotations

import bisect
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    from ._channels import Channel, Connection
    from ._clock import Timer
    from ._exchanges import Binding
    from ._messages import Message

__all__ = ["Entry", "Consumer", "Queue"]


class Entry:
    """A message's place in one queue."""

    __slots__ = (
        "message", "seq", "redelivered", "priority", "expires_at", "delivery_count", "deaths", "zero_ttl",
        "returns",
    )

    def __init__(self, message: "Message", seq: int, priority: int = 0) -> None:
        self.message = message
        self.seq = seq
        self.redelivered = False
        self.priority = priority
        self.expires_at: float | None = None
        self.zero_ttl = False  # TTL 0: may be delivered at the instant it arrived, else it expires
        self.delivery_count = 0
        self.returns = 0  # times it came back unsettled (nack/reject with requeue, channel close, recover)
        self.deaths: Any = None

    def __repr__(self) -> str:
        return f"<Entry seq={self.seq} {self.message!r}>"


def _seq(entry: Entry) -> int:
    return entry.seq


class Consumer:
    """A subscription of one channel to one queue."""

    __slots__ = (
        "tag", "queue", "channel", "callback", "auto_ack", "exclusive", "prefetch",
        "unacked", "arguments", "priority",
    )

    def __init__(
        self,
        tag: str,
        queue: "Queue",
        channel: "Channel",
        callback: Callable[..., Any],
        auto_ack: bool,
        exclusive: bool,
        prefetch: int,
        arguments: dict,
    ) -> None:
        self.tag = tag
        self.queue = queue
        self.channel = channel
        self.callback = callback
        self.auto_ack = auto_ack
        self.exclusive = exclusive
        self.prefetch = prefetch
        self.unacked = 0
        self.arguments = arguments
        priority = arguments.get("x-priority", 0)
        self.priority = priority if isinstance(priority, int) and not isinstance(priority, bool) else 0

    def has_capacity(self) -> bool:
        """Whether prefetch limits (its own and its channel's) let it take one more message."""
        if self.auto_ack:
            return True
        if self.prefetch and self.unacked >= self.prefetch:
            return False
        channel = self.channel
        return not channel.global_prefetch or channel.global_unacked < channel.global_prefetch

    def __repr__(self) -> str:
        return f"<Consumer {self.tag!r} on {self.queue.name!r}>"


class Queue:
    """A queue: declaration, ready entries by priority level, consumers."""

    def __init__(
        self,
        vhost: str,
        name: str,
        durable: bool = False,
        exclusive_owner: "Connection | None" = None,
        auto_delete: bool = False,
        arguments: dict | None = None,
        max_priority: int = 0,
    ) -> None:
        self.vhost = vhost
        self.name = name
        self.durable = durable
        self.exclusive_owner = exclusive_owner
        self.auto_delete = auto_delete
        self.arguments = dict(arguments or {})
        self.max_priority = max_priority
        self.quorum = self.arguments.get("x-queue-type") == "quorum"
        self.single_active = self.arguments.get("x-single-active-consumer") is True
        self._levels: list[deque[Entry]] = [deque() for _ in range(max_priority + 1)]
        self._ready = 0
        self.ready_bytes = 0
        self.unacked = 0
        self.consumers: list[Consumer] = []
        self._rr = 0
        self._mixed_priorities = False
        self.had_consumer = False
        self.bound_to: list["Binding"] = []
        self._seq = 0
        self.deleted = False
        self.expiry_timer: "Timer | None" = None
        self.ttl_timer: "Timer | None" = None
        self.last_used = 0.0

    # --- ready entries -------------------------------------------------------------------------

    @property
    def message_count(self) -> int:
        """Ready messages (not counting unacked ones)."""
        return self._ready

    def new_entry(self, message: "Message", priority: int | None) -> Entry:
        self._seq += 1
        level = 0
        if self.max_priority:
            level = min(priority or 0, self.max_priority)
        return Entry(message, self._seq, level)

    def push(self, entry: Entry) -> None:
        """Append a newly routed entry at the tail of its level."""
        self._levels[entry.priority].append(entry)
        self._ready += 1
        self.ready_bytes += len(entry.message.body)

    def requeue(self, entry: Entry) -> None:
        """Put an entry back at its original position (a quorum queue: at the tail), marked redelivered."""
        entry.redelivered = True
        level = self._levels[entry.priority]
        if self.quorum:
            level.append(entry)  # Mirrors RabbitMQ 3.10: a quorum queue puts returned messages last
        elif not level or entry.seq < level[0].seq:
            level.appendleft(entry)
        elif entry.seq > level[-1].seq:
            level.append(entry)
        else:
            level.insert(bisect.bisect_left(level, entry.seq, key=_seq), entry)
        self._ready += 1
        self.ready_bytes += len(entry.message.body)

    def peek(self) -> Entry | None:
        """The entry that would be delivered next, or None."""
        if not self.max_priority:
            level = self._levels[0]
            return level[0] if level else None
        for level in reversed(self._levels):
            if level:
                return level[0]
        return None

    def pop(self) -> Entry | None:
        """Take the entry at the head (highest priority first), or None."""
        if not self.max_priority:
            level = self._levels[0]
            if not level:
                return None
            entry = level.popleft()
            self._ready -= 1
            self.ready_bytes -= len(entry.message.body)
            return entry
        for level in reversed(self._levels):
            if level:
                entry = level.popleft()
                self._ready -= 1
                self.ready_bytes -= len(entry.message.body)
                return entry
        return None

    def pop_at(self, index: int) -> Entry | None:
        """Take the entry `index` places from the head in delivery order (0: the head), or None."""
        if index == 0:
            return self.pop()
        for level in reversed(self._levels):
            if index < len(level):
                entry = level[index]
                del level[index]
                self._ready -= 1
                self.ready_bytes -= len(entry.message.body)
                return entry
            index -= len(level)
        return None

    def pop_tail(self) -> Entry | None:
        """Take the entry that would be delivered last (lowest priority, newest), or None."""
        for level in self._levels:
            if level:
                entry = level.pop()
                self._ready -= 1
                self.ready_bytes -= len(entry.message.body)
                return entry
        return None

    def take_all(self) -> list[Entry]:
        """Remove and return every ready entry, in delivery order."""
        entries = [entry for level in reversed(self._levels) for entry in level]
        for level in self._levels:
            level.clear()
        self._ready = 0
        self.ready_bytes = 0
        return entries

    def entries(self) -> Iterator[Entry]:
        """The ready entries in delivery order."""
        for level in reversed(self._levels):
            yield from level

    # --- consumers -----------------------------------------------------------------------------

    def add_consumer(self, consumer: Consumer) -> None:
        self.consumers.append(consumer)
        self.had_consumer = True
        self._note_priorities()

    def remove_consumer(self, consumer: Consumer) -> None:
        index = self.consumers.index(consumer)
        del self.consumers[index]
        if index < self._rr:
            self._rr -= 1
        self._note_priorities()

    def is_active(self, consumer: Consumer) -> bool:
        """Whether `consumer` may get messages (with single active consumer: only the first subscribed)."""
        return not self.single_active or (bool(self.consumers) and self.consumers[0] is consumer)

    def _note_priorities(self) -> None:
        consumers = self.consumers
        self._mixed_priorities = any(c.priority != consumers[0].priority for c in consumers)

    def next_consumer(self) -> Consumer | None:
        """The consumer that gets the next message: round-robin among the highest priority with capacity.

        With `x-single-active-consumer`, only the earliest subscribed consumer ever gets messages
        (Mirrors RabbitMQ 3.10: consumer priorities do not choose the active one).
        """
        consumers = self.consumers
        count = len(consumers)
        if count == 1 or (self.single_active and count):
            only = consumers[0]
            return only if only.has_capacity() else None
        if not self._mixed_priorities:  # one priority: the first with capacity, in O(1) while most have some
            for k in range(count):
                index = (self._rr + k) % count
                if consumers[index].has_capacity():
                    self._rr = index + 1
                    return consumers[index]
            return None
        best: Consumer | None = None
        best_index = 0
        for k in range(count):
            index = (self._rr + k) % count
            consumer = consumers[index]
            if consumer.has_capacity() and (best is None or consumer.priority > best.priority):
                best, best_index = consumer, index
        if best is not None:
            self._rr = best_index + 1
        return best

    def __repr__(self) -> str:
        return f"<Queue {self.name!r} ready={self._ready} unacked={self.unacked}>"
