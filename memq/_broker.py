"""The broker: the only place where state changes.

Theory of operation
-------------------
A `Broker` owns a virtual clock, a seeded RNG, a trace and its virtual hosts. Channel methods call
into it synchronously: a publish is routed and enqueued before `basic_publish` returns, an ack settles
before `basic_ack` returns. Deliveries to consumers are the one thing deferred: a queue that might be
able to deliver (a message arrived, a consumer subscribed, an ack freed prefetch capacity) is marked
*pending*, and `run_until_idle()` serves pending queues, in the order they were marked, until none can
deliver. The clock calls `run_until_idle()` before every timer it fires and after the last, so at each
virtual instant everything that can happen does, before time moves on.

Every message that enters a queue leaves it by exactly one recorded fate (acked, expired, dead-lettered,
dropped by a rule, lost in a restart): `check_invariants()` checks that nothing vanished.
"""

from __future__ import annotations

import datetime
import random
import time
from typing import Any, Callable

from . import _events as ev
from . import errors
from ._channels import Channel, Connection, Unacked
from ._clock import VirtualClock
from ._exchanges import Exchange
from ._inspect import Inspection
from ._lifecycle import ADMIT, REPLY_TO, TAKEN, Lifecycle
from ._messages import GetOk, Message, Properties, Returned
from ._queues import Consumer, Entry, Queue
from ._replies import reply
from ._vhost import VHost

__all__ = ["Broker"]


def _epoch(start: float | datetime.datetime | None) -> float:
    if start is None:
        return time.time()  # read once: the virtual origin; time never comes from here again
    if isinstance(start, datetime.datetime):
        if start.tzinfo is None:
            raise errors.InvalidArgument("start must be an aware datetime (or epoch seconds)")
        return start.timestamp()
    return float(start)


