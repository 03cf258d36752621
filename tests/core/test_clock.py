"""VirtualClock: ordering, ties, negative advance, cancel, advance_to, and the broker's use of it."""

from __future__ import annotations

import datetime

import pytest

import memq
from memq import VirtualClock, errors


def test_clock_starts_at_given_time_and_stays():
    """A new clock reads its start time and does not move by itself."""
    clock = VirtualClock(1000.0)
    assert clock.now() == 1000.0 and clock.now() == 1000.0 and clock.elapsed() == 0


def test_timers_fire_in_deadline_order():
    """Timers fire in deadline order whatever order they were scheduled in."""
    clock, fired = VirtualClock(0), []
    for delay in (3, 1, 2):
        clock.call_later(delay, fired.append, delay)
    clock.advance(10)
    assert fired == [1, 2, 3]


def test_timers_with_same_deadline_fire_in_insertion_order():
    """Ties resolve in the order the timers were scheduled."""
    clock, fired = VirtualClock(0), []
    for name in "abcde":
        clock.call_at(5, fired.append, name)
    clock.advance(5)
    assert fired == list("abcde")


def test_timer_sees_its_own_deadline_as_now():
    """Each timer fires with the clock at its own deadline, not at the end of the advance."""
    clock, seen = VirtualClock(100), []
    clock.call_later(1, lambda: seen.append(clock.now()))
    clock.call_later(2.5, lambda: seen.append(clock.now()))
    clock.advance(10)
    assert seen == [101, 102.5] and clock.now() == 110


def test_timer_at_exact_end_of_advance_fires():
    """A timer due exactly at the end of an advance fires in that advance."""
    clock, fired = VirtualClock(0), []
    clock.call_later(2, fired.append, "x")
    clock.advance(1.999)
    assert fired == []
    clock.advance(0.001)
    assert fired == ["x"]


def test_negative_advance_is_invalid_argument():
    """Time can't go backwards: advance(-1) raises InvalidArgument (a ValueError) and moves nothing."""
    clock = VirtualClock(5)
    with pytest.raises(errors.InvalidArgument):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.advance_to(4)
    assert clock.now() == 5


def test_negative_delay_is_invalid_argument():
    """call_later with a negative delay raises InvalidArgument."""
    with pytest.raises(errors.InvalidArgument):
        VirtualClock(0).call_later(-0.1, print)


def test_cancelled_timer_does_not_fire():
    """A cancelled timer never fires; cancelling twice or after firing does nothing."""
    clock, fired = VirtualClock(0), []
    timer = clock.call_later(1, fired.append, "cancelled")
    kept = clock.call_later(1, fired.append, "kept")
    timer.cancel()
    timer.cancel()
    clock.advance(2)
    kept.cancel()
    assert fired == ["kept"] and clock.pending() == []


def test_timer_scheduled_by_timer_fires_in_same_advance():
    """A timer scheduled by a firing timer, due within the advance, fires in it at its own time."""
    clock, seen = VirtualClock(0), []

    def first():
        seen.append(("first", clock.now()))
        clock.call_later(1, lambda: seen.append(("second", clock.now())))

    clock.call_later(1, first)
    clock.advance(5)
    assert seen == [("first", 1), ("second", 2)]


def test_timer_in_past_fires_at_next_advance():
    """A timer scheduled at a time already past fires at the next advance, even advance(0)."""
    clock, fired = VirtualClock(10), []
    clock.call_at(3, fired.append, "late")
    assert fired == []
    clock.advance(0)
    assert fired == ["late"] and clock.now() == 10


def test_next_deadline_tracks_earliest_live_timer():
    """next_deadline gives the earliest pending timer, skipping cancelled ones, or None."""
    clock = VirtualClock(0)
    assert clock.next_deadline() is None
    early = clock.call_at(2, print)
    clock.call_at(7, print)
    assert clock.next_deadline() == 2
    early.cancel()
    assert clock.next_deadline() == 7


def test_advance_to_moves_to_absolute_time():
    """advance_to(when) fires the timers up to `when` and sets now to it."""
    clock, fired = VirtualClock(100), []
    clock.call_at(150, fired.append, 150)
    clock.advance_to(200)
    assert fired == [150] and clock.now() == 200


def test_fire_due_fires_without_moving_time():
    """fire_due fires the timers due now and returns how many, without moving time."""
    clock, fired = VirtualClock(5), []
    clock.call_at(5, fired.append, "a")
    clock.call_at(6, fired.append, "b")
    assert clock.fire_due() == 1 and fired == ["a"] and clock.now() == 5


def test_on_idle_runs_before_each_timer_and_at_end():
    """The idle hook runs before each timer fires and once more at the end of an advance."""
    log: list[str] = []
    clock = VirtualClock(0, on_idle=lambda: log.append("idle"))
    clock.call_later(1, log.append, "t1")
    clock.call_later(2, log.append, "t2")
    clock.advance(3)
    assert [log[log.index(t) - 1] for t in ("t1", "t2")] == ["idle", "idle"] and log[-1] == "idle"
    assert [entry for entry in log if entry != "idle"] == ["t1", "t2"]


def test_broker_start_accepts_aware_datetime_and_epoch():
    """Broker(start=...) takes epoch seconds or an aware datetime for the virtual origin."""
    moment = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert memq.Broker(start=moment).clock.now() == moment.timestamp()
    assert memq.Broker(start=42).clock.now() == 42.0


def test_broker_start_naive_datetime_is_invalid_argument():
    """A naive datetime start is refused: the origin must be unambiguous."""
    with pytest.raises(errors.InvalidArgument):
        memq.Broker(start=datetime.datetime(2024, 1, 1))


def test_broker_clock_delivers_before_each_timer(ch, broker):
    """During an advance, deliveries made possible at one instant happen before the next timer fires."""
    ch.queue_declare("q", arguments={"x-message-ttl": 1000})
    seen = []
    ch.basic_publish("", "q", b"m")
    broker.clock.call_later(0.5, lambda: ch.basic_consume("q", lambda *a: seen.append(broker.clock.now())))
    broker.clock.advance(5)
    assert seen == [0.5]
