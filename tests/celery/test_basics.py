"""The course notes' first examples: delay, get, countdown, eta, expires, states, revoke."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from celery import states
from celery.exceptions import TaskRevokedError, TimeoutError as CeleryTimeoutError
from kombu.exceptions import EncodeError


def test_delay_get_returns_result(driver: Any, notes: Any) -> None:
    """`add.delay(5, 2).get(timeout=1)` is 7."""
    assert notes.add.delay(5, 2).get(timeout=1) == 7


def test_delay_never_runs_inline(driver: Any, notes: Any) -> None:
    """delay() only publishes; the task runs when the simulation runs."""
    result = notes.add.delay(1, 1)
    assert result.state == states.PENDING and not result.ready()
    assert driver.tasks.get(result.id).state == "PENDING"
    driver.run_until_idle()
    assert result.ready() and result.successful() and result.result == 2


def test_countdown_runs_after_virtual_delay(driver: Any, notes: Any) -> None:
    """countdown=10 runs the task ten virtual seconds after it was sent."""
    start = driver.clock.now()
    result = notes.add.apply_async((2, 3), countdown=10)
    driver.advance(9)
    assert not result.ready()
    assert result.get(timeout=5) == 5
    record = driver.tasks.get(result.id)
    assert record.received == start and record.started == start + 10


def test_countdown_one_hour_is_instant(driver: Any, notes: Any) -> None:
    """A countdown of an hour costs no wall time."""
    result = notes.add.apply_async((1, 2), countdown=3600)
    driver.run_until_idle()
    assert result.get() == 3
    assert driver.tasks.get(result.id).started == driver.tasks.get(result.id).published + 3600


def test_eta_runs_at_eta(driver: Any, notes: Any) -> None:
    """eta= runs the task at that virtual instant."""
    eta = driver.now() + timedelta(minutes=30)
    result = notes.add.apply_async((4, 4), eta=eta)
    assert result.get(timeout=3600) == 8
    started = driver.tasks.get(result.id).started
    assert started == pytest.approx(eta.timestamp(), abs=1e-6)


def test_get_times_out_on_virtual_time(driver: Any, notes: Any) -> None:
    """get(timeout=) raises Celery's TimeoutError after that many virtual seconds."""
    result = notes.add.apply_async((1, 1), countdown=60)
    start = driver.clock.now()
    with pytest.raises(CeleryTimeoutError):
        result.get(timeout=10)
    assert driver.clock.now() == start + 10
    assert result.get(timeout=60) == 2


def test_expires_before_eta_is_revoked_by_worker(driver: Any, notes: Any) -> None:
    """A task delivered in time but expired when its ETA comes is marked REVOKED by the worker."""
    result = notes.add.apply_async((1, 1), countdown=10, expires=5)
    driver.run_until_idle()
    assert result.state == states.REVOKED
    with pytest.raises(TaskRevokedError):
        result.get(timeout=1)


def test_expires_drops_task_still_queued(memq_celery: Any, notes: Any) -> None:
    """expires= is also a broker TTL: a task still in its queue when it expires vanishes, PENDING."""
    notes.app.conf.task_routes = {"notes.add": {"queue": "later"}}
    driver = memq_celery(notes.app, workers={"w1": ["celery"]})
    result = notes.add.apply_async((1, 1), expires=5)
    driver.advance(6)
    driver.add_worker("w2", ["later"])
    with pytest.raises(CeleryTimeoutError):
        result.get(timeout=30)
    assert result.state == states.PENDING
    assert driver.tasks.get(result.id).received is None


def test_expires_in_time_runs(driver: Any, notes: Any) -> None:
    """A task run before it expires succeeds."""
    assert notes.add.apply_async((3, 3), expires=60).get(timeout=1) == 6


def test_successful_failed_ready(driver: Any, notes: Any) -> None:
    """successful(), failed() and ready() follow the task's outcome."""
    ok, bad = notes.add.delay(1, 2), notes.fail.delay()
    driver.run_until_idle()
    assert ok.ready() and ok.successful() and not ok.failed()
    assert bad.ready() and bad.failed() and not bad.successful()
    with pytest.raises(ValueError, match="boom"):
        bad.get(timeout=1)
    assert isinstance(bad.get(propagate=False), ValueError)


def test_revoke_before_it_runs(driver: Any, notes: Any) -> None:
    """revoke() goes through the control channel; the worker then discards the task."""
    result = notes.add.delay(1, 2)
    result.revoke()
    driver.run_until_idle()
    assert result.state == states.REVOKED
    assert driver.tasks.get(result.id).started is None


def test_revoke_scheduled_task(driver: Any, notes: Any) -> None:
    """Revoking a task waiting for its countdown discards it when the ETA comes."""
    result = notes.add.apply_async((1, 2), countdown=100)
    driver.advance(1)
    result.revoke()
    driver.run_until_idle()
    assert result.state == states.REVOKED


def test_unserializable_arguments_fail_at_delay(driver: Any, notes: Any) -> None:
    """Arguments are really serialized: an object JSON can't encode fails in delay()."""
    with pytest.raises(EncodeError):
        notes.add.delay(object(), 1)
    assert len(driver.tasks) == 0


def test_arguments_round_trip_through_json(driver: Any, notes: Any) -> None:
    """The task sees what JSON gives back (tuples become lists)."""
    result = notes.tsum.delay((1, 2, 3))
    assert result.get(timeout=1) == 6
    assert driver.tasks.get(result.id).args == ([1, 2, 3],)


def test_app_now_is_virtual(driver: Any, notes: Any) -> None:
    """app.now() follows the virtual clock, in the app's timezone."""
    before = notes.app.now()
    driver.advance(timedelta(days=2))
    assert notes.app.now() - before == timedelta(days=2)
    assert notes.app.now().tzinfo is not None


def test_date_done_is_virtual(driver: Any, notes: Any) -> None:
    """The stored date_done is the virtual finish time."""
    result = notes.add.apply_async((1, 1), countdown=7200)
    driver.run_until_idle()
    done = result.date_done
    expected = datetime.fromtimestamp(driver.clock.now(), timezone.utc)
    assert abs((done.replace(tzinfo=timezone.utc) if done.tzinfo is None else done) - expected) < timedelta(seconds=1)


def test_ledger_table_lists_every_task(driver: Any, notes: Any) -> None:
    """driver.tasks has one record per task, printable as a table."""
    notes.add.delay(1, 2)
    notes.fail.delay()
    driver.run_until_idle()
    names = [r.name for r in driver.tasks]
    assert names == ["notes.add", "notes.fail"]
    assert [r.state for r in driver.tasks] == ["SUCCESS", "FAILURE"]
    text = str(driver.tasks)
    assert "notes.add" in text and "SUCCESS" in text and "FAILURE" in text
    assert driver.tasks[0].worker == "celery@memq" and driver.tasks[0].result == 3
