"""Queues: naming, declare-ok counts, purge and delete counts, durable/exclusive/auto-delete lifecycles, TTL."""

import pytest
from pika import exceptions as pika_errors

from .support import (
    SERVER_QUEUE_NAME,
    bodies,
    channel_closed,
    get,
    not_found_exchange,
    not_found_queue,
    publish,
    ready_count,
    resource_locked,
    server_queue,
)


def test_server_named_queue_has_amq_gen_prefix(amqp):
    """queue_declare('') returns 'amq.gen-' followed by 22 URL-safe base64 characters."""
    channel = amqp.channel()
    names = [server_queue(channel) for _ in range(3)]
    assert all(SERVER_QUEUE_NAME.fullmatch(name) for name in names), names
    assert len(set(names)) == 3


def test_declare_ok_reports_name_and_zero_counts_for_new_queue(amqp):
    """Declaring a new queue returns its name with message_count 0 and consumer_count 0."""
    channel = amqp.channel()
    name = amqp.unique("q")
    ok = channel.queue_declare(name, auto_delete=True).method
    assert (ok.queue, ok.message_count, ok.consumer_count) == (name, 0, 0)


def test_declare_ok_counts_ready_messages_and_consumers(amqp):
    """A redeclare reports ready messages (not unacknowledged ones) and the number of consumers."""
    channel = amqp.channel()
    queue = amqp.unique("q")
    channel.queue_declare(queue, exclusive=True)
    publish(channel, "", queue, "1", "2", "3")
    assert channel.queue_declare(queue, exclusive=True).method.message_count == 3
    channel.basic_get(queue)
    channel.basic_consume(queue, lambda *args: None)
    channel.basic_consume(queue, lambda *args: None)
    ok = channel.queue_declare(queue, passive=True).method
    assert (ok.message_count, ok.consumer_count) == (0, 2)


def test_redeclare_with_same_properties_is_accepted(amqp):
    """Redeclaring a queue with identical properties and arguments succeeds and keeps its messages."""
    channel = amqp.channel()
    name = amqp.unique("q")
    kwargs = dict(durable=True, arguments={"x-message-ttl": 60000, "x-max-length": 10})
    channel.queue_declare(name, **kwargs)
    publish(channel, "", name, "m")
    assert channel.queue_declare(name, **kwargs).method.message_count == 1


def test_passive_declare_ignores_other_flags(amqp):
    """A passive declare checks only existence; its durable/auto_delete/arguments are ignored."""
    channel = amqp.channel()
    queue = server_queue(channel)
    ok = channel.queue_declare(queue, passive=True, durable=True, auto_delete=True,
                               arguments={"x-message-ttl": 3}).method
    assert ok.queue == queue


def test_redeclare_ignores_non_x_arguments(amqp):
    """Arguments without the x- prefix are not compared on redeclare."""
    channel = amqp.channel()
    queue = amqp.unique("q")
    channel.queue_declare(queue, exclusive=True, arguments={"foo": 2})
    channel.queue_declare(queue, exclusive=True, arguments={"foo": 1})


def test_queue_purge_returns_ready_count_and_keeps_unacked(amqp):
    """queue_purge removes and counts only ready messages; an unacknowledged one can still be acked."""
    channel = amqp.channel()
    queue = server_queue(channel)
    publish(channel, "", queue, "1", "2", "3")
    tag = get(channel, queue).delivery_tag
    assert channel.queue_purge(queue).method.message_count == 2
    assert ready_count(channel, queue) == 0
    channel.basic_ack(tag)
    assert ready_count(channel, queue) == 0


def test_purged_unacked_message_requeued_by_nack(amqp):
    """A message that was unacknowledged during a purge comes back when nacked with requeue."""
    channel = amqp.channel()
    queue = server_queue(channel)
    publish(channel, "", queue, "1", "2")
    tag = get(channel, queue).delivery_tag
    channel.queue_purge(queue)
    channel.basic_nack(tag, requeue=True)
    assert [one.body for one in [get(channel, queue, auto_ack=True)]] == ["1"]


