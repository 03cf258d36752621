"""The few Celery module globals that read the wall clock or the global RNG, pointed at the simulation.

Mirrors what a worker reads, minus the real clock: each patched name answers from the innermost
attached driver (its broker's clock and seeded RNG). The patches are installed by the first
`attach()` and removed by the last `detach()`; the canary tests pin every name used here.
"""

from __future__ import annotations

import random as _random
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING, Any

import celery.utils.time as celery_time
import celery.worker.request as celery_request
import celery.worker.strategy as celery_strategy

if TYPE_CHECKING:
    from ._driver import Driver

__all__ = ["install", "uninstall", "active", "current"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

#: The attached drivers, innermost last.
active: list["Driver"] = []
_saved: dict[tuple[Any, str], Any] = {}


def current() -> "Driver":
    """The innermost attached driver."""
    return active[-1]


class _VirtualDatetime(datetime):
    """`datetime` whose `now()`/`utcnow()` read the virtual clock (for `Request.maybe_expire`)."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Any:  # type: ignore[override]
        seconds = current().clock.now()
        if tz is None:
            return datetime.fromtimestamp(seconds)
        return datetime.fromtimestamp(seconds, tz)

    @classmethod
    def utcnow(cls) -> Any:  # type: ignore[override]
        return datetime.fromtimestamp(current().clock.now(), timezone.utc).replace(tzinfo=None)


def _virtual_time() -> float:
    return current().clock.now()


def _to_timestamp(d: Any, default_timezone: tzinfo = timezone.utc, time: Any = None) -> Any:
    """Virtual epoch seconds of an ETA (kombu's version maps it onto the real monotonic clock)."""
    if isinstance(d, datetime):
        if d.tzinfo is None:
            d = d.replace(tzinfo=default_timezone)
        return (d - _EPOCH).total_seconds()
    return d


class _SeededRandom:
    """Module-like proxy to the innermost broker's seeded `random.Random`."""

    def __getattr__(self, name: str) -> Any:
        rng = current().broker.rng if active else _random
        return getattr(rng, name)


_PATCHES: tuple[tuple[Any, str, Any], ...] = (
    (celery_request, "datetime", _VirtualDatetime),
    (celery_request, "time", _virtual_time),
    (celery_request, "monotonic", _virtual_time),
    (celery_strategy, "to_timestamp", _to_timestamp),
    (celery_time, "random", _SeededRandom()),
)


def install(driver: "Driver") -> None:
    """Make `driver` the innermost one, patching the module globals on first use."""
    if not active:
        for module, name, value in _PATCHES:
            _saved[(module, name)] = getattr(module, name)
            setattr(module, name, value)
    active.append(driver)


def uninstall(driver: "Driver") -> None:
    """Forget `driver`; the last one out restores the module globals."""
    if driver in active:
        active.remove(driver)
    if not active:
        for (module, name), value in _saved.items():
            setattr(module, name, value)
        _saved.clear()
