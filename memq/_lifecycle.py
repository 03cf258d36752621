"""How messages and queues end: TTL, queue expiry, length limits, dead-lettering, direct reply-to, restart.

Mirrors RabbitMQ 3.10 classic queues:
- A message's expiry is the earlier of the queue's `x-message-ttl` and its own `expiration`, counted
  from when it entered the queue; expired messages leave from the head only, at their expiry instant
  (a timer watches the head) or when the head is next looked at. A TTL of 0 lets a message through
  only to a consumer that can take it at once.
- `x-expires` deletes a queue left unused (no consumer, no `basic_get`, no redeclare) that long.
- `x-max-length` / `x-max-length-bytes` count ready messages; `x-overflow` decides: `drop-head`
  (default) drops or dead-letters the oldest, `reject-publish` refuses the new one (a confirm nack),
  `reject-publish-dlx` refuses and dead-letters it.
- Dead-lettering republishes to `x-dead-letter-exchange` with `x-dead-letter-routing-key` (or the
  original keys), adding an `x-death` entry; an automatic cycle (no rejection in it) is dropped.
"""

from __future__ import annotations

import base64
import re
import datetime
from typing import TYPE_CHECKING, Any, Callable

from . import _events as ev
from . import errors
from ._arguments import MAX_EXPIRY
from ._messages import Message, Properties
from ._queues import Consumer, Entry, Queue

if TYPE_CHECKING:
    from ._broker import Broker
    from ._channels import Channel

__all__ = ["Lifecycle"]

REPLY_TO = "amq.rabbitmq.reply-to"

ADMIT, TAKEN, REFUSE = "admit", "taken", "refuse"
"""What `admit` decides for an arriving entry: enqueue it, it was dealt with already, or refuse it."""


def parse_expiration(expiration: str | None) -> int | None:
    """The per-message TTL in ms, or None; raises RabbitMQ's 406 for a value that is not one."""
    if expiration is None:
        return None
    text = expiration.decode() if isinstance(expiration, bytes) else str(expiration)
    match = _INTEGER_PREFIX.match(text)
    problem = None
    if match is None:
        problem = "no_integer"
    elif match.end() < len(text):
        problem = f'{{leftover_string,"{text[match.end():]}"}}'
    else:
        value = int(match.group())
        if value < 0:
            problem = f"{{value_negative,{value}}}"
        elif value > MAX_EXPIRY:
            problem = _erlang_pretty_pair("value_too_large", str(value), len(f"invalid expiration '{text}': "))
        else:
            return value
    raise errors.PreconditionFailed(f"PRECONDITION_FAILED - invalid expiration '{text}': {problem}")


def _erlang_pretty_pair(tag: str, value: str, column: int) -> str:
    """`{tag,value}` as Erlang's `~p` prints it at `column`: wrapped when it would reach column 79."""
    flat = f"{{{tag},{value}}}"
    if column + len(flat) < 79:
        return flat
    return f"{{{tag},\n{' ' * (column + 1)}{value}}}"


_INTEGER_PREFIX = re.compile(r"[+-]?[0-9]+")


