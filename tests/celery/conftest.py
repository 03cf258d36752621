"""An app with the course notes' tasks, attached to this test's memq broker."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from celery_notes import START, make_app


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


@pytest.fixture
def notes() -> SimpleNamespace:
    """The app and its tasks."""
    return make_app()


@pytest.fixture
def driver(memq_celery: Any, notes: SimpleNamespace) -> Any:
    """The notes app attached with one default worker."""
    return memq_celery(notes.app)
