"""Fuzzing the server's frame handling: any bytes end at most their own connection, and lose nothing."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
from pika import frame, spec

import memq
from memq._amqp_session import ServerSession
from memq._server import PROTOCOL_HEADER, feed


def _handshaken(broker: memq.Broker) -> ServerSession:
    session = ServerSession(broker, heartbeat=0)
    session.receive_data(PROTOCOL_HEADER)
    session.receive_frame(frame.Method(0, spec.Connection.StartOk({}, "PLAIN", b"\x00guest\x00guest")))
    session.receive_frame(frame.Method(0, spec.Connection.TuneOk(2047, 131072, 0)))
    session.receive_frame(frame.Method(0, spec.Connection.Open("/")))
    session.data_to_send()
    return session


_frames = st.one_of(
    st.binary(max_size=64),
    st.builds(lambda t, ch, payload: bytes([t]) + ch.to_bytes(2, "big") + len(payload).to_bytes(4, "big")
              + payload + b"\xce", st.sampled_from([1, 2, 3, 8, 0, 9, 206]), st.integers(0, 3),
              st.binary(max_size=40)),
    st.builds(lambda m: frame.Method(1, m).marshal(), st.sampled_from([
        spec.Channel.Open(), spec.Queue.Declare(queue="fuzz"), spec.Basic.Publish(exchange="", routing_key="fuzz"),
        spec.Basic.Ack(7), spec.Channel.Close(200, "bye", 0, 0), spec.Basic.Get(queue="fuzz")])),
)


@settings(max_examples=200, deadline=None)
@given(prefix=st.sampled_from([b"", PROTOCOL_HEADER, b"AMQP\x01\x01\x00\x09"]), chunks=st.lists(_frames, max_size=8),
       handshake=st.booleans())
def test_any_bytes_leave_other_connections_and_their_messages_intact(prefix: bytes, chunks: list[bytes],
                                                                      handshake: bool) -> None:
    """Whatever a client sends, the broker keeps its invariants and another connection's queue keeps its messages."""
    broker = memq.Broker(seed=1)
    healthy = broker.connect().channel()
    healthy.queue_declare("kept")
    for index in range(3):
        healthy.basic_publish("", "kept", str(index).encode())
    session = _handshaken(broker) if handshake else ServerSession(broker, heartbeat=0)
    if not handshake:
        chunks = [prefix, *chunks]
    for chunk in chunks:
        if feed(session, chunk) is not None or session.closed:
            break
        session.data_to_send()
    broker.run_until_idle()
    broker.check_invariants()
    assert broker.queue("kept").bodies == [b"0", b"1", b"2"]
    assert healthy.is_open
