"""The course notes' Celery tasks, as a fresh app per test (shared by the tests of this folder)."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import celery

#: Virtual origin of these tests: Monday 2031-03-03 09:00 UTC (a round number keeps times exact).
START = datetime(2031, 3, 3, 9, 0, tzinfo=timezone.utc)



def make_app(**conf: Any) -> SimpleNamespace:
    """A fresh Celery app and its tasks (nothing is shared between tests)."""
    app = celery.Celery("notes", set_as_current=False)
    app.conf.update(conf)

    @app.task(shared=False, name="notes.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(shared=False, name="notes.mul")
    def mul(x: int, y: int) -> int:
        return x * y

    @app.task(shared=False, name="notes.tsum")
    def tsum(numbers: list[int]) -> int:
        return sum(numbers)

    @app.task(shared=False, name="notes.fail")
    def fail(message: str = "boom") -> None:
        raise ValueError(message)

    return SimpleNamespace(app=app, add=add, mul=mul, tsum=tsum, fail=fail)