class Broker(Lifecycle, Inspection):
    """A simulated RabbitMQ broker with virtual host "/" and the user guest/guest.

    Args:
        seed: seeds the broker's RNG (server-generated names, and anything else random).
        start: the virtual time origin, an aware datetime or epoch seconds; default: now, read once.
        trace: record every event in `broker.trace`.

    Example:
        >>> import memq
        >>> broker = memq.Broker(seed=1, start=0)
        >>> ch = broker.connect().channel()
        >>> _ = ch.queue_declare("hello")
        >>> ch.basic_publish("", "hello", b"Hello World!")
        >>> ch.basic_get("hello").body
        b'Hello World!'
    """

    def __init__(self, *, seed: int = 0, start: float | datetime.datetime | None = None,
                 trace: bool = True) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.clock = VirtualClock(_epoch(start), on_idle=self.settle)
        self.trace = ev.Trace(enabled=trace)
        self._trace_now: float | None = None
        self._trace_time = 0.0
        self.vhosts: dict[str, VHost] = {}
        self.users: dict[str, str] = {"guest": "guest"}
        self.connections: list[Connection] = []
        self._connection_seq = 0
        self._mid = 0
        self._pending: dict[Queue, None] = {}
        self._dispatching = False
        self._pumps: list[Callable[[], bool]] = []
        self._settling = False
        self.alarm: str | None = None
        self._alarm_waiters: list[Callable[[], Any]] = []
        self.fates: dict[str, int] = dict.fromkeys(ev_fates(), 0)
        self.enqueued = 0
        self.published_count = 0
        Lifecycle.__init__(self)
        self.add_vhost("/")

    # --- set-up --------------------------------------------------------------------------------

    def add_vhost(self, name: str) -> None:
        """Create a virtual host (with its predeclared exchanges)."""
        if name not in self.vhosts:
            self.vhosts[name] = VHost(self, name)

    def add_user(self, username: str, password: str) -> None:
        """Create a user (or change its password); every user may use every virtual host."""
        self.users[username] = password

    def connect(self, vhost: str = "/", *, username: str = "guest", password: str = "guest",
                client_properties: dict | None = None) -> Connection:
        """Open a connection.

        Raises:
            errors.AccessRefused: unknown user or wrong password (403, as RabbitMQ refuses a login).
            errors.NotAllowed: unknown virtual host (530).
        """
        if self.users.get(username) != password:
            raise reply("login_refused", hard=True, class_id=10, method_id=11)
        if vhost not in self.vhosts:
            raise reply("vhost_not_found", vhost=vhost, class_id=10, method_id=40)
        self._connection_seq += 1
        connection = Connection(self, self.vhosts[vhost], username, f"conn-{self._connection_seq}",
                                client_properties)
        self.connections.append(connection)
        self._record(ev.ConnectionOpened, connection.name, vhost, username)
        return connection

    # --- the trace -----------------------------------------------------------------------------

    def _record(self, cls: type, *args: Any) -> None:
        trace = self.trace
        if trace.enabled:
            now = self.clock._now
            if now != self._trace_now:  # the records of one instant share one time object
                self._trace_now = now
                self._trace_time = now - self.clock.start
            trace._raw.append((cls.code, self._trace_time, *args))  # type: ignore[attr-defined]

    def _count_settled(self, fate: str) -> None:
        self.fates[fate] += 1

    # --- publishing ----------------------------------------------------------------------------

    def _publish(self, channel: Channel, exchange: str, routing_key: str, body: bytes,
                 properties: Properties, mandatory: bool) -> None:
        vhost = channel.connection._vhost
        x, properties = self._check_publish(channel, exchange, properties)
        self._mid += 1
        self.published_count += 1
        message = Message(self._mid, exchange, routing_key, body, properties, self.clock._now)
        self._record(ev.Published, message.mid, channel.connection.name, channel.channel_number,
                     exchange, routing_key, len(body))
        queues = vhost.route(x, routing_key, properties.headers) if x.name else self._route_default(
            vhost, routing_key, channel)
        headers = properties.headers
        if headers and ("CC" in headers or "BCC" in headers):
            queues = self._sender_selected(vhost, x, channel, queues, headers)
            if "BCC" in headers:  # Mirrors RabbitMQ: BCC routes but never reaches the consumer
                properties = properties.replace(headers={k: v for k, v in headers.items() if k != "BCC"})
                message.properties = properties
        accepted = True
        if queues:
            if self.trace.enabled:
                self._record(ev.Routed, message.mid, tuple([q.name for q in queues]))
            for queue in queues:
                accepted = self._enqueue(queue, message) and accepted
        else:
            self._unroutable(channel, message, mandatory)
        if channel.confirming:
            channel.publish_seq += 1
            self._record(ev.Confirmed, channel.connection.name, channel.channel_number,
                         channel.publish_seq, accepted)
            for callback in channel._on_confirm:
                callback(channel, accepted, channel.publish_seq, False)

    def _sender_selected(self, vhost: VHost, x: Any, channel: Channel, queues: list[Queue],
                         headers: dict) -> list[Queue]:
        """Add the queues the CC and BCC headers' routing keys reach (sender-selected distribution)."""
        found = list(queues)
        for key in ("CC", "BCC"):
            extra = headers.get(key)
            if extra is None:
                continue
            if not isinstance(extra, (list, tuple)) or not all(isinstance(k, str) for k in extra):
                raise errors.Unsupported(f"memq models {key} headers that are arrays of strings only, not {extra!r}")
            for routing_key in extra:
                more = vhost.route(x, routing_key, headers) if x.name else self._route_default(vhost, routing_key, channel)
                found.extend(q for q in more if q not in found)
        return found

    def _check_publish(self, channel: Channel, exchange: str,
                       properties: Properties) -> tuple[Exchange, Properties]:
        """RabbitMQ's checks of a publish, in its order; returns the exchange and the properties to store.

        Mirrors RabbitMQ 3.10: the exchange (404), internal (403), direct reply-to (406), user_id (406),
        expiration (406).
        """
        vhost = channel.connection._vhost
        x = vhost.check_publish(exchange, None, channel.connection)
        if properties.reply_to == REPLY_TO:
            properties = self.reply_to_properties(channel, properties)
        vhost.check_user_id(properties, channel.connection)
        self.check_expiration(properties)
        return x, properties

    def _route_default(self, vhost: VHost, routing_key: str, channel: Channel) -> list[Queue]:
        queue = vhost.queues.get(routing_key)
        if queue is not None:
            return [queue]
        return self.route_reply_to(routing_key)

    def _unroutable(self, channel: Channel, message: Message, mandatory: bool) -> None:
        self._record(ev.Unroutable, message.mid, message.exchange, message.routing_key)
        self.fates["unroutable"] += 1
        if mandatory:
            self._record(ev.Returned, message.mid, 312, "NO_ROUTE")
            returned = Returned(312, "NO_ROUTE", message.exchange, message.routing_key,
                                message.properties, message.body)
            for callback in channel._on_return:
                callback(channel, returned)

    def _enqueue(self, queue: Queue, message: Message) -> bool:
        """Put a routed message in a queue; False if the queue refused it (reject-publish)."""
        entry = queue.new_entry(message, message.properties.priority)
        verdict = self.admit(queue, entry)
        if verdict is not ADMIT:
            return verdict is TAKEN
        queue.push(entry)
        self.enqueued += 1
        self.entry_added(queue, entry)
        if queue.consumers:
            self._pending[queue] = None
        return True

    # --- getting and consuming -----------------------------------------------------------------

    def _get(self, channel: Channel, queue: Queue, auto_ack: bool) -> GetOk | None:
        self.expire_head(queue)
        entry = queue.pop()
        if entry is None:
            self.queue_used(queue)
            return None
        self.entry_left(queue, entry)
        channel._next_tag += 1
        tag = channel._next_tag
        message = entry.message
        entry.delivery_count += 1
        self._record(ev.Delivered, message.mid, queue.name, channel.connection.name,
                     channel.channel_number, None, tag, entry.redelivered)
        if auto_ack:
            self.fates["acked"] += 1
            self._record(ev.Acked, message.mid, queue.name, channel.connection.name,
                         channel.channel_number, tag)
        else:
            channel.unacked[tag] = Unacked(entry, queue, None)
            queue.unacked += 1
        self.queue_used(queue)
        properties = self.delivered_properties(queue, entry, True) if queue.quorum else message.properties
        return GetOk(tag, entry.redelivered, message.exchange, message.routing_key,
                     queue.message_count, properties, message.body)

    def _consume(self, channel: Channel, queue_name: str, callback: Callable[..., Any], auto_ack: bool,
                 exclusive: bool, tag: str, arguments: dict) -> str:
        if queue_name == "amq.rabbitmq.reply-to":
            return self.consume_reply_to(channel, callback, auto_ack, tag)
        queue = channel.connection._vhost.queue_for(queue_name, channel.connection)
        if tag and tag in channel.consumers:
            raise reply("reuse_consumer_tag", tag=tag)
        if (exclusive and queue.consumers) or any(c.exclusive for c in queue.consumers):
            raise reply("exclusive_consume", queue=queue.name, vhost=queue.vhost)
        if queue.quorum and channel.global_prefetch:
            raise errors.NotImplementedAMQP(
                f"NOT_IMPLEMENTED - queue '{queue.name}' in vhost '{queue.vhost}' does not support global qos")
        if not tag:
            tag = channel.connection._vhost._generated_name("amq.ctag-")
        consumer = Consumer(tag, queue, channel, callback, auto_ack, exclusive, channel.prefetch_count,
                            arguments)
        queue.add_consumer(consumer)
        channel.consumers[tag] = consumer
        self._record(ev.ConsumerStarted, queue.name, channel.connection.name, channel.channel_number, tag)
        self._pending[queue] = None
        self.queue_used(queue)
        return tag

    def _cancel(self, consumer: Consumer, *, by_broker: bool) -> None:
        channel, queue = consumer.channel, consumer.queue
        del channel.consumers[consumer.tag]
        queue.remove_consumer(consumer)
        self._record(ev.ConsumerCancelled, queue.name, channel.connection.name, channel.channel_number,
                     consumer.tag, by_broker)
        if by_broker:
            for callback in channel._on_cancel:
                callback(channel, consumer.tag)
        if queue.auto_delete and not queue.consumers and not queue.deleted:
            self._delete_queue(queue, "auto_delete")
        elif not queue.deleted:
            self.queue_used(queue)
            # Mirrors RabbitMQ 3.10.8: with a single active consumer, the next consumer becomes active
            # here, but gets the messages already waiting only at the queue's next delivery run.

    def _capacity_changed(self, channel: Channel) -> None:
        for consumer in channel.consumers.values():
            self._pending[consumer.queue] = None

    # --- acknowledgements ----------------------------------------------------------------------

    def _settle_many(self, channel: Channel, items: list[tuple[int, Unacked]], how: str,
                     requeue: bool) -> None:
        """Settle deliveries taken out of a channel's unacked table: ack, nack, reject or requeue."""
        event = _SETTLE_EVENTS.get(how)
        pending = self._pending
        for tag, item in items:
            entry, queue, consumer = item.entry, item.queue, item.consumer
            queue.unacked -= 1
            if consumer is not None:
                consumer.unacked -= 1
                channel.global_unacked -= 1
                if consumer.queue is queue and not queue.deleted:
                    pending[queue] = None
            if event is ev.Acked:
                self.fates["acked"] += 1
                self._record(event, entry.message.mid, queue.name, channel.connection.name,
                             channel.channel_number, tag)
                continue
            if event is not None:
                self._record(event, entry.message.mid, queue.name, channel.connection.name,
                             channel.channel_number, tag, requeue)
            if requeue:
                self._requeue(queue, entry)
            else:
                self.dead_letter_or_drop(queue, entry, "rejected")
        if channel.global_prefetch and items:
            self._capacity_changed(channel)

    def _requeue(self, queue: Queue, entry: Entry) -> None:
        if queue.deleted:
            self._drop(queue, entry, "queue_deleted")
            return
        if self.requeue_refused(queue, entry):
            return
        queue.requeue(entry)
        self.entry_added(queue, entry)
        self._record(ev.Requeued, entry.message.mid, queue.name)
        if entry.expires_at is not None and entry.expires_at <= self.clock._now:
            self.expire_head(queue)  # Mirrors RabbitMQ: back at the head past its TTL, it expires at once
        if queue.consumers:
            self._pending[queue] = None

    def _drop(self, queue: Queue, entry: Entry, reason: str) -> None:
        """A message leaves a queue by an explicit rule (purge, deletion, restart, length limit...)."""
        self.fates[reason] += 1
        self._record(ev.Dropped, entry.message.mid, queue.name, reason)

    # --- delivery ------------------------------------------------------------------------------

    def run_until_idle(self) -> int:
        """Make every delivery that can happen now, calling consumer callbacks; returns how many.

        Time does not move. A callback that publishes or acks makes more deliveries possible, and
        those happen too before this returns. Called from inside a callback, it returns 0 at once
        (the outer call goes on delivering).
        """
        if self._dispatching:
            return 0
        self._dispatching = True
        delivered = 0
        pending = self._pending
        try:
            while pending:
                queue = next(iter(pending))
                del pending[queue]
                delivered += self._dispatch(queue)
        finally:
            self._dispatching = False
        return delivered

    def set_alarm(self, resource: str = "memory") -> None:
        """Raise a resource alarm, as RabbitMQ does when memory or disk runs low.

        Mirrors RabbitMQ: an AMQP client connection that publishes while the alarm is on is blocked
        (sent Connection.Blocked if it supports it; its further frames wait unread) until
        `clear_alarm()`. The native API has no socket to stop reading, so its publishes go through.

        Raises:
            errors.InvalidArgument: `resource` is not "memory" or "disk".
        """
        if resource not in ("memory", "disk"):
            raise errors.InvalidArgument(f"resource must be 'memory' or 'disk', not {resource!r}")
        self.alarm = resource

    def clear_alarm(self) -> None:
        """Clear the resource alarm: blocked connections are unblocked and their waiting frames read."""
        self.alarm = None
        waiting, self._alarm_waiters = self._alarm_waiters, []
        for callback in waiting:
            callback()

    def on_alarm_cleared(self, callback: Callable[[], Any]) -> None:
        """Call `callback()` once, when the current alarm is cleared (used by blocked AMQP sessions)."""
        self._alarm_waiters.append(callback)

    def add_pump(self, pump: Callable[[], bool]) -> None:
        """Let `pump()` do one unit of outside work (a simulated worker's step) whenever the broker settles.

        `pump()` returns whether it did anything; `settle()` calls the pumps, in the order they were
        added, until none does.
        """
        self._pumps.append(pump)

    def remove_pump(self, pump: Callable[[], bool]) -> None:
        """Undo `add_pump` (removing a pump that is not there does nothing)."""
        if pump in self._pumps:
            self._pumps.remove(pump)

    def settle(self) -> None:
        """Run everything that can happen at this virtual instant: deliveries, then the pumps, until quiet.

        The clock calls it before each timer and after the last. Called from inside a pump, it only
        delivers (a pump is never re-entered).
        """
        self.run_until_idle()
        if self._settling:
            return
        self._settling = True
        try:
            progressed = True
            while progressed:
                progressed = False
                for pump in list(self._pumps):
                    if pump():
                        progressed = True
                self.run_until_idle()
        finally:
            self._settling = False

    def run_until(self, predicate: Callable[[], bool], timeout: float | None = None,
                  describe: Callable[[], str] | None = None, slack: float = 0.0,
                  max_jumps: int = 200_000) -> bool:
        """Run the simulation until `predicate()` holds or `timeout` virtual seconds have passed.

        Time jumps from timer to timer, settling at each instant; returns the final `predicate()`.
        Timers at most `slack` seconds past the deadline still fire before it ends.

        Raises:
            errors.Stalled: `timeout` is None and nothing is left that could make `predicate()` true
                (no timer is left, or `max_jumps` timers fired, e.g. only recurring heartbeats).
        """
        clock = self.clock
        deadline = None if timeout is None else clock.now() + max(timeout, 0)
        jumps = 0
        while True:
            self.settle()
            if predicate():
                return True
            now, upcoming = clock.now(), clock.next_deadline()
            if deadline is not None and (upcoming is None or upcoming > deadline + slack):
                if now >= deadline:
                    return False
                clock.advance_to(deadline)
                continue
            jumps += 1
            if upcoming is None or jumps > max_jumps:
                why = "no timer is left" if upcoming is None else f"{max_jumps} timers fired"
                detail = describe() if describe is not None else self.snapshot()
                raise errors.Stalled(f"waited forever: nothing can be delivered and {why}.\n{detail}".rstrip())
            clock.advance_to(max(upcoming, now))

    def _dispatch(self, queue: Queue) -> int:
        delivered = 0
        while queue._ready and queue.consumers:
            consumer = queue.next_consumer()
            if consumer is None:
                break
            self.expire_head(queue, delivering=True)
            entry = queue.pop()
            if entry is None:
                break
            self.entry_left(queue, entry)
            try:
                consumer.channel._deliver(consumer, queue, entry)
            except BaseException:
                if queue._ready and queue.consumers and not queue.deleted:
                    self._pending[queue] = None
                raise
            delivered += 1
        if queue._ready and not queue.deleted:
            self.expire_head(queue)  # TTL-0 entries no consumer could take
        return delivered

    # --- deletion and closing ------------------------------------------------------------------

    def _purge(self, queue: Queue, reason: str) -> int:
        entries = queue.take_all()
        for entry in entries:
            self.entry_left(queue, entry)
            self._drop(queue, entry, reason)
        return len(entries)

    def _delete_queue(self, queue: Queue, reason: str) -> int:
        count = self._purge(queue, "queue_deleted")
        queue.deleted = True
        for consumer in list(queue.consumers):
            self._cancel(consumer, by_broker=True)
        self.vhosts[queue.vhost].forget_queue(queue)
        self.queue_forgotten(queue)
        self._pending.pop(queue, None)
        self._record(ev.QueueDeleted, queue.vhost, queue.name, reason)
        return count

    def _close_channel(self, channel: Channel, error: errors.AMQPError | None, reply_code: int,
                       reply_text: str) -> None:
        if not channel.is_open:
            return
        channel.is_open = False
        channel.close_reason = error
        channel._discard_tx()  # uncommitted acks never happened: those deliveries are requeued below
        items = list(channel.unacked.items())
        channel.unacked.clear()
        self._settle_many(channel, items, "close", True)
        for consumer in list(channel.consumers.values()):
            self._cancel(consumer, by_broker=False)
        connection = channel.connection
        connection.channels.pop(channel.channel_number, None)
        self._record(ev.ChannelClosed, connection.name, channel.channel_number, reply_code, reply_text)
        for callback in channel._on_close:
            callback(channel, error)

    def _close_connection(self, connection: Connection, error: errors.AMQPError | None,
                          reply_code: int | None = None, reply_text: str | None = None) -> None:
        if not connection.is_open:
            return
        code = error.reply_code if error is not None else (reply_code or 200)
        text = error.reply_text if error is not None else (reply_text or "Normal shutdown")
        for channel in list(connection.channels.values()):
            self._close_channel(channel, error, code, text)
        connection.is_open = False
        connection.close_reason = error
        vhost = connection._vhost
        for queue in [q for q in vhost.queues.values() if q.exclusive_owner is connection]:
            self._delete_queue(queue, "exclusive_owner_closed")
        self.connections.remove(connection)
        self._record(ev.ConnectionClosed, connection.name, code, text)
        for callback in connection._on_close:
            callback(connection, error)

    def drop_connection(self, connection: Connection) -> None:
        """Lose a connection as a network failure would: no Connection.Close, the client sees a lost stream.

        Its channels' unacked messages are requeued and its exclusive queues deleted, as RabbitMQ does.
        """
        if connection.is_open:
            connection.lost = True
            self._close_connection(connection, None, 0, "connection lost")

    # --- invariants ----------------------------------------------------------------------------

    def check_invariants(self) -> None:
        """Assert that the broker's structure is consistent and that no message vanished.

        Raises:
            AssertionError: naming the first inconsistency found.
        """
        unacked_by_queue: dict[int, int] = {}
        live_unacked = 0
        for connection in self.connections:
            assert connection.is_open, f"{connection} is listed but closed"
            for number, channel in connection.channels.items():
                assert channel.is_open and channel.channel_number == number, f"{channel} misfiled"
                per_consumer: dict[str, int] = {}
                for tag, item in channel.unacked.items():
                    assert 0 < tag <= channel._next_tag, f"{channel} has tag {tag} it never gave"
                    unacked_by_queue[id(item.queue)] = unacked_by_queue.get(id(item.queue), 0) + 1
                    if item.consumer is not None:
                        per_consumer[item.consumer.tag] = per_consumer.get(item.consumer.tag, 0) + 1
                live_unacked += len(channel.unacked)
                for tag, consumer in channel.consumers.items():
                    assert consumer.channel is channel and consumer in consumer.queue.consumers
                    assert consumer.unacked == per_consumer.get(tag, 0), f"{consumer} unacked count"
                assert channel.global_unacked == sum(per_consumer.values()), f"{channel} unacked count"
        for vhost in self.vhosts.values():
            for name, queue in vhost.queues.items():
                assert queue.name == name and not queue.deleted
                assert queue._ready == sum(len(level) for level in queue._levels), f"{queue} ready count"
                assert queue.unacked == unacked_by_queue.get(id(queue), 0), f"{queue} unacked count"
                for consumer in queue.consumers:
                    assert consumer.channel.is_open and consumer.channel.consumers.get(consumer.tag) is consumer
                if queue.exclusive_owner is not None:
                    assert queue.exclusive_owner.is_open, f"{queue} owned by a closed connection"
                for binding in queue.bound_to:
                    assert binding in binding.source.bindings
        for queue in self._pending:
            assert not queue.deleted, f"pending {queue} was deleted"
        self.check_timers()
        ready = sum(q.message_count for v in self.vhosts.values() for q in v.queues.values())
        settled = sum(self.fates[f] for f in ev_fates() if f != "unroutable")
        assert self.enqueued == ready + live_unacked + settled, (
            f"conservation: {self.enqueued} enqueued != {ready} ready + {live_unacked} unacked"
            f" + {settled} settled {self.fates}"
        )


_SETTLE_EVENTS: dict[str, type] = {"ack": ev.Acked, "nack": ev.Nacked, "reject": ev.Rejected}
"""The trace record of each way of settling (requeueing by recover or close records none)."""


def ev_fates() -> tuple[str, ...]:
    """The recorded fates a message copy can meet after it entered a queue (and `unroutable`)."""
    return ("acked", "expired", "dead_lettered", "rejected", "maxlen", "purged", "queue_deleted",
            "restart", "delivery_limit", "unroutable")
