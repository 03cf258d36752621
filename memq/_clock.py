"""The virtual clock: the only source of time in memq.

Time never moves by itself. `advance()` moves it forward, firing each timer at its own instant;
timers with the same deadline fire in the order they were scheduled (keys are `(deadline, seq)`).
Before each timer and at the end, the clock lets its owner run until idle, so everything that can
happen at an instant happens before time moves on.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

from sortedcontainers import SortedKeyList

from .errors import InvalidArgument

__all__ = ["VirtualClock", "Timer"]


class Timer:
    """A scheduled callback; `cancel()` removes it (a no-op once it has fired)."""

    __slots__ = ("when", "seq", "callback", "args", "_clock", "cancelled", "fired")

    def __init__(
        self, clock: "VirtualClock", when: float, seq: int, callback: Callable[..., Any], args: tuple
    ) -> None:
        self._clock = clock
        self.when = when
        self.seq = seq
        self.callback = callback
        self.args = args
        self.cancelled = False
        self.fired = False

    def cancel(self) -> None:
        """Forget this timer; cancelling twice or after it fired does nothing."""
        if not self.cancelled and not self.fired:
            self.cancelled = True
            self._clock._timers.remove(self)

    def __repr__(self) -> str:
        return f"<Timer at {self.when!r} {getattr(self.callback, '__qualname__', self.callback)}>"


def _timer_key(timer: Timer) -> tuple[float, int]:
    return (timer.when, timer.seq)


class VirtualClock:
    """A clock that moves only when told to.

    Args:
        start: the virtual epoch seconds at creation.
        on_idle: called before each timer fires and after the last, to run what is due now.

    Example:
        >>> clock = VirtualClock(1000.0)
        >>> fired = []
        >>> _ = clock.call_later(5, fired.append, "a")
        >>> clock.advance(10)
        >>> fired, clock.now()
        (['a'], 1010.0)
    """

    def __init__(self, start: float = 0.0, on_idle: Callable[[], Any] | None = None) -> None:
        self._now = float(start)
        self.start = float(start)
        self._timers: SortedKeyList = SortedKeyList(key=_timer_key)
        self._seq = itertools.count()
        self._on_idle = on_idle

    def now(self) -> float:
        """The current virtual time, in epoch seconds."""
        return self._now

    def elapsed(self) -> float:
        """Seconds since the clock's start."""
        return self._now - self.start

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Schedule `callback(*args)` at virtual time `when` (a time in the past fires at the next advance)."""
        timer = Timer(self, float(when), next(self._seq), callback, args)
        self._timers.add(timer)
        return timer

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Schedule `callback(*args)` `delay` seconds from now."""
        if delay < 0:
            raise InvalidArgument(f"delay must not be negative, got {delay!r}")
        return self.call_at(self._now + delay, callback, *args)

    def next_deadline(self) -> float | None:
        """The deadline of the earliest pending timer, or None."""
        return self._timers[0].when if self._timers else None

    def pending(self) -> list[Timer]:
        """The pending timers, earliest first."""
        return list(self._timers)

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, firing due timers in order.

        Raises:
            InvalidArgument: `seconds` is negative (time can't go backwards).
        """
        if seconds < 0:
            raise InvalidArgument(f"time can't go backwards: advance({seconds!r})")
        self.advance_to(self._now + seconds)

    def advance_to(self, when: float) -> None:
        """Move time forward to `when`, firing due timers in order.

        Raises:
            InvalidArgument: `when` is before now.
        """
        if when < self._now:
            raise InvalidArgument(f"time can't go backwards: {when!r} is before {self._now!r}")
        self._idle()
        while self._timers and self._timers[0].when <= when:
            self._fire_next()
            self._idle()
        self._now = float(when)
        self._idle()

    def fire_due(self) -> int:
        """Fire every timer due at or before now, without moving time; returns how many fired."""
        fired = 0
        while self._timers and self._timers[0].when <= self._now:
            self._fire_next()
            fired += 1
        return fired

    def _fire_next(self) -> None:
        timer = self._timers.pop(0)
        timer.fired = True
        if timer.when > self._now:
            self._now = timer.when
        timer.callback(*timer.args)

    def _idle(self) -> None:
        if self._on_idle is not None:
            self._on_idle()
