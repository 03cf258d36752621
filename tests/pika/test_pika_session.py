"""The sans-IO server session on its own: bytes in, frames out, as RabbitMQ 3.10 answers."""

from __future__ import annotations

import pytest
from pika import frame, spec

import memq
from memq._amqp_session import ServerSession

PLAIN = b"\x00guest\x00guest"


def decode_all(data: bytes) -> list:
    """Split bytes into pika frame objects."""
    frames = []
    while data:
        consumed, value = frame.decode_frame(data)
        assert value is not None, "incomplete frame"
        frames.append(value)
        data = data[consumed:]
    return frames


def methods(session: ServerSession) -> list:
    """Drain the session's bytes and return the methods (or frames) it sent."""
    return [getattr(value, "method", value) for value in decode_all(session.data_to_send())]


def method_bytes(channel: int, method) -> bytes:
    return frame.Method(channel, method).marshal()


def open_session(broker: memq.Broker, heartbeat: int = 60) -> ServerSession:
    """A session taken through the handshake over bytes, with channel 1 open."""
    session = ServerSession(broker)
    session.receive_data(b"AMQP\x00\x00\x09\x01")
    (start,) = methods(session)
    assert isinstance(start, spec.Connection.Start)
    session.receive_data(method_bytes(0, spec.Connection.StartOk({}, "PLAIN", PLAIN, "en_US")))
    (tune,) = methods(session)
    assert (tune.channel_max, tune.frame_max, tune.heartbeat) == (2047, 131072, 60)
    session.receive_data(method_bytes(0, spec.Connection.TuneOk(2047, 131072, heartbeat)))
    session.receive_data(method_bytes(0, spec.Connection.Open("/")))
    session.receive_data(method_bytes(1, spec.Channel.Open()))
    assert [type(m) for m in methods(session)] == [spec.Connection.OpenOk, spec.Channel.OpenOk]
    return session


@pytest.fixture
def broker() -> memq.Broker:
    return memq.Broker(seed=0)


def test_start_advertises_rabbitmq(broker):
    """Connection.Start: version 0-9, PLAIN and AMQPLAIN, en_US, RabbitMQ's properties."""
    session = ServerSession(broker)
    session.receive_data(b"AMQP\x00\x00\x09\x01")
    (start,) = methods(session)
    assert (start.version_major, start.version_minor) == (0, 9)
    assert (start.mechanisms, start.locales) == (b"PLAIN AMQPLAIN", b"en_US")
    assert start.server_properties["product"] == "RabbitMQ"


def test_wrong_protocol_header_gets_ours_and_a_close(broker):
    """An unsupported protocol header is answered with AMQP 0-9-1's header and the socket closes."""
    session = ServerSession(broker)
    session.receive_data(b"AMQP\x01\x01\x00\x0a")
    assert session.data_to_send() == b"AMQP\x00\x00\x09\x01"
    assert session.closed


def test_login_refused_is_connection_close_403(broker):
    """Wrong credentials: Connection.Close 403 with RabbitMQ's text and class/method 0."""
    session = ServerSession(broker)
    session.receive_data(b"AMQP\x00\x00\x09\x01")
    methods(session)
    session.receive_data(method_bytes(0, spec.Connection.StartOk({}, "PLAIN", b"\x00guest\x00no", "en_US")))
    (close,) = methods(session)
    assert (close.reply_code, close.class_id, close.method_id) == (403, 0, 0)
    assert close.reply_text == ("ACCESS_REFUSED - Login was refused using authentication mechanism "
                                "PLAIN. For details see the broker logfile.")
    session.receive_data(method_bytes(0, spec.Connection.CloseOk()))
    assert session.closed


def test_unknown_vhost_is_close_530_on_open(broker):
    """Connection.Open to an unknown vhost: Connection.Close 530 with class 10 method 40."""
    session = ServerSession(broker)
    session.receive_data(b"AMQP\x00\x00\x09\x01")
    session.receive_data(method_bytes(0, spec.Connection.StartOk({}, "PLAIN", PLAIN, "en_US")))
    session.receive_data(method_bytes(0, spec.Connection.TuneOk(0, 131072, 0)))
    methods(session)
    session.receive_data(method_bytes(0, spec.Connection.Open("nope")))
    (close,) = methods(session)
    assert vars(close) == {"reply_code": 530, "reply_text": "NOT_ALLOWED - vhost nope not found",
                           "class_id": 10, "method_id": 40}


