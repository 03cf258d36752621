"""One simulated Celery worker: Celery's own consumer code, run step by step in the test's thread.

Theory of operation: a real worker is a `Consumer` (reading messages), a timer (ETAs) and a pool
(running tasks). `Worker` is the consumer: it borrows the real `celery.worker.consumer.Consumer`
methods that turn a message into a `Request` (`create_task_handler`, `on_unknown_task`,
`apply_eta_task`, ...), builds each task's strategy with `task.start_strategy(app, self)` and its
tracer with `build_tracer`, and listens to the pidbox through `celery.worker.pidbox.Pidbox`.
`VirtualTimer` holds ETA requests on the virtual clock, and `MemqPool` runs a request inline
through `fast_trace_task` with this worker's registry and host name. The driver calls `step()`,
which handles one control message, else one due ETA request, else one task message.
"""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from typing import TYPE_CHECKING, Any, Callable

from celery._state import _set_task_join_will_block, task_join_will_block
from celery.app.trace import build_tracer, fast_trace_task
from celery.concurrency.base import BasePool
from celery.exceptions import TaskRevokedError
from celery.utils.collections import AttributeDict
from celery.worker import pidbox, state as worker_state
from celery.worker.consumer.consumer import Consumer
from kombu.common import QoS
from kombu.serialization import prepare_accept_content

if TYPE_CHECKING:
    from ._driver import Driver

__all__ = ["Worker", "WorkerCrashed", "MemqPool", "VirtualTimer"]

_pids = itertools.count(10_000)


class WorkerCrashed(BaseException):
    """Raised inside a task to make its worker die at once, as if its process were killed."""


class TimerEntry:
    """An ETA (or rate-limit) callback held on the virtual clock; `cancel()` forgets it."""

    __slots__ = ("fun", "args", "kwargs", "priority", "eta", "handle", "cancelled", "timer")

    def __init__(self, timer: "VirtualTimer", eta: float, fun: Callable[..., Any], args: tuple,
                 kwargs: dict | None, priority: int) -> None:
        self.timer = timer
        self.eta = eta
        self.fun = fun
        self.args = tuple(args or ())
        self.kwargs = kwargs or {}
        self.priority = priority
        self.cancelled = False
        self.handle: Any = None

    @property
    def entry(self) -> "TimerEntry":
        """Celery's inspect code reads `waiting.entry.args`."""
        return self

    def cancel(self) -> None:
        """Forget this entry."""
        if not self.cancelled:
            self.cancelled = True
            if self.handle is not None:
                self.handle.cancel()
            self.timer.forget(self)


class VirtualTimer:
    """The consumer timer (`call_at`, `call_after`, `cancel`) on the broker's virtual clock."""

    def __init__(self, worker: "Worker") -> None:
        self.worker = worker
        self.entries: list[TimerEntry] = []

    def call_at(self, eta: Any, fun: Callable[..., Any], args: tuple = (), kwargs: dict | None = None,
                priority: int = 0) -> TimerEntry:
        """Call `fun(*args)` at virtual epoch seconds `eta` (through the driver's due list)."""
        when = float(eta)
        entry = TimerEntry(self, when, fun, args, kwargs, priority)
        entry.handle = self.worker.driver.clock.call_at(when, self.worker.due.append, entry)
        self.entries.append(entry)
        return entry

    def call_after(self, secs: float, fun: Callable[..., Any], args: tuple = (),
                   kwargs: dict | None = None, priority: int = 0) -> TimerEntry:
        """Call `fun(*args)` `secs` virtual seconds from now."""
        return self.call_at(self.worker.driver.clock.now() + secs, fun, args, kwargs, priority)

    def cancel(self, entry: TimerEntry) -> None:
        """Cancel an entry."""
        entry.cancel()

    def forget(self, entry: TimerEntry) -> None:
        """Drop a fired or cancelled entry."""
        try:
            self.entries.remove(entry)
        except ValueError:
            pass

    @property
    def schedule(self) -> AttributeDict:
        """What `inspect().scheduled()` reads: `schedule.queue`, entries with `.priority` and `.entry`."""
        return AttributeDict(queue=list(self.entries))

    def clear(self) -> None:
        """Cancel every entry (the worker is going away)."""
        for entry in list(self.entries):
            entry.cancel()