def test_queue_delete_returns_ready_count(amqp):
    """queue_delete reports the ready messages it dropped, not the unacknowledged ones."""
    channel = amqp.channel()
    queue = server_queue(channel)
    publish(channel, "", queue, "1", "2", "3")
    tag = get(channel, queue).delivery_tag
    assert channel.queue_delete(queue).method.message_count == 2
    channel.basic_ack(tag)
    with channel_closed(404, not_found_queue(queue)):
        channel.queue_declare(queue, passive=True)


def test_queue_delete_of_missing_queue_is_ok(amqp):
    """Deleting a queue that does not exist succeeds with message_count 0, even with if_unused/if_empty."""
    channel = amqp.channel()
    assert channel.queue_delete(amqp.unique("missing")).method.message_count == 0
    assert channel.queue_delete(amqp.unique("missing"), if_unused=True, if_empty=True).method.message_count == 0


def test_queue_delete_if_unused_without_consumers_deletes(amqp):
    """queue_delete(if_unused=True) deletes a queue that has messages but no consumer."""
    channel = amqp.channel()
    queue = server_queue(channel)
    publish(channel, "", queue, "1", "2")
    assert channel.queue_delete(queue, if_unused=True).method.message_count == 2


def test_queue_delete_if_empty_of_empty_queue_deletes(amqp):
    """queue_delete(if_empty=True) deletes an empty queue."""
    channel = amqp.channel()
    queue = server_queue(channel)
    assert channel.queue_delete(queue, if_empty=True).method.message_count == 0


def test_queue_delete_if_unused_with_consumer_fails(amqp):
    """queue_delete(if_unused=True) on a queue with a consumer closes the channel with 406 in use."""
    channel = amqp.channel()
    queue = server_queue(channel)
    channel.basic_consume(queue, lambda *args: None)
    with channel_closed(406, f"PRECONDITION_FAILED - queue '{queue}' in vhost '/' in use"):
        channel.queue_delete(queue, if_unused=True)


def test_queue_delete_if_empty_with_messages_fails(amqp):
    """queue_delete(if_empty=True) on a queue with messages closes the channel with 406 not empty."""
    channel = amqp.channel()
    queue = server_queue(channel)
    publish(channel, "", queue, "m")
    with channel_closed(406, f"PRECONDITION_FAILED - queue '{queue}' in vhost '/' not empty"):
        channel.queue_delete(queue, if_empty=True)


def test_durable_queue_can_be_declared_and_redeclared(amqp):
    """A durable queue is declared, redeclared durable, and reports its messages."""
    channel = amqp.channel()
    name = amqp.unique("durable")
    channel.queue_declare(name, durable=True)
    publish(channel, "", name, "m", delivery_mode=2)
    assert channel.queue_declare(name, durable=True).method.message_count == 1