def test_publish_in_split_frames_and_get_with_split_body(broker):
    """A publish arriving byte by byte is assembled; a large body leaves in frame_max-8 pieces."""
    session = open_session(broker)
    session.receive_data(method_bytes(1, spec.Queue.Declare(queue="q")))
    methods(session)
    body = b"x" * 300_000
    data = (method_bytes(1, spec.Basic.Publish(exchange="", routing_key="q"))
            + frame.Header(1, len(body), spec.BasicProperties(content_type="text/plain")).marshal()
            + frame.Body(1, body[:100_000]).marshal() + frame.Body(1, body[100_000:]).marshal())
    for start in range(0, len(data), 7919):
        session.receive_data(data[start:start + 7919])
    session.receive_data(method_bytes(1, spec.Basic.Get(queue="q", no_ack=True)))
    frames = decode_all(session.data_to_send())
    get_ok, header, *bodies = frames
    assert isinstance(get_ok.method, spec.Basic.GetOk)
    assert header.body_size == len(body) and header.properties.content_type == "text/plain"
    assert [len(b.fragment) for b in bodies] == [131064, 131064, 300_000 - 2 * 131064]
    assert b"".join(b.fragment for b in bodies) == body


def test_soft_error_is_channel_close_and_frames_are_dropped_until_close_ok(broker):
    """After Channel.Close the session ignores the channel's frames until Channel.CloseOk."""
    session = open_session(broker)
    session.receive_data(method_bytes(1, spec.Queue.Declare(queue="missing", passive=True)))
    (close,) = methods(session)
    assert vars(close) == {"reply_code": 404, "reply_text": "NOT_FOUND - no queue 'missing' in vhost '/'",
                           "class_id": 50, "method_id": 10}
    session.receive_data(method_bytes(1, spec.Queue.Declare(queue="q")))
    assert methods(session) == []
    session.receive_data(method_bytes(1, spec.Channel.CloseOk()))
    session.receive_data(method_bytes(1, spec.Channel.Open()))
    assert [type(m) for m in methods(session)] == [spec.Channel.OpenOk]


def test_nowait_methods_get_no_reply(broker):
    """nowait declares, binds and deletes are performed without a reply frame."""
    session = open_session(broker)
    session.receive_data(method_bytes(1, spec.Exchange.Declare(exchange="x", type="fanout", nowait=True)))
    session.receive_data(method_bytes(1, spec.Queue.Declare(queue="q", nowait=True)))
    session.receive_data(method_bytes(1, spec.Queue.Bind(queue="q", exchange="x", routing_key="", nowait=True)))
    session.receive_data(method_bytes(1, spec.Confirm.Select(nowait=True)))
    assert methods(session) == []
    session.receive_data(method_bytes(1, spec.Queue.Declare(queue="q", passive=True)))
    (ok,) = methods(session)
    assert ok.queue == "q"


def test_frame_on_unopened_channel_is_504(broker):
    """A method on a channel that was never opened is a connection-level CHANNEL_ERROR."""
    session = open_session(broker)
    session.receive_data(method_bytes(7, spec.Queue.Declare(queue="q")))
    (close,) = methods(session)
    assert (close.reply_code, close.reply_text) == (504, "CHANNEL_ERROR - expected 'channel.open'")


def test_consumer_delivery_and_cancel_notification(broker):
    """Deliveries become Basic.Deliver + content; a deleted queue cancels its consumer (nowait)."""
    session = open_session(broker)
    session.receive_data(method_bytes(1, spec.Queue.Declare(queue="q")))
    session.receive_data(method_bytes(1, spec.Basic.Consume(queue="q", consumer_tag="tag", no_ack=True)))
    assert [type(m) for m in methods(session)] == [spec.Queue.DeclareOk, spec.Basic.ConsumeOk]
    other = broker.connect().channel()
    other.basic_publish("", "q", b"hello")
    broker.run_until_idle()
    deliver, header, body = decode_all(session.data_to_send())
    assert (deliver.method.consumer_tag, deliver.method.delivery_tag, body.fragment) == ("tag", 1, b"hello")
    other.queue_delete("q")
    (cancel,) = methods(session)
    assert isinstance(cancel, spec.Basic.Cancel) and cancel.consumer_tag == "tag" and cancel.nowait


def test_heartbeat_owed_after_half_the_interval(broker):
    """The session owes a heartbeat when it sent nothing for heartbeat/2 seconds."""
    session = open_session(broker)
    session.mark_sent(1000.0)
    assert session.heartbeat_deadline() == 1030.0
    session.heartbeat_due(1029.0)
    assert not session.has_output
    session.heartbeat_due(1030.0)
    assert isinstance(session.frames_to_send()[0], frame.Heartbeat)


def test_client_close_closes_the_core_connection(broker):
    """Connection.Close from the client gets CloseOk and closes the core connection."""
    session = open_session(broker)
    assert len(broker.connections) == 1
    session.receive_data(method_bytes(0, spec.Connection.Close(200, "bye", 0, 0)))
    assert [type(m) for m in methods(session)] == [spec.Connection.CloseOk]
    assert session.closed and broker.connections == []
