"""Errors: the class tree, what a soft and a hard error close (and only that), and calls after a close."""

from __future__ import annotations

import builtins

import pytest

import memq
from memq import Properties, errors

from .support import drain, publish

SOFT = {311: errors.ContentTooLarge, 312: errors.NoRoute, 313: errors.NoConsumers, 403: errors.AccessRefused,
        404: errors.NotFound, 405: errors.ResourceLocked, 406: errors.PreconditionFailed}
HARD = {320: errors.ConnectionForced, 402: errors.InvalidPath, 501: errors.FrameError, 502: errors.AMQPSyntaxError,
        503: errors.CommandInvalid, 504: errors.ChannelError, 505: errors.UnexpectedFrame,
        506: errors.ResourceError, 530: errors.NotAllowed, 540: errors.NotImplementedAMQP,
        541: errors.InternalError}


# --- the class tree --------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "cls"), sorted(SOFT.items()))
def test_soft_error_classes_close_the_channel(code, cls):
    """Each soft error class has its AMQP code, is a SoftError and is not hard."""
    error = cls("text")
    assert (error.reply_code, error.hard, error.reply_text) == (code, False, "text")
    assert isinstance(error, errors.SoftError) and isinstance(error, errors.AMQPError)


@pytest.mark.parametrize(("code", "cls"), sorted(HARD.items()))
def test_hard_error_classes_close_the_connection(code, cls):
    """Each hard error class has its AMQP code and is a HardError."""
    error = cls("text")
    assert (error.reply_code, error.hard) == (code, True) and isinstance(error, errors.HardError)


def test_by_code_gives_class_for_each_code():
    """errors.by_code maps each AMQP error code to its class; an unknown code is a KeyError."""
    assert {code: errors.by_code(code) for code in {**SOFT, **HARD}} == {**SOFT, **HARD}
    with pytest.raises(KeyError):
        errors.by_code(200)


def test_error_can_be_made_hard_explicitly():
    """A soft class made with hard=True is hard (RabbitMQ refuses a login with a connection-level 403)."""
    assert errors.AccessRefused("x", hard=True).hard and not errors.AccessRefused("x").hard


def test_memq_own_errors_fit_python_hierarchy():
    """InvalidArgument is a ValueError, Unsupported a NotImplementedError; all are MemqError."""
    assert issubclass(errors.InvalidArgument, ValueError)
    assert issubclass(errors.Unsupported, NotImplementedError)
    for cls in (errors.AMQPError, errors.ChannelClosed, errors.ConnectionClosed, errors.InvalidArgument,
                errors.Unsupported, errors.Stalled):
        assert issubclass(cls, errors.MemqError)
    assert not issubclass(errors.ChannelClosed, errors.AMQPError)


def test_no_error_class_shadows_a_builtin():
    """No name in memq.errors is also a Python builtin (no ConnectionError)."""
    assert [name for name in errors.__all__ if hasattr(builtins, name)] == []


def test_error_str_shows_code_and_text():
    """str(error) is `(code) text`."""
    assert str(errors.NotFound("NOT_FOUND - no queue 'q' in vhost '/'")) == "(404) NOT_FOUND - no queue 'q' in vhost '/'"


# --- soft errors -----------------------------------------------------------------------------


def test_soft_error_closes_only_its_channel(broker, conn):
    """A soft error closes its channel; the connection, its other channels and other connections live on."""
    failing, sibling = conn.channel(), conn.channel()
    other = broker.connect().channel()
    with pytest.raises(errors.NotFound) as caught:
        failing.queue_declare("missing", passive=True)
    assert (caught.value.class_id, caught.value.method_id) == (50, 10)
    assert not failing.is_open and sibling.is_open and conn.is_open and other.is_open
    sibling.queue_declare("q")
    other.queue_declare("q", passive=True)


def test_soft_error_tells_close_callback_and_later_calls(conn, ch):
    """The channel's close callback gets the error; later calls raise ChannelClosed carrying it."""
    seen = []
    ch.add_on_close_callback(lambda channel, error: seen.append(error))
    with pytest.raises(errors.NotFound) as caught:
        ch.basic_get("missing")
    assert seen == [caught.value]
    for call, args in (("queue_declare", ("q",)), ("basic_publish", ("", "q", b"m")), ("basic_ack", (1,)),
                       ("basic_get", ("q",)), ("close", ()), ("basic_qos", ()), ("confirm_delivery", ())):
        with pytest.raises(errors.ChannelClosed) as later:
            getattr(ch, call)(*args)
        assert later.value.reason is caught.value


def test_soft_error_requeues_channel_unacked_and_cancels_its_consumers(conn, ch, broker, inbox):
    """The channel closed by an error gives back its unacked messages and loses its consumers."""
    ch.queue_declare("q")
    ch.basic_consume("q", inbox)
    publish(ch, "", "q", "1")
    broker.run_until_idle()
    with pytest.raises(errors.PreconditionFailed):
        ch.basic_ack(99)
    other = conn.channel()
    assert other.queue_declare("q", passive=True) == memq.QueueDeclareOk("q", 1, 0)
    assert other.basic_get("q").redelivered