def test_exclusive_queue_survives_close_of_declaring_channel(amqp):
    """Closing the channel that declared an exclusive queue keeps the queue."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    name = amqp.unique("exclusive")
    channel.queue_declare(name, exclusive=True)
    channel.close()
    assert amqp.channel(connection).queue_declare(name, passive=True).method.queue == name


def test_exclusive_queue_deleted_when_connection_closes(amqp):
    """Closing the owning connection deletes its exclusive queue."""
    owner = amqp.connect()
    name = amqp.unique("exclusive")
    amqp.channel(owner).queue_declare(name, exclusive=True)
    owner.close()
    with channel_closed(404, not_found_queue(name)):
        amqp.channel().queue_declare(name, passive=True)


def _exclusive_ops(queue):
    return {
        "declare_exclusive": lambda ch: ch.queue_declare(queue, exclusive=True),
        "declare": lambda ch: ch.queue_declare(queue),
        "declare_passive": lambda ch: ch.queue_declare(queue, passive=True),
        "consume": lambda ch: ch.basic_consume(queue, lambda *args: None),
        "bind": lambda ch: ch.queue_bind(queue, "amq.direct", "k"),
        "delete": lambda ch: ch.queue_delete(queue),
        "purge": lambda ch: ch.queue_purge(queue),
        "get": lambda ch: ch.basic_get(queue),
    }


@pytest.mark.parametrize("operation", list(_exclusive_ops("q")))
def test_exclusive_queue_locked_for_other_connection(amqp, operation):
    """Another connection touching an exclusive queue gets 405 RESOURCE_LOCKED on its channel."""
    owner_channel = amqp.channel()
    queue = amqp.unique("exclusive")
    owner_channel.queue_declare(queue, exclusive=True)
    other = amqp.channel()
    with channel_closed(405, resource_locked(queue)):
        _exclusive_ops(queue)[operation](other)
    assert owner_channel.queue_declare(queue, passive=True).method.queue == queue


def test_exclusive_queue_unbind_from_other_connection(amqp):
    """Another connection removing an existing binding of an exclusive queue gets 405; a missing binding is ok."""
    owner_channel = amqp.channel()
    queue = amqp.unique("exclusive")
    owner_channel.queue_declare(queue, exclusive=True)
    owner_channel.queue_bind(queue, "amq.direct", queue)
    other = amqp.channel()
    other.queue_unbind(queue, "amq.direct", "never-bound")
    with channel_closed(405, resource_locked(queue)):
        other.queue_unbind(queue, "amq.direct", queue)
    publish(owner_channel, "amq.direct", queue, "still bound")
    assert bodies(owner_channel, queue) == ["still bound"]


def test_exclusive_queue_accepts_publish_from_other_connection(amqp):
    """Another connection may publish to an exclusive queue through the default exchange."""
    owner_channel = amqp.channel()
    queue = server_queue(owner_channel)
    publish(amqp.channel(), "", queue, "from elsewhere")
    assert bodies(owner_channel, queue) == ["from elsewhere"]


def test_exclusive_redeclare_of_existing_queue_on_same_connection_is_locked(amqp):
    """Redeclaring a non-exclusive queue as exclusive fails with 405 RESOURCE_LOCKED, even on the same connection."""
    channel = amqp.channel()
    name = amqp.unique("q")
    channel.queue_declare(name, auto_delete=True)
    with channel_closed(405, resource_locked(name)):
        channel.queue_declare(name, exclusive=True, auto_delete=True)


def test_non_exclusive_redeclare_of_exclusive_queue_is_locked(amqp):
    """Redeclaring an exclusive queue without exclusive on its own connection fails with 405 RESOURCE_LOCKED."""
    channel = amqp.channel()
    queue = amqp.unique("exclusive")
    channel.queue_declare(queue, exclusive=True)
    with channel_closed(405, resource_locked(queue)):
        channel.queue_declare(queue)


def test_redeclare_of_server_named_queue_is_refused_for_reserved_prefix(amqp):
    """Redeclaring an 'amq.gen-' queue by name (not passively) fails with 403, even on the owning connection."""
    channel = amqp.channel()
    queue = server_queue(channel)
    with channel_closed(403, f"ACCESS_REFUSED - queue name '{queue}' contains reserved prefix 'amq.*'"):
        channel.queue_declare(queue, exclusive=True)


def test_auto_delete_queue_lives_until_first_consumer_leaves(amqp):
    """An auto-delete queue never consumed from stays; basic_get does not count as consuming."""
    channel = amqp.channel()
    name = amqp.unique("auto-delete")
    channel.queue_declare(name, auto_delete=True)
    publish(channel, "", name, "m")
    get(channel, name, auto_ack=True)
    assert channel.queue_declare(name, passive=True).method.queue == name


def test_auto_delete_queue_deleted_after_last_consumer_cancelled(amqp):
    """An auto-delete queue survives cancelling one of two consumers and is deleted with the last one."""
    channel = amqp.channel()
    name = amqp.unique("auto-delete")
    channel.queue_declare(name, auto_delete=True)
    first = channel.basic_consume(name, lambda *args: None)
    second = channel.basic_consume(name, lambda *args: None)
    channel.basic_cancel(first)
    assert channel.queue_declare(name, passive=True).method.consumer_count == 1
    channel.basic_cancel(second)
    with channel_closed(404, not_found_queue(name)):
        channel.queue_declare(name, passive=True)


def test_auto_delete_queue_deleted_when_consumer_channel_closes(amqp):
    """Closing the channel of an auto-delete queue's only consumer deletes the queue."""
    connection = amqp.connect()
    name = amqp.unique("auto-delete")
    channel = amqp.channel(connection)
    channel.queue_declare(name, auto_delete=True)
    consumer_channel = amqp.channel(connection)
    consumer_channel.basic_consume(name, lambda *args: None)
    consumer_channel.close()
    with channel_closed(404, not_found_queue(name)):
        channel.queue_declare(name, passive=True)


