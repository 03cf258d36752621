"""Canaries: every private Celery/kombu hook memq relies on, pinned so an upgrade fails loudly here."""

from __future__ import annotations

import inspect
import time
from typing import Any

import celery
import kombu
import pytest
from packaging.version import Version


def test_versions_in_supported_range() -> None:
    """memq supports celery>=5.5,<5.8 and kombu>=5.5,<5.8."""
    assert Version("5.5") <= Version(celery.__version__) < Version("5.8")
    assert Version("5.5") <= Version(kombu.__version__) < Version("5.8")


def test_consumer_methods_borrowed_by_worker_exist() -> None:
    """The Consumer methods the simulated worker borrows are still there."""
    from celery.worker.consumer.consumer import Consumer

    for name in ("create_task_handler", "on_unknown_message", "on_unknown_task", "on_invalid_task",
                 "on_decode_error", "call_soon_ack", "apply_eta_task", "_message_report",
                 "_limit_task", "_limit_post_eta", "_limit_move_to_pool", "_schedule_bucket_request",
                 "_restore_prefetch_count_after_connection_restart"):
        assert callable(getattr(Consumer, name)), name


def test_fast_trace_task_takes_loc() -> None:
    """fast_trace_task(task, uuid, request, body, content_type, content_encoding, loads, _loc)."""
    from celery.app.trace import build_tracer, fast_trace_task

    params = list(inspect.signature(fast_trace_task).parameters)
    assert params[:6] == ["task", "uuid", "request", "body", "content_type", "content_encoding"]
    assert "_loc" in params
    assert "hostname" in inspect.signature(build_tracer).parameters


def test_strategy_reads_to_timestamp_global() -> None:
    """strategy.default binds the module global to_timestamp when the strategy is built."""
    import celery.worker.strategy as strategy

    assert hasattr(strategy, "to_timestamp")
    assert "to_timestamp=to_timestamp" in inspect.getsource(strategy.default)


def test_request_reads_patched_clock_names() -> None:
    """Request.maybe_expire and on_accepted read module globals datetime, time, monotonic."""
    import celery.worker.request as request

    assert request.datetime.__name__ == "datetime"
    assert request.time is time.time and request.monotonic is time.monotonic
    assert "datetime.now(" in inspect.getsource(request.Request.maybe_expire)


def test_backoff_uses_module_random() -> None:
    """get_exponential_backoff_interval draws from celery.utils.time.random."""
    import celery.utils.time as ctime

    assert ctime.random.__name__ == "random"
    assert "random.randrange" in inspect.getsource(ctime.get_exponential_backoff_interval)


def test_scheduler_hooks() -> None:
    """Scheduler.adjust/tick/sync/should_sync/max_interval and ScheduleEntry.__lt__ exist."""
    from celery.beat import ScheduleEntry, Scheduler

    assert "drift" in inspect.signature(Scheduler.adjust).parameters
    for name in ("tick", "sync", "should_sync", "max_interval", "Entry"):
        assert hasattr(Scheduler, name)
    assert "id(self) < id(other)" in inspect.getsource(ScheduleEntry.__lt__)


def test_app_private_caches() -> None:
    """The app caches the driver resets: _pool, _backend_cache, _local, amqp._producer_pool, _tls."""
    from celery import _state

    app = celery.Celery("canary", set_as_current=False)
    assert app._pool is None and app._backend_cache is None
    assert hasattr(app._local, "__dict__")
    assert app.amqp._producer_pool is None
    assert hasattr(_state._tls, "current_app")
    assert "now" in type(app).__dict__


def test_join_will_block_flag() -> None:
    """celery._state._set_task_join_will_block / task_join_will_block gate AsyncResult.get()."""
    from celery._state import _set_task_join_will_block, task_join_will_block

    before = task_join_will_block()
    _set_task_join_will_block(True)
    try:
        assert task_join_will_block() is True
    finally:
        _set_task_join_will_block(before)


def test_worker_state_globals() -> None:
    """celery.worker.state keeps process-global request sets and reset_state()."""
    from celery.worker import state

    for name in ("revoked", "requests", "active_requests", "reserved_requests", "reset_state",
                 "task_ready"):
        assert hasattr(state, name), name


def test_pidbox_and_mailbox() -> None:
    """celery.worker.pidbox.Pidbox(c) and kombu's Node.listen/handle_message are present."""
    from celery.worker.pidbox import Pidbox
    from kombu.pidbox import Node

    assert list(inspect.signature(Pidbox.__init__).parameters) == ["self", "c"]
    assert hasattr(Node, "listen") and hasattr(Node, "handle_message")


def test_backend_hooks() -> None:
    """KeyValueStoreBackend still has get_many/wait_for/_mget_to_results/on_chord_part_return."""
    from celery.backends.base import KeyValueStoreBackend

    for name in ("get_many", "wait_for", "_mget_to_results", "on_chord_part_return", "_apply_chord_incr"):
        assert hasattr(KeyValueStoreBackend, name), name


def test_kombu_transport_registry_and_pools() -> None:
    """kombu resolves memq:// through TRANSPORT_ALIASES; pools are EqualityDicts of pools."""
    import kombu.transport
    from kombu import pools

    import memq.kombu  # noqa: F401 - registers the alias

    assert kombu.transport.TRANSPORT_ALIASES["memq"] == "memq.kombu:Transport"
    assert isinstance(pools.connections, dict) and isinstance(pools.producers, dict)


def test_virtual_base_message_constructor() -> None:
    """kombu's base Message takes body, delivery_tag, content_type, ..., headers, channel."""
    from kombu.transport.base import Message

    params = inspect.signature(Message.__init__).parameters
    for name in ("body", "delivery_tag", "content_type", "content_encoding", "delivery_info",
                 "properties", "headers", "channel"):
        assert name in params, name


@pytest.mark.parametrize("name", ["BACKEND_ALIASES"])
def test_backend_aliases(name: Any) -> None:
    """celery.app.backends.BACKEND_ALIASES maps 'memq' once memq.celery is imported."""
    import celery.app.backends

    import memq.celery  # noqa: F401

    assert getattr(celery.app.backends, name)["memq"] == "memq.celery.backend:MemqBackend"
