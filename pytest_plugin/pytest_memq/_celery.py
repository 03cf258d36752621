"""`memq_celery` on a real RabbitMQ: Celery workers in threads, as `celery.contrib.testing.worker` runs them.

`ThreadDriver` offers the part of `memq.celery.Driver`'s interface that makes sense on real time:
`tasks` (the same task ledger, fed by Celery's signals), `run_until_idle()` (waits until the tasks the
workers can take are finished), `advance()` (sleeps), `clock`, `now()`, `add_worker()` and `detach()`.
Results go to the in-process `cache+memory://` backend, which the test thread and the worker threads
share. What only a simulation can do (`crash_worker`) skips the test.
"""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import datetime, timedelta
from typing import Any, Callable

from celery import _state as celery_state
from celery import signals
from celery.contrib.testing.worker import TestWorkController
from celery.result import _set_task_join_will_block
from celery.worker import state as worker_state
from kombu.serialization import dumps

from memq.celery import TaskLedger

from ._settings import RealClock

__all__ = ["ThreadDriver"]

_MISSING = object()
_CONF_KEYS = ("broker_url", "broker_read_url", "broker_write_url", "broker_transport", "result_backend",
              "task_always_eager")
_UNFINISHED = ("RECEIVED", "STARTED", "RETRY")
RESULT_BACKEND = "cache+memory://"