def test_auto_delete_exchange_deleted_after_last_unbind(amqp):
    """An auto-delete exchange exists while unbound at first, and is deleted when its last binding goes."""
    channel = amqp.channel()
    exchange = amqp.unique("auto-delete-x")
    channel.exchange_declare(exchange, "direct", auto_delete=True)
    channel.exchange_declare(exchange, passive=True)
    queue = server_queue(channel)
    channel.queue_bind(queue, exchange, "a")
    channel.queue_bind(queue, exchange, "b")
    channel.queue_unbind(queue, exchange, "a")
    channel.exchange_declare(exchange, passive=True)
    channel.queue_unbind(queue, exchange, "b")
    with channel_closed(404, not_found_exchange(exchange)):
        channel.exchange_declare(exchange, passive=True)


def test_auto_delete_exchange_deleted_with_its_last_bound_queue(amqp):
    """Deleting the only queue bound to an auto-delete exchange deletes the exchange."""
    channel = amqp.channel()
    exchange = amqp.unique("auto-delete-x")
    channel.exchange_declare(exchange, "fanout", auto_delete=True)
    queue = server_queue(channel)
    channel.queue_bind(queue, exchange)
    channel.queue_delete(queue)
    with channel_closed(404, not_found_exchange(exchange)):
        channel.exchange_declare(exchange, passive=True)


def test_queue_name_of_255_bytes_is_accepted(amqp):
    """A queue name of exactly 255 bytes is accepted."""
    channel = amqp.channel()
    name = amqp.unique("long")
    name = name + "x" * (255 - len(name))
    amqp.declared.append(name)
    assert channel.queue_declare(name, auto_delete=True).method.queue == name


@pytest.mark.parametrize("name", ["a" * 256, "é" * 128], ids=["ascii", "utf8"])
def test_queue_name_over_255_bytes_is_refused_by_pika(amqp, name):
    """A queue name over 255 UTF-8 bytes makes pika raise ShortStringTooLong; channel and connection stay open."""
    connection = amqp.connect()
    channel = amqp.channel(connection)
    with pytest.raises(pika_errors.ShortStringTooLong):
        channel.queue_declare(name)
    assert channel.is_open and connection.is_open
    assert SERVER_QUEUE_NAME.fullmatch(server_queue(channel))


def test_exchange_name_over_255_bytes_is_refused_by_pika(amqp):
    """An exchange name of 256 bytes makes pika raise ShortStringTooLong; a 255-byte one is accepted."""
    channel = amqp.channel()
    with pytest.raises(pika_errors.ShortStringTooLong):
        channel.exchange_declare("e" * 256)
    name = amqp.unique("long-x")
    name = name + "x" * (255 - len(name))
    amqp.declared.append(name)
    channel.exchange_declare(name, auto_delete=True)
    channel.exchange_declare(name, passive=True)


def test_message_ttl_drops_expired_messages(amqp):
    """A message older than the queue's x-message-ttl is no longer delivered."""
    channel = amqp.channel()
    queue = server_queue(channel, arguments={"x-message-ttl": 100})
    publish(channel, "", queue, "old")
    amqp.elapse(0.2)
    publish(channel, "", queue, "new")
    assert bodies(channel, queue) == ["new"]


def test_per_message_expiration_zero_drops_message_without_consumer(amqp):
    """A message published with expiration '0' to a queue without consumers is dropped."""
    channel = amqp.channel()
    queue = server_queue(channel)
    publish(channel, "", queue, "gone", expiration="0")
    publish(channel, "", queue, "kept", expiration="60000")
    assert bodies(channel, queue) == ["kept"]
