"""The driver's contract: attach/detach, determinism, the fixture, and Stalled diagnostics."""

from __future__ import annotations

from typing import Any

import pytest

import memq
import memq.celery
from celery_notes import START, make_app


def scenario(seed: int) -> str:
    """A mixed workload; returns the ledger table."""
    notes = make_app(worker_prefetch_multiplier=1)
    with memq.celery.attach(notes.app, memq.Broker(seed=seed, start=START),
                            workers={"a": ["celery"], "b": ["celery"]}) as driver:
        from celery import chord, group

        group(notes.add.s(i, i).set(countdown=i % 3) for i in range(8))()
        chord([notes.mul.s(2, 3), notes.add.s(1, 1)], notes.tsum.s()).delay()
        notes.fail.apply_async(countdown=5)
        driver.run_until_idle()
        return "\n".join(f"{r.name} {r.state} {r.worker} {r.started} {r.result!r}" for r in driver.tasks)


def test_same_seed_same_history() -> None:
    """Running one scenario twice gives identical task histories."""
    assert scenario(3) == scenario(3)


def test_detach_restores_app() -> None:
    """detach() gives the app back its broker URL, backend and real now()."""
    notes = make_app(broker_url="amqp://guest@example//")
    before_url, before_now = notes.app.conf.broker_url, notes.app.now
    driver = memq.celery.attach(notes.app)
    assert notes.app.conf.broker_url.startswith("memq://")
    assert isinstance(notes.app.backend, memq.celery.MemqBackend)
    driver.detach()
    assert notes.app.conf.broker_url == before_url
    assert notes.app.now == before_now
    assert not isinstance(notes.app.backend, memq.celery.MemqBackend)


def test_attach_twice_is_refused() -> None:
    """An app can be attached once at a time."""
    notes = make_app()
    with memq.celery.attach(notes.app):
        with pytest.raises(memq.errors.InvalidArgument):
            memq.celery.attach(notes.app)


def test_get_with_nothing_to_run_stalls() -> None:
    """get() without timeout on a task no worker consumes raises Stalled, naming what waits."""
    notes = make_app(task_routes={"notes.add": {"queue": "nobody"}})
    with memq.celery.attach(notes.app, memq.Broker(start=START)):
        result = notes.add.delay(1, 1)
        with pytest.raises(memq.Stalled, match=result.id):
            result.get()


def test_five_hundred_tasks_all_run(driver: Any, notes: Any) -> None:
    """Five hundred queued tasks all run through publish, worker, tracer and backend (speed: benchmarks/)."""
    results = [notes.add.delay(i, i) for i in range(500)]
    driver.run_until_idle()
    assert [r.get() for r in results] == [2 * i for i in range(500)]
