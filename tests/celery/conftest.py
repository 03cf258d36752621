"""An app with the course notes' tasks, attached to this test's memq broker."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any, Iterator

import celery
import pytest

#: Virtual origin of these tests: Monday 2031-03-03 09:00 UTC (a round number keeps times exact).
START = datetime(2031, 3, 3, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def memq_broker(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The plugin's broker, starting at `START` unless a `memq` marker says otherwise."""
    import memq

    kwargs: dict[str, Any] = {"seed": request.config.getoption("--memq-seed"), "start": START}
    marker = request.node.get_closest_marker("memq")
    if marker is not None:
        kwargs.update(marker.kwargs)
    broker = memq.Broker(**kwargs)
    yield broker
    broker.check_invariants()


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


@pytest.fixture
def notes() -> SimpleNamespace:
    """The app and its tasks."""
    return make_app()


@pytest.fixture
def driver(memq_celery: Any, notes: SimpleNamespace) -> Any:
    """The notes app attached with one default worker."""
    return memq_celery(notes.app)