def test_closed_channel_number_is_reused(conn, ch):
    """After a channel closes, the next channel() takes the lowest free number."""
    second = conn.channel()
    ch.close()
    assert (second.channel_number, conn.channel().channel_number) == (2, 1)


def test_user_id_mismatch_is_406(ch):
    """Publishing with a user_id other than the connection's user is 406."""
    with pytest.raises(errors.PreconditionFailed) as caught:
        ch.basic_publish("", "q", b"m", Properties(user_id="mallory"))
    assert caught.value.reply_text == ("PRECONDITION_FAILED - user_id property set to 'mallory' "
                                       "but authenticated user was 'guest'")


# --- hard errors -----------------------------------------------------------------------------


def test_hard_error_closes_connection_and_all_its_channels(broker, conn):
    """A hard error closes its connection and every channel of it; other connections live on."""
    failing, sibling = conn.channel(), conn.channel()
    other_conn = broker.connect()
    other = other_conn.channel()
    closed = []
    conn.add_on_close_callback(lambda connection, error: closed.append(error))
    with pytest.raises(errors.CommandInvalid) as caught:
        failing.exchange_declare("x", "bogus")
    assert closed == [caught.value]
    assert not conn.is_open and not failing.is_open and not sibling.is_open
    assert other_conn.is_open and other.is_open
    with pytest.raises(errors.ChannelClosed) as later:
        sibling.queue_declare("q")
    assert later.value.reason is caught.value
    with pytest.raises(errors.ConnectionClosed) as refused:
        conn.channel()
    assert refused.value.reason is caught.value
    with pytest.raises(errors.ConnectionClosed):
        conn.close()


def test_hard_error_requeues_and_deletes_exclusive_queues(broker, conn, ch):
    """A hard error requeues the connection's unacked messages and deletes its exclusive queues."""
    ch.queue_declare("shared")
    ch.queue_declare("mine", exclusive=True)
    publish(ch, "", "shared", "m")
    ch.basic_get("shared")
    with pytest.raises(errors.NotImplementedAMQP):
        ch.basic_qos(prefetch_size=1)
    fresh = broker.connect().channel()
    assert drain(fresh, "shared") == [b"m"]
    with pytest.raises(errors.NotFound):
        fresh.queue_declare("mine", passive=True)


def test_channel_number_in_use_closes_connection_with_504(conn, ch):
    """Opening a channel with a number in use is a hard 504."""
    with pytest.raises(errors.ChannelError) as caught:
        conn.channel(ch.channel_number)
    assert caught.value.reply_text == "CHANNEL_ERROR - second 'channel.open' seen" and not conn.is_open


# --- connecting ------------------------------------------------------------------------------


def test_bad_credentials_are_refused_with_hard_403(broker):
    """A wrong password or unknown user is a hard 403 with RabbitMQ's login text; nothing is opened."""
    for username, password in (("guest", "nope"), ("nobody", "guest")):
        with pytest.raises(errors.AccessRefused) as caught:
            broker.connect(username=username, password=password)
        assert caught.value.hard and caught.value.reply_text == (
            "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. "
            "For details see the broker logfile.")
    assert broker.connections == []


def test_unknown_vhost_is_530(broker):
    """Connecting to an unknown virtual host is 530 NOT_ALLOWED, with the name unquoted."""
    with pytest.raises(errors.NotAllowed) as caught:
        broker.connect("nope")
    assert caught.value.reply_text == "NOT_ALLOWED - vhost nope not found"


def test_added_user_and_vhost_can_connect(broker):
    """add_user and add_vhost make a login and a virtual host that work."""
    broker.add_user("alice", "secret")
    broker.add_vhost("v")
    connection = broker.connect("v", username="alice", password="secret")
    assert (connection.vhost, connection.username) == ("v", "alice")


# --- misuse of the API -----------------------------------------------------------------------


def test_non_callable_consumer_is_invalid_argument(ch):
    """basic_consume with a callback that is not callable raises InvalidArgument."""
    ch.queue_declare("q")
    with pytest.raises(errors.InvalidArgument):
        ch.basic_consume("q", "not callable")


def test_body_of_wrong_type_is_invalid_argument(ch):
    """A body that is neither bytes nor str raises InvalidArgument; bytearray is accepted."""
    ch.queue_declare("q")
    with pytest.raises(errors.InvalidArgument):
        ch.basic_publish("", "q", 12)
    ch.basic_publish("", "q", bytearray(b"ok"))
    assert drain(ch, "q") == [b"ok"]


def test_prefetch_count_out_of_range_is_invalid_argument(ch):
    """A prefetch_count outside 0..65535 raises InvalidArgument."""
    with pytest.raises(errors.InvalidArgument):
        ch.basic_qos(prefetch_count=65536)