class Lifecycle:
    """The part of `Broker` that ends messages and queues (a mixin: `self` is the broker)."""

    def __init__(self: "Broker") -> None:  # type: ignore[misc]
        self._reply_queues: dict[str, Queue] = {}

    # --- publish-time checks -------------------------------------------------------------------

    def check_expiration(self: "Broker", properties: Properties) -> None:  # type: ignore[misc]
        if properties.expiration is not None:
            parse_expiration(properties.expiration)

    # --- admission and length limits -----------------------------------------------------------

    def admit(self: "Broker", queue: Queue, entry: Entry) -> str:  # type: ignore[misc]
        """Apply the queue's TTL and overflow rules to an arriving entry: ADMIT, TAKEN or REFUSE."""
        arguments = queue.arguments
        ttl = arguments.get("x-message-ttl")
        own = parse_expiration(entry.message.properties.expiration)
        if own is not None:
            ttl = own if ttl is None else min(ttl, own)
        if ttl is not None:
            if ttl == 0 and not _deliverable_at_once(queue, entry):
                self.enqueued += 1
                self.dead_letter_or_drop(queue, entry, "expired")
                return TAKEN
            entry.expires_at = self.clock._now + ttl / 1000.0
            entry.zero_ttl = ttl == 0
        max_length = arguments.get("x-max-length")
        max_bytes = arguments.get("x-max-length-bytes")
        if max_length is None and max_bytes is None:
            return ADMIT
        overflow = arguments.get("x-overflow", "drop-head")
        room = _room(queue, queue.message_count)
        if overflow != "drop-head" and self._full(queue, 1, len(entry.message.body), room):
            if overflow == "reject-publish-dlx":
                self.enqueued += 1
                self.dead_letter_or_drop(queue, entry, "maxlen")
            else:
                self._record(ev.Dropped, entry.message.mid, queue.name, "overflow_rejected")
            return REFUSE
        return ADMIT

    def _full(self: "Broker", queue: Queue, extra: int, extra_bytes: int, room: int) -> bool:  # type: ignore[misc]
        """Whether the entries no consumer can take now (those after the first `room`), plus `extra`, break a limit.

        Mirrors RabbitMQ, which delivers an arriving message at once when a consumer has room and
        counts only the messages left waiting against `x-max-length` and `x-max-length-bytes`.
        """
        max_length = queue.arguments.get("x-max-length")
        max_bytes = queue.arguments.get("x-max-length-bytes")
        count, size = _waiting(queue, room)
        if max_length is not None and count + extra > max_length:
            return True
        return max_bytes is not None and size + extra_bytes > max_bytes

    def entry_added(self: "Broker", queue: Queue, entry: Entry) -> None:  # type: ignore[misc]
        """After an entry joined the ready list: enforce drop-head, watch the head's expiry."""
        if "x-max-length" in queue.arguments or "x-max-length-bytes" in queue.arguments:
            if queue.arguments.get("x-overflow", "drop-head") == "drop-head":
                # An arriving entry may go straight to a consumer with room; a requeued one is
                # counted first (RabbitMQ drops the head before it delivers again).
                room = 0 if entry.redelivered else _room(queue, queue.message_count)
                while self._full(queue, 0, 0, room):
                    head = queue.pop_at(room)
                    if head is None:
                        break
                    self.dead_letter_or_drop(queue, head, "maxlen")
        if entry.expires_at is not None or queue.ttl_timer is not None:
            self._watch_head(queue)

    def entry_left(self: "Broker", queue: Queue, entry: Entry) -> None:  # type: ignore[misc]
        """After an entry left the ready list for a delivery."""
        if queue.ttl_timer is not None:
            self._watch_head(queue)

    def requeue_refused(self: "Broker", queue: Queue, entry: Entry) -> bool:  # type: ignore[misc]
        """Whether a returned entry leaves instead of going back: a quorum queue's `x-delivery-limit`.

        Mirrors RabbitMQ 3.10: every return (nack or reject with requeue, channel close, recover)
        counts; past the limit the message is dead-lettered with reason `delivery_limit`, or dropped.
        """
        if not queue.quorum:
            return False
        entry.returns += 1
        limit = queue.arguments.get("x-delivery-limit")
        if limit is None or entry.returns <= limit:
            return False
        self.dead_letter_or_drop(queue, entry, "delivery_limit")
        return True

    def delivered_properties(self: "Broker", queue: Queue, entry: Entry, get: bool) -> Properties:  # type: ignore[misc]
        """The properties a delivery carries: a quorum queue adds the `x-delivery-count` header.

        Mirrors RabbitMQ 3.10.8: Basic.GetOk always carries it (0 the first time); Basic.Deliver
        only once the message has come back at least once.
        """
        properties = entry.message.properties
        if not queue.quorum or (not get and not entry.returns):
            return properties
        headers = dict(properties.headers or {})
        headers["x-delivery-count"] = entry.returns
        return properties.replace(headers=headers)

    # --- message TTL ---------------------------------------------------------------------------

    def expire_head(self: "Broker", queue: Queue, delivering: bool = False) -> None:  # type: ignore[misc]
        """Expire entries at the head whose time has come.

        `delivering`: a consumer is about to take the head, so a TTL-0 entry that arrived at this
        very instant is spared (Mirrors RabbitMQ: TTL 0 means "deliver at once or expire").
        """
        now = self.clock._now
        expired = False
        while True:
            head = queue.peek()
            if head is None or head.expires_at is None or head.expires_at > now:
                break
            if delivering and head.zero_ttl and head.expires_at == now:
                break
            queue.pop()
            expired = True
            self.dead_letter_or_drop(queue, head, "expired")
        if expired or queue.ttl_timer is not None:
            self._watch_head(queue)

    def _watch_head(self: "Broker", queue: Queue) -> None:  # type: ignore[misc]
        head = queue.peek()
        when = head.expires_at if head is not None else None
        timer = queue.ttl_timer
        if timer is not None:
            if when is not None and timer.when == when and not timer.fired:
                return
            timer.cancel()
            queue.ttl_timer = None
        if when is not None and not queue.deleted:
            queue.ttl_timer = self.clock.call_at(when, self._on_ttl_timer, queue)

    def _on_ttl_timer(self: "Broker", queue: Queue) -> None:  # type: ignore[misc]
        queue.ttl_timer = None
        if not queue.deleted:
            self.expire_head(queue)

    # --- queue expiry (x-expires) --------------------------------------------------------------

    def _queue_declared(self: "Broker", queue: Queue) -> None:  # type: ignore[misc]
        self.queue_used(queue)

    def queue_used(self: "Broker", queue: Queue) -> None:  # type: ignore[misc]
        """The queue was used: restart its `x-expires` countdown (none while it has consumers)."""
        expires = queue.arguments.get("x-expires")
        if expires is None or queue.deleted:
            return
        if queue.expiry_timer is not None:
            queue.expiry_timer.cancel()
            queue.expiry_timer = None
        if not queue.consumers:
            queue.expiry_timer = self.clock.call_later(expires / 1000.0, self._on_queue_expired, queue)

    def _on_queue_expired(self: "Broker", queue: Queue) -> None:  # type: ignore[misc]
        queue.expiry_timer = None
        if not queue.deleted and not queue.consumers:
            self._delete_queue(queue, "expired")

    def queue_forgotten(self: "Broker", queue: Queue) -> None:  # type: ignore[misc]
        for timer in (queue.ttl_timer, queue.expiry_timer):
            if timer is not None:
                timer.cancel()
        queue.ttl_timer = queue.expiry_timer = None

    # --- dead-lettering ------------------------------------------------------------------------

    def dead_letter_or_drop(self: "Broker", queue: Queue, entry: Entry, reason: str) -> None:  # type: ignore[misc]
        """An entry leaves its queue for `reason` (rejected, expired, maxlen): dead-letter it or drop it."""
        dlx_name = queue.arguments.get("x-dead-letter-exchange")
        vhost = self.vhosts[queue.vhost]
        dlx = vhost.exchanges.get(dlx_name) if dlx_name is not None else None
        if dlx is None:
            if reason == "expired":
                self.fates[reason] += 1
                self._record(ev.Expired, entry.message.mid, queue.name)
            else:
                self._drop(queue, entry, reason)
            return
        self.fates["dead_lettered"] += 1
        message = entry.message
        cc = (message.properties.headers or {}).get("CC")
        routing_keys = [message.routing_key] + (list(cc) if isinstance(cc, (list, tuple)) else [])
        dl_key = queue.arguments.get("x-dead-letter-routing-key")
        routing_key = dl_key if dl_key is not None else message.routing_key
        properties = _dead_letter_properties(message, queue, reason, self.clock._now, routing_keys)
        dead = Message(message.mid, dlx.name, routing_key, message.body, properties, self.clock._now)
        self._record(ev.DeadLettered, message.mid, queue.name, reason, dlx.name, routing_key)
        targets = vhost.route(dlx, routing_key, properties.headers) if dlx.name else (
            [vhost.queues[routing_key]] if routing_key in vhost.queues else [])
        if reason != "rejected":
            targets = [t for t in targets if not _is_cycle(t.name, properties.headers["x-death"])]
        if not targets:
            self._record(ev.Unroutable, message.mid, dlx.name, routing_key)
            self.fates["unroutable"] += 1
            return
        self._record(ev.Routed, message.mid, tuple(t.name for t in targets))
        for target in targets:
            self._enqueue(target, dead)

    # --- direct reply-to -----------------------------------------------------------------------

    def consume_reply_to(self: "Broker", channel: "Channel", callback: Callable[..., Any],  # type: ignore[misc]
                         auto_ack: bool, tag: str) -> str:
        """Consume from the `amq.rabbitmq.reply-to` pseudo-queue (auto-ack only, as RabbitMQ requires)."""
        if not auto_ack:
            raise errors.PreconditionFailed("PRECONDITION_FAILED - reply consumer cannot acknowledge")
        if getattr(channel, "reply_queue", None) is not None:
            raise errors.PreconditionFailed("PRECONDITION_FAILED - reply consumer already set")
        token = base64.b64encode(self.rng.getrandbits(192).to_bytes(24, "big")).decode("ascii")
        key = f"{REPLY_TO}.{token}"
        queue = Queue(channel.connection.vhost, key, exclusive_owner=channel.connection)
        tag = tag or channel.connection._vhost._generated_name("amq.ctag-")
        consumer = Consumer(tag, queue, channel, callback, True, True, 0, {})
        queue.add_consumer(consumer)
        channel.consumers[tag] = consumer
        channel.reply_queue = queue  # type: ignore[attr-defined]
        self._reply_queues[key] = queue
        channel.add_on_close_callback(lambda ch, error: self._reply_queues.pop(key, None))
        return tag

    def route_reply_to(self: "Broker", routing_key: str) -> list[Queue]:  # type: ignore[misc]
        queue = self._reply_queues.get(routing_key)
        return [queue] if queue is not None and not queue.deleted else []

    def reply_to_properties(self: "Broker", channel: "Channel", properties: Properties) -> Properties:  # type: ignore[misc]
        queue = getattr(channel, "reply_queue", None)
        if queue is None:
            raise errors.PreconditionFailed("PRECONDITION_FAILED - fast reply consumer does not exist")
        return properties.replace(reply_to=queue.name)

    # --- restart -------------------------------------------------------------------------------

    def restart(self: "Broker") -> None:  # type: ignore[misc]
        """Restart the broker: durable topology and persistent messages in durable queues survive.

        Every connection is closed with 320 CONNECTION_FORCED (after its unacked messages were
        requeued, so unacked persistent messages come back marked redelivered); non-durable
        exchanges and queues, and transient messages, are lost.
        """
        from ._replies import reply

        for connection in list(self.connections):
            self._close_connection(connection, reply("shutdown"))
        for vhost in self.vhosts.values():
            for queue in list(vhost.queues.values()):
                if not queue.durable:
                    self._delete_queue(queue, "restart")
                    continue
                kept = []
                for entry in queue.take_all():
                    if entry.message.persistent or queue.quorum:  # a quorum queue keeps every message
                        kept.append(entry)
                    else:
                        self._drop(queue, entry, "restart")
                for entry in kept:
                    queue.push(entry)
                self._watch_head(queue)
                self.queue_used(queue)
            for exchange in list(vhost.exchanges.values()):
                if not exchange.durable and exchange.name in vhost.exchanges:
                    vhost.delete_exchange(exchange)
        self._record(ev.BrokerRestarted)

    def check_timers(self: "Broker") -> None:  # type: ignore[misc]
        for timer in self.clock.pending():
            target = timer.args[0] if timer.args else None
            if isinstance(target, Queue):
                assert not target.deleted, f"{timer} points at deleted {target}"


