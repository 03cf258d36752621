"""The tour (the README's first command) runs every scene and prints what happened."""

from __future__ import annotations

import io

import pytest

from memq._tour import SCENES, main


@pytest.fixture(scope="module")
def tour_output() -> str:
    out = io.StringIO()
    assert main([], out=out) == 0
    return out.getvalue()


def test_tour_runs_every_scene(tour_output: str) -> None:
    """Each scene is announced with its number."""
    for index, (title, _) in enumerate(SCENES, 1):
        assert f"[{index}/{len(SCENES)}] {title}:" in tour_output


def test_tour_pika_scenes_print_what_the_broker_saw(tour_output: str) -> None:
    """The pika scenes print the tutorials' output and the broker's view of each message."""
    assert " [x] Received b'Hello World!'" in tour_output
    assert " [.] Got 55" in tour_output
    assert "drop     #4   unroutable at topic_logs" in tour_output
    assert " [kern.*] kern.info:b'A kern.info message'" in tour_output
    assert " [*.critical] kern.info" not in tour_output


def test_tour_work_queue_is_fair_dispatch_on_virtual_time(tour_output: str) -> None:
    """With prefetch 1, the idle worker takes the next task; acks land at virtual seconds 1, 3, 6, 10, 15."""
    for second in ("1.000s  ack      #1", "3.000s  ack      #2", "6.000s  ack      #3",
                   "10.000s  ack      #4", "15.000s  ack      #5"):
        assert second in tour_output


def test_tour_celery_scene_runs_canvas_retries_and_a_week_of_beat(tour_output: str) -> None:
    """Celery results, retries and a simulated week of beat show in the output."""
    assert "add.delay(5, 2).get(timeout=1) = 7" in tour_output
    assert "chord(add.s(i, i) for i in range(5))(xsum.s()).get() = 20" in tour_output
    assert "'ok after 2 retries'" in tour_output
    assert "168 hourly pings, Monday 7:30 Madrid report at ['2031-03-10T07:30:00+01:00']" in tour_output
