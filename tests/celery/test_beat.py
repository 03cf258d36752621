"""Beat on the virtual clock: intervals, crontab in a local timezone across DST, long runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab

from celery_notes import make_app


def test_every_five_seconds(memq_celery: Any) -> None:
    """An entry every 5 seconds runs 12 times in a virtual minute."""
    notes = make_app(beat_schedule={"tick": {"task": "notes.add", "schedule": 5.0, "args": (1, 1)}})
    driver = memq_celery(notes.app, beat=True)
    start = driver.clock.now()
    driver.advance(60)
    runs = driver.tasks.named("notes.add")
    assert len(runs) == 12
    assert [r.started - start for r in runs] == [5.0 * i for i in range(1, 13)]
    assert all(r.state == "SUCCESS" for r in runs)


def test_beat_entries_do_not_count_as_pending(memq_celery: Any) -> None:
    """run_until_idle() returns once tasks are done, even with beat entries scheduled."""
    notes = make_app(beat_schedule={"tick": {"task": "notes.add", "schedule": 5.0, "args": (1, 1)}})
    driver = memq_celery(notes.app, beat=True)
    start = driver.clock.now()
    notes.add.apply_async((2, 2), countdown=12)
    driver.run_until_idle()
    assert driver.clock.now() == start + 12
    assert len(driver.tasks.named("notes.add")) == 3


@pytest.mark.memq(start=datetime(2031, 3, 17, 0, 0, tzinfo=timezone.utc))
def test_monday_crontab_in_madrid_across_dst(memq_celery: Any) -> None:
    """A Monday 7:30 crontab in Europe/Madrid fires at 7:30 local time every week, DST included."""
    notes = make_app(timezone="Europe/Madrid", beat_schedule={
        "weekly": {"task": "notes.add", "schedule": crontab(hour=7, minute=30, day_of_week="mon"),
                   "args": (0, 0)}})
    driver = memq_celery(notes.app, beat=True)
    driver.advance(timedelta(weeks=4))
    madrid = ZoneInfo("Europe/Madrid")
    fired = [datetime.fromtimestamp(r.started, madrid) for r in driver.tasks.named("notes.add")]
    assert [(d.date().isoformat(), d.hour, d.minute) for d in fired] == [
        ("2031-03-17", 7, 30), ("2031-03-24", 7, 30), ("2031-03-31", 7, 30), ("2031-04-07", 7, 30)]
    utc_hours = [datetime.fromtimestamp(r.started, timezone.utc).hour for r in driver.tasks]
    assert utc_hours == [6, 6, 5, 5]  # CET until 2031-03-30, CEST after


def test_hourly_entry_runs_720_times_in_thirty_days(memq_celery: Any) -> None:
    """An hourly crontab entry runs 720 times over 30 virtual days (its cost is measured in benchmarks/)."""
    notes = make_app(beat_schedule={"hourly": {"task": "notes.add", "schedule": crontab(minute=0),
                                               "args": (1, 2)}})
    driver = memq_celery(notes.app, beat=True)
    driver.advance(timedelta(days=30))
    assert len(driver.tasks.named("notes.add")) == 720


def test_ties_are_sent_in_name_order(memq_celery: Any) -> None:
    """Entries due at the same instant are sent in name order, every run."""
    schedule = {name: {"task": "notes.add", "schedule": 10.0, "args": (i, 0)}
                for i, name in enumerate(["charlie", "alpha", "bravo"])}
    notes = make_app(beat_schedule=schedule)
    driver = memq_celery(notes.app, beat=True)
    driver.advance(30)
    assert [r.args[0] for r in driver.tasks] == [1, 2, 0] * 3


def test_beat_sends_through_routing(memq_celery: Any) -> None:
    """Beat's sends obey task_routes like any apply_async."""
    notes = make_app(task_routes={"notes.mul": {"queue": "math"}}, beat_schedule={
        "m": {"task": "notes.mul", "schedule": 60.0, "args": (2, 3)}})
    driver = memq_celery(notes.app, workers={"w": ["celery"], "m": ["math"]}, beat=True)
    driver.advance(120)
    assert [(r.worker, r.result) for r in driver.tasks] == [("m@memq", 6)] * 2
