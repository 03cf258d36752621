"""Signatures, partials, chains, groups and chords, run by the simulated worker."""

from __future__ import annotations

from typing import Any

import pytest
from celery import chain, chord, group, signature


def test_signature_delay(driver: Any, notes: Any) -> None:
    """add.s(2, 2).delay() runs the task."""
    assert notes.add.s(2, 2).delay().get(timeout=1) == 4


def test_signature_by_name(driver: Any, notes: Any) -> None:
    """A signature built from the task name works too."""
    sig = signature("notes.add", args=(3, 4), app=notes.app)
    assert sig.apply_async().get(timeout=1) == 7


def test_partial_signature(driver: Any, notes: Any) -> None:
    """A partial gets the rest of its arguments at call time."""
    partial = notes.add.s(2)
    assert partial.delay(3).get(timeout=1) == 5


def test_immutable_signature_ignores_parent_result(driver: Any, notes: Any) -> None:
    """si() does not receive the previous result in a chain."""
    result = (notes.add.s(1, 1) | notes.add.si(10, 10))()
    assert result.get(timeout=1) == 20
    assert result.parent.get(timeout=1) == 2


def test_chain_with_pipe(driver: Any, notes: Any) -> None:
    """(add.s(2, 2) | add.s(4) | add.s(8))() gives 16."""
    result = (notes.add.s(2, 2) | notes.add.s(4) | notes.add.s(8))()
    assert result.get(timeout=1) == 16
    assert [r.state for r in driver.tasks] == ["SUCCESS"] * 3


def test_chain_function(driver: Any, notes: Any) -> None:
    """chain(...) is the same as piping."""
    result = chain(notes.add.s(4, 4), notes.mul.s(8), notes.mul.s(10)).apply_async()
    assert result.get(timeout=1) == 640


def test_chain_failure_stops_and_propagates(driver: Any, notes: Any) -> None:
    """A failing link stops the chain and get() on the last result raises its error."""
    result = (notes.add.s(1, 1) | notes.fail.si("broken") | notes.add.s(1))()
    with pytest.raises(ValueError, match="broken"):
        result.get(timeout=1)
    assert [r.name for r in driver.tasks] == ["notes.add", "notes.fail"]


def test_chain_with_countdown_steps(driver: Any, notes: Any) -> None:
    """Each step's own countdown applies when the previous step publishes it."""
    start = driver.clock.now()
    result = (notes.add.s(1, 1) | notes.add.s(1).set(countdown=60))()
    assert result.get(timeout=120) == 3
    assert driver.tasks[1].started == start + 60


def test_group_get(driver: Any, notes: Any) -> None:
    """A group returns the results in order."""
    result = group(notes.add.s(i, i) for i in range(10))()
    assert result.get(timeout=1) == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]


def test_group_states(driver: Any, notes: Any) -> None:
    """successful(), failed(), waiting(), ready() and completed_count() follow the members."""
    result = group(notes.add.s(1, 1), notes.add.s(2, 2).set(countdown=30))()
    assert result.waiting() and not result.ready() and result.completed_count() == 0
    driver.advance(1)
    assert result.completed_count() == 1 and result.waiting()
    driver.advance(30)
    assert result.ready() and result.successful() and not result.failed()
    assert result.completed_count() == 2


def test_group_with_failure(driver: Any, notes: Any) -> None:
    """A failing member makes failed() true; get() raises unless propagate=False."""
    result = group(notes.add.s(1, 1), notes.fail.s())()
    driver.run_until_idle()
    assert result.failed() and not result.successful()
    with pytest.raises(ValueError):
        result.get(timeout=1)
    values = result.get(timeout=1, propagate=False)
    assert values[0] == 2 and isinstance(values[1], ValueError)


def test_group_join(driver: Any, notes: Any) -> None:
    """join() waits for every member, running the simulation."""
    result = group(notes.mul.s(i, 2).set(countdown=i) for i in range(5))()
    assert result.join(timeout=10) == [0, 2, 4, 6, 8]


def test_group_revoke(driver: Any, notes: Any) -> None:
    """revoke() on a group revokes every member still waiting."""
    result = group(notes.add.s(i, i).set(countdown=60) for i in range(3))()
    driver.advance(1)
    result.revoke()
    driver.run_until_idle()
    assert [r.state for r in result.results] == ["REVOKED"] * 3


def test_group_timeout_is_virtual(driver: Any, notes: Any) -> None:
    """GroupResult.get(timeout=) times out on virtual time."""
    from celery.exceptions import TimeoutError as CeleryTimeoutError

    result = group(notes.add.s(1, 1), notes.add.s(1, 1).set(countdown=100))()
    start = driver.clock.now()
    with pytest.raises(CeleryTimeoutError):
        result.get(timeout=5)
    assert driver.clock.now() == start + 5


def test_chord(driver: Any, notes: Any) -> None:
    """chord(header)(body) calls the body with the header's results."""
    result = chord(notes.add.s(i, i) for i in range(10))(notes.tsum.s())
    assert result.get(timeout=1) == 90


def test_chord_counts_parts_without_polling(driver: Any, notes: Any) -> None:
    """The memq backend counts chord parts (no celery.chord_unlock task is sent)."""
    chord([notes.add.s(1, 1), notes.add.s(2, 2)], notes.tsum.s()).delay().get(timeout=1)
    assert "celery.chord_unlock" not in [r.name for r in driver.tasks]


def test_chord_with_failing_header(driver: Any, notes: Any) -> None:
    """A failing header part makes the chord fail with a ChordError."""
    from celery.exceptions import ChordError

    result = chord([notes.add.s(1, 1), notes.fail.s()], notes.tsum.s())()
    with pytest.raises(ChordError):
        result.get(timeout=1)


def test_chain_of_groups_and_chords(driver: Any, notes: Any) -> None:
    """group | task is a chord; it composes with further links."""
    workflow = group(notes.add.s(1, 1), notes.add.s(2, 2)) | notes.tsum.s() | notes.mul.s(10)
    assert workflow().get(timeout=1) == 60
