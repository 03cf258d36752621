"""Canaries: fail loudly if the pika internals memq.pika relies on change (pika>=1.3,<1.5 supported)."""

from __future__ import annotations

import inspect

import pika
import pika.compat
import pika.connection
import pika.heartbeat
import pytest
from pika.adapters import base_connection, blocking_connection, select_connection
from pika.adapters.utils import nbio_interface

import memq.pika


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2])


def test_pika_version_is_supported():
    """memq.pika is tested against pika 1.3 and 1.4 only."""
    assert (1, 3) <= _version(pika.__version__) < (1, 5), pika.__version__


def test_blocking_connection_looks_up_the_ioloop_at_call_time():
    """BlockingConnection builds `select_connection.IOLoop()` inside _create_connection."""
    source = inspect.getsource(blocking_connection.BlockingConnection._create_connection)
    assert "select_connection.IOLoop()" in source
    assert "ioloop.poll()" in source and "ioloop.process_timeouts()" in source


def test_select_connection_wraps_the_loop_in_the_module_global_adapter():
    """SelectConnection wraps its loop in the module-level SelectorIOServicesAdapter name."""
    assert hasattr(select_connection, "IOLoop")
    assert hasattr(select_connection, "SelectorIOServicesAdapter")
    for function in (select_connection.SelectConnection.__init__,
                     select_connection.SelectConnection.create_connection):
        assert "SelectorIOServicesAdapter(custom_ioloop or IOLoop())" in inspect.getsource(function)


def test_time_now_is_pikas_only_clock():
    """pika reads time through `pika.compat.time_now`, looked up at call time."""
    assert callable(pika.compat.time_now)
    source = inspect.getsource(blocking_connection)
    assert "compat.time_now()" in source
    assert "time.monotonic" not in source and "time.time" not in source


def test_io_services_interface_is_unchanged():
    """MemqIOServices and the stream implement every abstract method pika declares."""
    assert not getattr(memq.pika.MemqIOServices, "__abstractmethods__", None)
    assert not getattr(memq.pika._Stream, "__abstractmethods__", None)
    expected = {"get_native_ioloop", "close", "run", "stop", "add_callback_threadsafe",
                "call_later", "getaddrinfo", "connect_socket", "create_streaming_connection"}
    assert set(nbio_interface.AbstractIOServices.__abstractmethods__) == expected
    assert set(nbio_interface.AbstractStreamTransport.__abstractmethods__) == {
        "abort", "get_protocol", "write", "get_write_buffer_size"}


def test_protocol_shim_exposes_the_connection():
    """The streaming protocol shim keeps its connection in `.conn` (the frame-object path)."""
    assert "self.conn = conn" in inspect.getsource(base_connection._StreamingProtocolShim.__init__)


def test_connection_frame_hooks_exist():
    """The frame-object path replaces _send_frame/_send_method and calls _process_frame."""
    connection_cls = pika.connection.Connection
    for name in ("_send_frame", "_send_method", "_process_frame", "_on_data_available"):
        assert callable(getattr(connection_cls, name)), name
    assert list(inspect.signature(connection_cls._send_method).parameters) == [
        "self", "channel_number", "method", "content"]
    init_state = inspect.getsource(connection_cls._init_connection_state)
    assert "self.bytes_received = 0" in init_state and "self.frames_sent = 0" in init_state


def test_channel_publishes_through_send_method_with_content():
    """Channel.basic_publish hands (properties, body) to _send_method."""
    source = inspect.getsource(pika.channel.Channel.basic_publish)
    assert "self._send_method(" in source and "(properties, body)" in source


def test_heartbeat_checker_timers_are_bound_methods():
    """Heartbeat timers are recognised by their HeartbeatChecker owner (they never count as work)."""
    source = inspect.getsource(pika.heartbeat.HeartbeatChecker)
    assert "_adapter_call_later(" in source
    assert "self._send_interval, self._send_heartbeat" in source.replace("\n", " ").replace("  ", "")
    assert "_connection.bytes_received" in source


def test_blocking_connection_dispatch_state_names():
    """run_until_idle reads BlockingConnection's pending-dispatch state."""
    source = inspect.getsource(blocking_connection.BlockingConnection.__init__)
    assert "self._channels_pending_dispatch" in source and "self._ready_events" in source


def test_patched_uses_the_hooks():
    """Inside patched() the hooks point at memq; the names are pika's."""
    with memq.pika.patched():
        assert select_connection.IOLoop is memq.pika.VirtualIOLoop
        assert select_connection.SelectorIOServicesAdapter is memq.pika.MemqIOServices
    assert select_connection.IOLoop is not memq.pika.VirtualIOLoop


@pytest.mark.parametrize("name", ["BlockingConnection", "SelectConnection", "ConnectionParameters",
                                  "URLParameters", "PlainCredentials", "BasicProperties"])
def test_public_names_exist(name):
    """The public pika names the docs use are there."""
    assert hasattr(pika, name)


def test_consumer_tags_come_from_pika_channel_uuid():
    """pika makes consumer tags with `uuid.uuid4()` looked up in pika.channel (seeded inside patched())."""
    source = inspect.getsource(pika.channel.Channel._generate_consumer_tag)
    assert "uuid.uuid4()" in source
    assert pika.channel.uuid.__name__ == "uuid"