class MemqPool(BasePool):
    """A pool that runs each task inline, like the solo pool, through `fast_trace_task`."""

    body_can_be_buffer = True
    task_join_will_block = True

    def __init__(self, worker: "Worker", limit: int) -> None:
        super().__init__(limit=limit, app=worker.app)
        self.worker = worker
        self._state = self.RUN

    def on_apply(self, target: Any, args: Any = None, kwargs: Any = None, callback: Any = None,
                 accept_callback: Any = None, **options: Any) -> None:
        """Run the task now; crashes (`WorkerCrashed`) propagate to the driver."""
        worker = self.worker
        now = worker.driver.clock.now()
        if accept_callback is not None:
            accept_callback(worker.pid, now)
        previous = task_join_will_block()
        _set_task_join_will_block(True)
        running = worker.driver._running
        running.append(worker)
        try:
            ret = fast_trace_task(*args, _loc=worker.loc)
        finally:
            running.pop()
            _set_task_join_will_block(previous)
        if callback is not None:
            callback(ret)
        return None

    def terminate_job(self, pid: int, signal: Any = None) -> None:
        """A task runs to completion before anything else happens, so there is nothing to kill."""

    def _get_info(self) -> dict[str, Any]:
        info = super()._get_info()
        info.update({"processes": [self.worker.pid], "max-tasks-per-child": None,
                     "put-guarded-by-semaphore": False, "timeouts": ()})
        return info


class _Tracers(dict):  # type: ignore[type-arg]
    """Task name -> an object with `__trace__`, built on first use for this worker's host name."""

    def __init__(self, worker: "Worker") -> None:
        super().__init__()
        self.worker = worker

    def __missing__(self, name: str) -> Any:
        worker = self.worker
        task = worker.app.tasks[name]
        holder = AttributeDict(__trace__=build_tracer(name, task, worker.app.loader, worker.hostname,
                                                     app=worker.app))
        self[name] = holder
        return holder


class _Strategies(dict):  # type: ignore[type-arg]
    """Task name -> strategy, built on first use (so tasks defined after attach work too)."""

    def __init__(self, worker: "Worker") -> None:
        super().__init__()
        self.worker = worker

    def __missing__(self, name: str) -> Any:
        task = self.worker.app.tasks.get(name)
        if task is None:
            raise KeyError(name)
        strategy = self[name] = task.start_strategy(self.worker.app, self.worker)
        return strategy