def _room(queue: Queue, enough: int) -> int:
    """How many ready entries the queue's consumers could take right now, counting up to `enough`."""
    rooms: dict[int, list[int]] = {}  # per channel: [its global room, its consumers' room]
    for consumer in queue.consumers[:1] if queue.single_active else queue.consumers:
        if consumer.auto_ack:
            return enough
        channel = consumer.channel
        room = consumer.prefetch - consumer.unacked if consumer.prefetch else enough
        if id(channel) not in rooms:
            global_room = (channel.global_prefetch - channel.global_unacked if channel.global_prefetch
                           else enough)
            rooms[id(channel)] = [global_room, 0]
        rooms[id(channel)][1] += max(room, 0)
    return min(enough, sum(max(min(limit, room), 0) for limit, room in rooms.values()))


def _waiting(queue: Queue, room: int) -> tuple[int, int]:
    """Count and body bytes of the ready entries after the first `room` (those left waiting)."""
    count = queue.message_count
    if room >= count:
        return 0, 0
    if room <= 0:
        return count, queue.ready_bytes
    taken = 0
    for index, entry in enumerate(queue.entries()):
        if index == room:
            break
        taken += len(entry.message.body)
    return count - room, queue.ready_bytes - taken


def _deliverable_at_once(queue: Queue, entry: Entry) -> bool:
    """Whether consumers have room for `entry` after the ready entries that go before it."""
    ahead = sum(len(level) for level in queue._levels[entry.priority:])
    return _room(queue, ahead + 1) > ahead


