"""The driver: attaches a Celery app to a memq broker and runs its workers and beat in the test's thread.

Theory of operation: `attach()` points the app at the broker (a `memq://<host>//` URL registered
for this driver), installs the `memq://` result backend, makes `app.now()` virtual and starts the
workers (each a `Worker`: its own kombu connection, task consumer and pidbox). Nothing runs by
itself: `delay()` only publishes. Work happens inside waits (`run_until_idle`, `advance`,
`AsyncResult.get`, `GroupResult.get`, kombu `drain_events`), which all go through
`memq.kombu.run_until`: deliver what the broker can, let each worker take one step (control
message, due ETA, or task message) in turn until nobody can, then jump the clock to the next timer.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from celery import _state as celery_state
from celery.worker import state as worker_state

from .. import errors
from .. import kombu as memq_kombu
from . import _patches
from ._ledger import TaskLedger
from ._worker import Worker, WorkerCrashed
from .backend import MemqBackend, Store
from .beat import Beat, MemqScheduler

if TYPE_CHECKING:
    import memq

__all__ = ["Driver", "driver_for_app"]

_hosts = itertools.count(1)
_by_app: dict[int, "Driver"] = {}
_MISSING = object()
_CONF_KEYS = ("broker_url", "broker_read_url", "broker_write_url", "broker_transport",
              "result_backend", "task_always_eager")


def driver_for_app(app: Any) -> "Driver":
    """The driver attached to `app`.

    Raises:
        errors.InvalidArgument: the app is not attached.
    """
    try:
        return _by_app[id(app)]
    except KeyError:
        raise errors.InvalidArgument(
            "result_backend 'memq://' needs the app attached: memq.celery.attach(app)") from None


class Driver:
    """Runs an attached Celery app's workers (and beat) on a memq broker; see `memq.celery.attach`."""

    def __init__(self, app: Any, broker: "memq.Broker", workers: dict[str, list[str]] | None,
                 beat: bool | type[MemqScheduler]) -> None:
        self.app = app
        self.broker = broker
        self.clock = broker.clock
        self.store = Store(broker.clock)
        self.tasks = TaskLedger()
        self.host = f"memq-{next(_hosts)}"
        self.workers: dict[str, Worker] = {}
        self.beat: Beat | None = None
        self._worker_spec = workers
        self._beat_spec = beat
        self._saved_conf: dict[str, Any] = {}
        self._saved_now: Any = _MISSING
        self._saved_current: Any = None
        self._saved_backend: tuple[Any, Any] = (None, None)
        self._running: list[Worker] = []
        self._turn = 0
        self._depth = 0
        self._signals: list[tuple[Any, Callable[..., Any]]] = []
        self.attached = False

    # lifecycle

    def attach(self) -> "Driver":
        """Reconfigure the app for the broker and start the workers (and beat)."""
        app = self.app
        if id(app) in _by_app:
            raise errors.InvalidArgument("this app is already attached; detach it first")
        url = memq_kombu.register(self.broker, self.host)
        conf = app.conf
        for key in _CONF_KEYS:
            self._saved_conf[key] = conf.get(key, _MISSING)
        conf.update(broker_url=url, broker_read_url=None, broker_write_url=None, broker_transport=None,
                    result_backend="memq://", task_always_eager=False)
        self._saved_now = app.__dict__.get("now", _MISSING)
        app.now = self.now
        _patches.install(self)
        self._saved_current = celery_state._tls.current_app
        app.set_current()  # as a worker process does: canvas falls back to the current app
        _by_app[id(app)] = self
        self.attached = True
        self._reset_pools()
        self._saved_backend = (app._backend_cache, getattr(app._local, "backend", None))
        app._backend_cache = MemqBackend(app=app, url="memq://", driver=self)
        app.finalize(auto=True)
        app.loader.import_default_modules()
        worker_state.reset_state()
        self._connect_signals()
        memq_kombu.add_publish_hook(self.broker, self._on_publish)
        memq_kombu.add_pump(self.broker, self._pump)
        for name, queues in self._default_workers().items():
            self.add_worker(name, queues)
        if self._beat_spec:
            cls = self._beat_spec if isinstance(self._beat_spec, type) else MemqScheduler
            self.beat = Beat(self, cls)
        return self

    def detach(self) -> None:
        """Stop the workers and beat and give the app back its configuration."""
        if not self.attached:
            return
        self.attached = False
        app = self.app
        if self.beat is not None:
            self.beat.stop()
            self.beat = None
        for worker in list(self.workers.values()):
            worker.stop()
        self.workers.clear()
        memq_kombu.remove_pump(self.broker, self._pump)
        memq_kombu.remove_publish_hook(self.broker, self._on_publish)
        for signal, receiver in self._signals:
            signal.disconnect(receiver)
        self._signals.clear()
        self._reset_pools()
        app._backend_cache, local_backend = self._saved_backend
        if local_backend is None:
            app._local.__dict__.pop("backend", None)
        else:
            app._local.backend = local_backend
        changes = {k: v for k, v in self._saved_conf.items() if v is not _MISSING}
        app.conf.update(changes)
        if self._saved_now is _MISSING:
            app.__dict__.pop("now", None)
        else:
            app.now = self._saved_now
        worker_state.reset_state()
        celery_state._tls.current_app = self._saved_current
        _by_app.pop(id(app), None)
        _patches.uninstall(self)
        memq_kombu.unregister(self.host)

    def __enter__(self) -> "Driver":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.detach()

    def _reset_pools(self) -> None:
        """Drop the app's cached connection and producer pools (they point at the previous broker)."""
        from kombu import pools

        app = self.app
        for group in (pools.producers, pools.connections):
            for key, pool in list(group.items()):
                owner = getattr(pool, "connections", pool)
                conn = getattr(owner, "connection", None)
                if conn is not None and conn.hostname == self.host:
                    try:
                        pool.force_close_all()
                    except Exception:  # noqa: BLE001 - the broker may already be gone
                        pass
                    dict.__delitem__(group, key)
        if app._pool is not None:
            try:
                app._pool.force_close_all()
            except Exception:  # noqa: BLE001
                pass
        app._pool = None
        app.amqp._producer_pool = None

    def _default_workers(self) -> dict[str, list[str]]:
        if self._worker_spec is not None:
            return {name: list(queues) for name, queues in self._worker_spec.items()}
        return {"celery@memq": list(self.app.amqp.queues.consume_from)}

    def add_worker(self, name: str, queues: list[str]) -> Worker:
        """Start one more worker node consuming `queues` (like `celery worker -n name -Q ...`)."""
        if "@" not in name:
            name = f"{name}@memq"
        if name in self.workers:
            raise errors.InvalidArgument(f"a worker named {name!r} already runs")
        worker = Worker(self, name, queues)
        worker.start()
        self.workers[name] = worker
        return worker

    # time

    def now(self) -> datetime:
        """The virtual time as an aware datetime in the app's timezone (what `app.now()` returns)."""
        return datetime.fromtimestamp(self.clock._now, self.app.timezone)

    def run_until(self, predicate: Callable[[], bool], timeout: float | None = None,
                  describe: Callable[[], str] | None = None) -> bool:
        """Run the simulation until `predicate()` or `timeout` virtual seconds; returns `predicate()`."""
        return memq_kombu.run_until(self.broker, predicate, timeout, describe or self.describe_pending)

    def run_until_idle(self) -> None:
        """Run every task that can run, jumping time to the next ETA/retry, until none is pending.

        Raises:
            errors.Stalled: tasks are held but nothing can ever release them.
        """
        self.run_until(lambda: not self.pending)

    def advance(self, delta: float | timedelta) -> None:
        """Move virtual time forward by `delta`, running everything due in time order (beat included)."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise errors.InvalidArgument(f"time can't go backwards: advance({seconds!r})")
        self.run_until(lambda: False, seconds)

    @property
    def pending(self) -> bool:
        """Whether any worker holds a task message, a due ETA or a scheduled (ETA/retry) task."""
        return any(worker.busy for worker in self.workers.values())

    def describe_pending(self) -> str:
        """A one-line account of what the workers hold and what waits in the broker's queues."""
        parts = []
        for worker in self.workers.values():
            held = len(worker.timer.entries)
            buffered = len(worker.conn.inbox) if worker.conn is not None else 0
            parts.append(f"{worker.hostname}: {buffered} buffered, {held} scheduled")
        waiting = [r.id for r in self.tasks if r.state in ("PENDING", "RECEIVED", "RETRY", "STARTED")]
        if waiting:
            parts.append(f"unfinished tasks: {', '.join(waiting[:10])}")
        return "; ".join(parts)

    # stepping

    def _pump(self) -> bool:
        """Let one worker take one step, round-robin; returns whether anything happened."""
        workers = list(self.workers.values())
        if not workers:
            return False
        self._depth += 1
        if self._depth > 50:
            self._depth -= 1
            raise RuntimeError("tasks waiting on tasks nested more than 50 deep")
        try:
            for offset in range(len(workers)):
                worker = workers[(self._turn + offset) % len(workers)]
                try:
                    did = worker.step()
                except WorkerCrashed:
                    self._crash(worker)
                    did = True
                if did:
                    self._turn = (self._turn + offset + 1) % len(workers)
                    return True
            return False
        finally:
            self._depth -= 1

    def _crash(self, worker: Worker) -> None:
        """The worker's process died: drop its connection and start a fresh one under the same name."""
        for request in list(worker_state.active_requests) + list(worker_state.reserved_requests):
            if request.hostname == worker.hostname:
                worker_state.task_ready(request)
        if worker in self._running:
            self._running.remove(worker)
        worker.stop(crashed=True)
        fresh = Worker(self, worker.hostname, worker.queue_names, worker.concurrency)
        fresh.start()
        self.workers[worker.hostname] = fresh

    def crash_worker(self, name: str | None = None) -> None:
        """Kill a worker as if its process died; the broker requeues what it had not acknowledged.

        Inside a task, with no name, kills the worker running that task (the task never finishes).
        """
        if name is None and self._running:
            raise WorkerCrashed(self._running[-1].hostname)
        if name is None:
            raise errors.InvalidArgument("crash_worker() outside a task needs a worker name")
        key = name if "@" in name else f"{name}@memq"
        running = [w for w in self._running if w.hostname == key]
        if running:
            raise WorkerCrashed(key)
        self._crash(self.workers[key])

    # ledger

    def _on_publish(self, exchange: str, routing_key: str, properties: Any, body: bytes) -> None:
        headers = properties.headers
        if not headers or "task" not in headers or "id" not in headers:
            return
        self.tasks.published(headers["id"], headers["task"], self.clock.now(), headers, body,
                             properties.content_type, properties.content_encoding,
                             routing_key if not exchange else f"{exchange}/{routing_key}")

    def _connect_signals(self) -> None:
        from celery import signals

        def connect(signal: Any, receiver: Callable[..., Any]) -> None:
            signal.connect(receiver, weak=False)
            self._signals.append((signal, receiver))

        clock = self.clock
        record = self.tasks.get

        def received(sender: Any = None, request: Any = None, **kw: Any) -> None:
            r = record(request.id)
            if r is not None:
                r.state, r.received, r.worker = "RECEIVED", clock._now, request.hostname

        def prerun(task_id: str = "", **kw: Any) -> None:
            r = record(task_id)
            if r is not None:
                r.state, r.started = "STARTED", clock._now

        def success(sender: Any = None, result: Any = None, **kw: Any) -> None:
            r = record(sender.request.id)
            if r is not None:
                r.state, r.succeeded, r.result = "SUCCESS", clock._now, result

        def failure(task_id: str = "", exception: Any = None, **kw: Any) -> None:
            r = record(task_id)
            if r is not None:
                r.state, r.failed, r.exception = "FAILURE", clock._now, exception

        def retry(request: Any = None, reason: Any = None, **kw: Any) -> None:
            r = record(request.id)
            if r is not None:
                r.state, r.retried, r.exception = "RETRY", clock._now, getattr(reason, "exc", reason)

        def revoked(request: Any = None, expired: bool = False, **kw: Any) -> None:
            r = record(request.id)
            if r is not None:
                r.state, r.revoked = "REVOKED", clock._now

        def unknown(id: str = "", exc: Any = None, **kw: Any) -> None:
            r = record(id)
            if r is not None:
                r.state, r.failed, r.exception = "FAILURE", clock._now, exc

        connect(signals.task_received, received)
        connect(signals.task_prerun, prerun)
        connect(signals.task_success, success)
        connect(signals.task_failure, failure)
        connect(signals.task_retry, retry)
        connect(signals.task_revoked, revoked)
        connect(signals.task_unknown, unknown)