class Worker:
    """A simulated worker node: a Celery consumer without threads, sockets or wall clock."""

    # Celery's own consumer logic, borrowed unchanged (see the canary tests).
    create_task_handler = Consumer.create_task_handler
    on_unknown_message = Consumer.on_unknown_message
    on_unknown_task = Consumer.on_unknown_task
    on_invalid_task = Consumer.on_invalid_task
    on_decode_error = Consumer.on_decode_error
    call_soon_ack = Consumer.call_soon_ack
    apply_eta_task = Consumer.apply_eta_task
    _message_report = Consumer._message_report
    _limit_task = Consumer._limit_task
    _limit_post_eta = Consumer._limit_post_eta
    _limit_move_to_pool = Consumer._limit_move_to_pool
    _schedule_bucket_request = Consumer._schedule_bucket_request
    _restore_prefetch_count_after_connection_restart = (
        Consumer._restore_prefetch_count_after_connection_restart)

    hub = None
    event_dispatcher = None
    restart_count = 0
    _maximum_prefetch_restored = True
    disable_rate_limits = True

    def __init__(self, driver: "Driver", hostname: str, queues: list[str], concurrency: int = 1) -> None:
        self.driver = driver
        self.app = driver.app
        self.hostname = hostname
        self.queue_names = list(queues)
        self.concurrency = concurrency
        self.pid = next(_pids)
        self.controller = AttributeDict(state=worker_state, use_eventloop=False)
        self.task_buckets: defaultdict[str, Any] = defaultdict(lambda: None)
        self.on_task_message: set[Any] = set()
        self.due: deque[TimerEntry] = deque()
        self.timer = VirtualTimer(self)
        self.pool = MemqPool(self, concurrency)
        self.strategies = _Strategies(self)
        self.tracers = _Tracers(self)
        accept = prepare_accept_content(self.app.conf.accept_content)
        self.loc = (self.tracers, accept, hostname)
        self.connection: Any = None
        self.conn: Any = None
        self.connection_errors: tuple[type[BaseException], ...] = ()
        self.task_consumer: Any = None
        self.qos: Any = None
        self.pidbox: Any = None
        self.executing = 0
        self._pidbox_channels: tuple[Any, ...] = ()

    def on_task_request(self, request: Any) -> None:
        """Send a request to the pool, as `WorkController._process_task` does."""
        try:
            request.execute_using_pool(self.pool)
        except TaskRevokedError:
            pass

    def start(self) -> None:
        """Connect, set the prefetch window, consume the task queues and the pidbox."""
        app = self.app
        self.connection = app.connection_for_read()
        self.connection.connect()
        self.conn = self.connection.connection
        self.connection_errors = self.connection.connection_errors
        initial = app.conf.worker_prefetch_multiplier * self.concurrency
        qos_global = not self.connection.qos_semantics_matches_spec
        self.connection.default_channel.basic_qos(0, initial, qos_global)
        queues = [app.amqp.queues[name] for name in self.queue_names]
        self.task_consumer = app.amqp.TaskConsumer(self.connection, queues=queues,
                                                   on_decode_error=self.on_decode_error)

        def set_prefetch_count(prefetch_count: int) -> Any:
            return self.task_consumer.qos(prefetch_count=prefetch_count, apply_global=qos_global)

        self.qos = QoS(set_prefetch_count, initial, max_prefetch=app.conf.worker_eta_task_limit)
        self.task_consumer.on_message = self.create_task_handler()
        self.task_consumer.consume()
        if app.conf.worker_enable_remote_control:
            self.pidbox = pidbox.Pidbox(self)
            self.pidbox.start(self)
            self._pidbox_channels = (self.pidbox.node.channel,)

    def stop(self, *, crashed: bool = False) -> None:
        """Leave: a crash drops the connection (the broker requeues what was unacknowledged)."""
        self.timer.clear()
        self.due.clear()
        if self.conn is not None:
            if crashed:
                self.conn.inbox.clear()
            try:
                self.connection.release()
            except Exception:  # noqa: BLE001 - a dead worker leaves no error behind
                pass
        self.connection = self.conn = self.task_consumer = self.pidbox = None

    @property
    def busy(self) -> bool:
        """Whether this worker holds anything it will act on: buffered, due or ETA-held work."""
        conn = self.conn
        return bool((conn is not None and conn.inbox) or self.due or self.timer.entries)

    def step(self) -> bool:
        """Handle one control message, else one due ETA request, else one delivery; returns whether it did."""
        conn = self.conn
        if conn is None:
            return False
        if self.qos is not None and self.qos.prev != self.qos.value:
            self.qos.update()
        if conn.inbox and self._pidbox_channels and conn.dispatch_one(self._pidbox_channels):
            return True
        if self.due:
            entry = self.due.popleft()
            self.timer.forget(entry)
            if not entry.cancelled:
                entry.cancelled = True
                entry.fun(*entry.args, **entry.kwargs)
            return True
        return conn.dispatch_one()

    def __repr__(self) -> str:
        return f"<memq Worker {self.hostname} {self.queue_names}>"
