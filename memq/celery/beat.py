"""Celery beat stepped on the virtual clock.

Mirrors `celery beat`: the stock `Scheduler` decides what is due (so `schedule`, `crontab` with
`app.conf.timezone` and DST, `beat_cron_starting_deadline` behave as in production) and sends
through the real `apply_async`. Differs on purpose: no 10 ms drift in `adjust`, entries due at the
same instant are sent in name order (Celery orders them by `id()`), beat wakes only when an entry
is due (not every 5 minutes), and nothing is synced to disk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery.beat import ScheduleEntry, Scheduler

if TYPE_CHECKING:
    from ._driver import Driver

__all__ = ["MemqScheduler", "NamedEntry", "Beat"]


class NamedEntry(ScheduleEntry):
    """A schedule entry that sorts by name, so ties are deterministic."""

    def __lt__(self, other: Any) -> bool:
        if isinstance(other, ScheduleEntry):
            return (self.name or "") < (other.name or "")
        return NotImplemented


class MemqScheduler(Scheduler):
    """The stock scheduler without drift and without persistence."""

    Entry = NamedEntry

    #: Celery re-checks every 5 minutes in case the clock jumps; virtual time never jumps unseen,
    #: so beat sleeps until the next entry is due (`beat_max_loop_interval` still overrides this).
    max_interval = 365 * 86400

    def adjust(self, n: Any, drift: float = 0.0) -> Any:
        """No drift: the next tick lands exactly when the next entry is due."""
        return n

    def sync(self) -> None:
        """Nothing to persist."""

    def should_sync(self) -> bool:
        """Never: there is no schedule file."""
        return False


class Beat:
    """Ticks a `MemqScheduler` from a timer on the virtual clock, as `celery beat`'s service loop does."""

    def __init__(self, driver: "Driver", scheduler_cls: type[MemqScheduler] = MemqScheduler) -> None:
        self.driver = driver
        self.scheduler = scheduler_cls(driver.app, max_interval=None, lazy=False)
        self._timer: Any = driver.clock.call_at(driver.clock.now(), self._tick)

    def _tick(self) -> None:
        scheduler = self.scheduler
        for _ in range(10_000):
            delay = scheduler.tick()
            if delay and delay > 0:
                break
        self._timer = self.driver.clock.call_later(max(delay, 0.0), self._tick)

    def stop(self) -> None:
        """Cancel the next tick and release the scheduler's connection."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            self.scheduler.close()
        except Exception:  # noqa: BLE001 - closing a finished simulation must not fail a test
            pass
