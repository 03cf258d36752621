"""The client methods of AMQP 0-9-1 mapped onto the memq core's Channel, one handler each.

Each handler takes the session, the channel state and the pika method, calls the core, and
returns the reply method (or None: no reply, as for acks and nowait methods). Core errors
propagate to the session, which turns them into Channel.Close or Connection.Close.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from pika import spec


class ProtocolError(Exception):
    """A frame broke the AMQP rules in a way the session answers with a hard close."""

    def __init__(self, reply_code: int, reply_text: str, class_id: int = 0, method_id: int = 0):
        super().__init__(reply_code, reply_text)
        self.reply_code, self.reply_text = reply_code, reply_text
        self.class_id, self.method_id = class_id, method_id


def _basic_consume(session: Any, ch: Any, m: spec.Basic.Consume) -> Any:
    tag = ch.core.basic_consume(
        m.queue, partial(session._on_deliver, ch.number), auto_ack=m.no_ack,
        exclusive=m.exclusive, consumer_tag=m.consumer_tag or None, arguments=m.arguments or None)
    ch.consumers[tag] = m.queue
    return None if m.nowait else spec.Basic.ConsumeOk(tag)


def _basic_get(session: Any, ch: Any, m: spec.Basic.Get) -> Any:
    got = ch.core.basic_get(m.queue, auto_ack=m.no_ack)
    if got is None:
        return spec.Basic.GetEmpty()
    session._send_content(ch.number, spec.Basic.GetOk(
        got.delivery_tag, got.redelivered, got.exchange, got.routing_key, got.message_count),
        got.properties, got.body)
    return None


def _channel_flow(session: Any, ch: Any, m: spec.Channel.Flow) -> Any:
    if not m.active:
        # Mirrors RabbitMQ 3.10: channel.flow(active=false) is a connection error.
        raise ProtocolError(540, "NOT_IMPLEMENTED - active=false", 20, 20)
    return spec.Channel.FlowOk(True)


def _channel_close(session: Any, ch: Any, m: spec.Channel.Close) -> Any:
    session._forget_channel(ch.number)
    if ch.core.is_open:
        ch.core.close()
    return spec.Channel.CloseOk()


def _channel_reopen(session: Any, ch: Any, m: spec.Channel.Open) -> Any:
    raise ProtocolError(504, "CHANNEL_ERROR - second 'channel.open' seen", 20, 10)


def _exchange_declare(session: Any, ch: Any, m: spec.Exchange.Declare) -> Any:
    ch.core.exchange_declare(m.exchange, m.type, passive=m.passive, durable=m.durable,
                             auto_delete=m.auto_delete, internal=m.internal,
                             arguments=m.arguments or None)
    return None if m.nowait else spec.Exchange.DeclareOk()


def _exchange_delete(session: Any, ch: Any, m: spec.Exchange.Delete) -> Any:
    ch.core.exchange_delete(m.exchange, if_unused=m.if_unused)
    return None if m.nowait else spec.Exchange.DeleteOk()


def _exchange_bind(session: Any, ch: Any, m: spec.Exchange.Bind) -> Any:
    ch.core.exchange_bind(m.destination, m.source, m.routing_key, arguments=m.arguments or None)
    return None if m.nowait else spec.Exchange.BindOk()


def _exchange_unbind(session: Any, ch: Any, m: spec.Exchange.Unbind) -> Any:
    ch.core.exchange_unbind(m.destination, m.source, m.routing_key, arguments=m.arguments or None)
    return None if m.nowait else spec.Exchange.UnbindOk()


def _queue_declare(session: Any, ch: Any, m: spec.Queue.Declare) -> Any:
    ok = ch.core.queue_declare(m.queue, passive=m.passive, durable=m.durable, exclusive=m.exclusive,
                               auto_delete=m.auto_delete, arguments=m.arguments or None)
    if m.nowait:
        return None
    return spec.Queue.DeclareOk(ok.queue, ok.message_count, ok.consumer_count)


def _queue_bind(session: Any, ch: Any, m: spec.Queue.Bind) -> Any:
    ch.core.queue_bind(m.queue, m.exchange, m.routing_key, arguments=m.arguments or None)
    return None if m.nowait else spec.Queue.BindOk()


def _queue_unbind(session: Any, ch: Any, m: spec.Queue.Unbind) -> Any:
    ch.core.queue_unbind(m.queue, m.exchange, m.routing_key, arguments=m.arguments or None)
    return spec.Queue.UnbindOk()


def _queue_purge(session: Any, ch: Any, m: spec.Queue.Purge) -> Any:
    count = ch.core.queue_purge(m.queue)
    return None if m.nowait else spec.Queue.PurgeOk(count)


def _queue_delete(session: Any, ch: Any, m: spec.Queue.Delete) -> Any:
    count = ch.core.queue_delete(m.queue, if_unused=m.if_unused, if_empty=m.if_empty)
    return None if m.nowait else spec.Queue.DeleteOk(count)


def _basic_qos(session: Any, ch: Any, m: spec.Basic.Qos) -> Any:
    ch.core.basic_qos(m.prefetch_size, m.prefetch_count, m.global_qos)
    return spec.Basic.QosOk()


def _basic_cancel(session: Any, ch: Any, m: spec.Basic.Cancel) -> Any:
    ch.core.basic_cancel(m.consumer_tag)
    ch.consumers.pop(m.consumer_tag, None)
    return None if m.nowait else spec.Basic.CancelOk(m.consumer_tag)


def _basic_publish_start(session: Any, ch: Any, m: spec.Basic.Publish) -> Any:
    ch.publish = m
    return None


def _basic_ack(session: Any, ch: Any, m: spec.Basic.Ack) -> Any:
    ch.core.basic_ack(m.delivery_tag, m.multiple)


def _basic_reject(session: Any, ch: Any, m: spec.Basic.Reject) -> Any:
    ch.core.basic_reject(m.delivery_tag, m.requeue)


def _basic_nack(session: Any, ch: Any, m: spec.Basic.Nack) -> Any:
    ch.core.basic_nack(m.delivery_tag, m.multiple, m.requeue)


def _basic_recover(session: Any, ch: Any, m: spec.Basic.Recover) -> Any:
    ch.core.basic_recover(m.requeue)
    return spec.Basic.RecoverOk()


def _basic_recover_async(session: Any, ch: Any, m: spec.Basic.RecoverAsync) -> Any:
    ch.core.basic_recover(m.requeue)


def _confirm_select(session: Any, ch: Any, m: spec.Confirm.Select) -> Any:
    ch.core.confirm_delivery()
    return None if m.nowait else spec.Confirm.SelectOk()


def _tx_select(session: Any, ch: Any, m: spec.Tx.Select) -> Any:
    ch.core.tx_select()
    return spec.Tx.SelectOk()


def _tx_commit(session: Any, ch: Any, m: spec.Tx.Commit) -> Any:
    ch.core.tx_commit()
    return spec.Tx.CommitOk()


def _tx_rollback(session: Any, ch: Any, m: spec.Tx.Rollback) -> Any:
    ch.core.tx_rollback()
    return spec.Tx.RollbackOk()


B, E, Q = spec.Basic, spec.Exchange, spec.Queue
HANDLERS: dict[type, Callable[[Any, Any, Any], Any]] = {
    E.Declare: _exchange_declare, E.Delete: _exchange_delete,
    E.Bind: _exchange_bind, E.Unbind: _exchange_unbind,
    Q.Declare: _queue_declare, Q.Bind: _queue_bind, Q.Unbind: _queue_unbind,
    Q.Purge: _queue_purge, Q.Delete: _queue_delete,
    B.Qos: _basic_qos, B.Consume: _basic_consume, B.Cancel: _basic_cancel,
    B.Publish: _basic_publish_start, B.Get: _basic_get,
    B.Ack: _basic_ack, B.Reject: _basic_reject, B.Nack: _basic_nack,
    B.Recover: _basic_recover, B.RecoverAsync: _basic_recover_async,
    spec.Confirm.Select: _confirm_select,
    spec.Tx.Select: _tx_select, spec.Tx.Commit: _tx_commit, spec.Tx.Rollback: _tx_rollback,
    spec.Channel.Flow: _channel_flow, spec.Channel.Close: _channel_close,
    spec.Channel.Open: _channel_reopen,
}