def _dead_letter_properties(message: Message, queue: Queue, reason: str, now: float,
                            routing_keys: list[str]) -> Properties:
    properties = message.properties
    headers = dict(properties.headers or {})
    deaths = [dict(d) for d in headers.get("x-death", []) if isinstance(d, dict)]
    death: dict[str, Any] | None = None
    for index, old in enumerate(deaths):
        if old.get("queue") == queue.name and old.get("reason") == reason:
            death = deaths.pop(index)
            break
    if death is None:
        death = {"count": 0, "reason": reason, "queue": queue.name,
                 "time": datetime.datetime.fromtimestamp(int(now), datetime.timezone.utc),
                 "exchange": message.exchange, "routing-keys": routing_keys}
        if properties.expiration is not None:
            death["original-expiration"] = properties.expiration
    death["count"] += 1
    deaths.insert(0, death)
    headers["x-death"] = deaths
    for key, value in (("x-first-death-reason", reason), ("x-first-death-queue", queue.name),
                       ("x-first-death-exchange", message.exchange)):
        headers.setdefault(key, value)
    return properties.replace(headers=headers, expiration=None)


def _is_cycle(queue_name: str, deaths: list[dict]) -> bool:
    """RabbitMQ's is_cycle: the queue died this message before, with no rejection since."""
    for index, death in enumerate(deaths):
        if death.get("queue") == queue_name:
            return all(d.get("reason") != "rejected" for d in deaths[: index + 1])
    return False
