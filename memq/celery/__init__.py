"""Celery on memq: workers, result backend and beat running in the test's own thread, on virtual time.

Example:
    >>> import celery, memq.celery
    >>> app = celery.Celery("demo")
    >>> @app.task
    ... def add(x, y):
    ...     return x + y
    >>> with memq.celery.attach(app) as driver:
    ...     add.delay(5, 2).get(timeout=1)
    7

The driver goes through Celery's own worker code: the consumer's task handler and strategies,
`Request`, the tracer, the pidbox and the beat scheduler. See docs/celery.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import celery.app.backends

from ._driver import Driver, driver_for_app
from ._ledger import TaskLedger, TaskRecord
from ._worker import WorkerCrashed
from .backend import MemqBackend
from .beat import MemqScheduler

if TYPE_CHECKING:
    import memq

__all__ = [
    "attach",
    "Driver",
    "TaskLedger",
    "TaskRecord",
    "WorkerCrashed",
    "MemqBackend",
    "MemqScheduler",
    "driver_for_app",
]

celery.app.backends.BACKEND_ALIASES.setdefault("memq", "memq.celery.backend:MemqBackend")


def attach(app: Any, broker: "memq.Broker | None" = None, *, workers: dict[str, list[str]] | None = None,
           beat: bool | type[MemqScheduler] = False) -> Driver:
    """Point a Celery app at a memq broker and return the driver that runs its workers.

    Args:
        app: the Celery app; its broker URL, result backend and `now()` are replaced until `detach()`.
        broker: the broker to use; default: a fresh `memq.Broker()`.
        workers: worker name -> queue names it consumes; default: one worker, "celery@memq",
            consuming what `celery worker` would without `-Q`.
        beat: run beat (True, or a `MemqScheduler` subclass) on the virtual clock.

    Example:
        >>> driver = attach(app)                            # doctest: +SKIP
        >>> add.apply_async((1, 2), countdown=3600)         # doctest: +SKIP
        >>> driver.run_until_idle()                         # an hour passes, instantly  # doctest: +SKIP
        >>> driver.detach()                                 # doctest: +SKIP
    """
    if broker is None:
        import memq

        broker = memq.Broker()
    return Driver(app, broker, workers, beat).attach()