class ThreadDriver:
    """Runs a Celery app's workers in threads against a real broker; see the module docstring.

    Args:
        app: the Celery app; its broker URL and result backend are replaced until `detach()`.
        url: the broker URL (`amqp://...`).
        workers: worker name -> queues, as for `memq.celery.attach`; default: one worker, "celery@memq".
        beat: run Celery beat in a thread too.
        timeout: how long `run_until_idle()` waits, in seconds.
    """

    simulated = False
    broker = None

    def __init__(self, app: Any, url: str, workers: dict[str, list[str]] | None = None, beat: Any = False,
                 timeout: float = 60.0) -> None:
        self.app = app
        self.url = url
        self.clock = RealClock()
        self.tasks = TaskLedger()
        self.workers: dict[str, Any] = {}
        self.beat: Any = None
        self.timeout = timeout
        self._worker_spec = workers
        self._beat_spec = beat
        self._threads: list[threading.Thread] = []
        self._saved_conf: dict[str, Any] = {}
        self._saved_consume_from: Any = None
        self._saved_apps: tuple[Any, Any] = (None, None)
        self._receivers: list[tuple[Any, Callable[..., Any]]] = []
        self._consumed: set[str] = set()
        self.attached = False

    # lifecycle

    def attach(self) -> "ThreadDriver":
        """Point the app at the broker and start the workers (and beat)."""
        app = self.app
        conf = app.conf
        for key in _CONF_KEYS:
            self._saved_conf[key] = conf.get(key, _MISSING)
        conf.update(broker_url=self.url, broker_read_url=None, broker_write_url=None, broker_transport=None,
                    result_backend=RESULT_BACKEND, task_always_eager=False)
        self._reset_app()
        app.finalize(auto=True)
        self._saved_apps = (celery_state.default_app, celery_state._tls.current_app)
        app.set_current()
        app.set_default()  # the worker threads run tasks with the default app, as celery.contrib.testing does
        self._saved_consume_from = dict(app.amqp.queues.consume_from)
        self._connect_signals()
        self.attached = True
        specs = self._worker_spec if self._worker_spec is not None else {"celery@memq": None}
        for name, queues in specs.items():
            self.add_worker(name, queues)
        if self._beat_spec:
            from celery.beat import EmbeddedService, Scheduler

            self.beat = EmbeddedService(app, thread=True, scheduler_cls=Scheduler)
            self.beat.start()
        return self

    def detach(self) -> None:
        """Stop the workers and beat, purge what they consumed, and give the app its configuration back."""
        if not self.attached:
            return
        self.attached = False
        if self.beat is not None:
            self.beat.stop()
            self.beat = None
        worker_state.should_terminate = 0
        try:
            self._join_workers()
        finally:
            worker_state.should_terminate = None
        self.workers.clear()
        self._purge()
        for signal, receiver in self._receivers:
            signal.disconnect(receiver)
        self._receivers.clear()
        app = self.app
        with contextlib.suppress(Exception):
            app.amqp.queues._consume_from = self._saved_consume_from
        app.conf.update({k: v for k, v in self._saved_conf.items() if v is not _MISSING})
        self._reset_app()
        celery_state.default_app, celery_state._tls.current_app = self._saved_apps

    def __enter__(self) -> "ThreadDriver":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.detach()

    def _join_workers(self, limit: float = 10.0) -> None:
        """Wait for the worker threads to end; control messages wake their event loops to see should_terminate."""
        deadline = time.monotonic() + limit
        while any(t.is_alive() for t in self._threads) and time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                self.app.control.broadcast("ping", destination=list(self.workers), reply=False)
            for thread in self._threads:
                thread.join(0.1)

    def _reset_app(self) -> None:
        """Drop the app's and kombu's cached pools for this URL (a stopped worker closes them)."""
        from kombu import Connection, pools

        app = self.app
        uri = Connection(self.url).as_uri()
        for group in (pools.producers, pools.connections):
            for key, pool in list(group.items()):
                connection = getattr(getattr(pool, "connections", pool), "connection", None)
                if connection is not None and connection.as_uri() == uri:
                    with contextlib.suppress(Exception):
                        pool.force_close_all()
                    dict.__delitem__(group, key)
        with contextlib.suppress(Exception):
            if app._pool is not None:
                app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
        app._backend_cache = None
        app._local.__dict__.pop("backend", None)

    def _purge(self) -> None:
        """Empty the queues the workers consumed, so that nothing this test sent reaches the next one."""
        with contextlib.suppress(Exception), self.app.connection_for_write() as connection:
            for name in sorted(self._consumed):
                with contextlib.suppress(Exception):
                    channel = connection.channel()
                    channel.queue_purge(name)
                    channel.close()

    def add_worker(self, name: str, queues: list[str] | None) -> Any:
        """Start one more worker thread consuming `queues` (like `celery worker -n name -Q ...`)."""
        if "@" not in name:
            name = f"{name}@memq"
        worker = TestWorkController(app=self.app, hostname=name, concurrency=1, pool="solo", loglevel="error",
                                    ready_callback=None, without_heartbeat=True, without_mingle=True,
                                    without_gossip=True, queues=queues)
        self._consumed.update(self.app.amqp.queues.consume_from)
        thread = threading.Thread(target=worker.start, name=f"celery-{name}", daemon=True)
        thread.start()
        worker.ensure_started()
        _set_task_join_will_block(False)  # the test thread is not a worker: result.get() is allowed
        self._threads.append(thread)
        self.workers[name] = worker
        return worker

    def crash_worker(self, name: str | None = None) -> None:
        """Only the simulation can kill a worker mid-task: skips the test."""
        import pytest

        pytest.skip("crash_worker needs the simulated broker (this run uses --memq-broker)")

    # time

    def now(self) -> datetime:
        """`app.now()`: the wall clock in the app's timezone."""
        return self.app.now()

    def advance(self, delta: float | timedelta) -> None:
        """Sleep `delta`; the worker threads carry on meanwhile."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        self.clock.advance(seconds)

    @property
    def pending(self) -> bool:
        """Whether a task the workers can take is still unfinished."""
        return any(self._unfinished(record) for record in self.tasks)

    def _unfinished(self, record: Any) -> bool:
        if record.state in _UNFINISHED:
            return True
        return record.state == "PENDING" and (record.queue or "").rsplit("/", 1)[-1] in self._consumed

    def run_until_idle(self, timeout: float | None = None) -> None:
        """Wait until every task the workers can take has finished.

        Raises:
            TimeoutError: still unfinished after `timeout` seconds (default: the driver's).
        """
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while self.pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"tasks still unfinished after {limit} s: {self.describe_pending()}")
            time.sleep(0.01)

    def describe_pending(self) -> str:
        """The unfinished tasks, one phrase each."""
        waiting = [f"{r.name}[{r.id[:8]}] {r.state}" for r in self.tasks if self._unfinished(r)]
        return ", ".join(waiting) or "none"

    # the ledger

    def _connect_signals(self) -> None:
        now, update, app = self.clock.now, self.tasks.update, self.app

        def connect(signal: Any, receiver: Callable[..., Any]) -> None:
            signal.connect(receiver, weak=False)
            self._receivers.append((signal, receiver))

        def published(sender: Any = None, body: Any = None, exchange: str = "", routing_key: str = "",
                      headers: dict | None = None, **kw: Any) -> None:
            headers = headers or {}
            if headers.get("task") not in app.tasks or "id" not in headers:
                return
            content_type, encoding, data = _encode(body, app.conf.task_serializer)
            queue = routing_key if not exchange else f"{exchange}/{routing_key}"
            self.tasks.published(headers["id"], headers["task"], now(), headers, data, content_type, encoding,
                                 queue)

        def received(request: Any = None, **kw: Any) -> None:
            update(request.id, state="RECEIVED", received=now(), worker=request.hostname)

        def prerun(task_id: str = "", **kw: Any) -> None:
            update(task_id, state="STARTED", started=now())

        def success(sender: Any = None, result: Any = None, **kw: Any) -> None:
            update(sender.request.id, state="SUCCESS", succeeded=now(), result=result)

        def failure(task_id: str = "", exception: Any = None, **kw: Any) -> None:
            update(task_id, state="FAILURE", failed=now(), exception=exception)

        def retry(request: Any = None, reason: Any = None, **kw: Any) -> None:
            update(request.id, state="RETRY", retried=now(), exception=getattr(reason, "exc", reason))

        def revoked(request: Any = None, **kw: Any) -> None:
            update(request.id, state="REVOKED", revoked=now())

        def unknown(id: str = "", exc: Any = None, **kw: Any) -> None:
            update(id, state="FAILURE", failed=now(), exception=exc)

        connect(signals.before_task_publish, published)
        connect(signals.task_received, received)
        connect(signals.task_prerun, prerun)
        connect(signals.task_success, success)
        connect(signals.task_failure, failure)
        connect(signals.task_retry, retry)
        connect(signals.task_revoked, revoked)
        connect(signals.task_unknown, unknown)


def _encode(body: Any, serializer: str) -> tuple[str | None, str | None, bytes]:
    try:
        content_type, encoding, data = dumps(body, serializer=serializer)
    except Exception:  # noqa: BLE001 - the ledger then shows no arguments
        return None, None, b""
    return content_type, encoding, data if isinstance(data, bytes) else str(data).encode(encoding or "utf-8")
