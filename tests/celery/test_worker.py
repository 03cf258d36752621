"""Retries, routing to several workers, lost workers, unknown tasks, and joins inside tasks."""

from __future__ import annotations

from typing import Any

import pytest
from celery import states
from celery.exceptions import NotRegistered

from celery_notes import make_app


def test_retry_with_countdown(driver: Any, notes: Any) -> None:
    """self.retry(countdown=5) runs the task again five virtual seconds later."""
    attempts: list[float] = []

    @notes.app.task(bind=True, shared=False, name="notes.flaky", max_retries=3)
    def flaky(self: Any) -> str:
        attempts.append(driver.clock.now())
        if len(attempts) < 3:
            raise self.retry(countdown=5)
        return "ok"

    result = flaky.delay()
    assert result.get(timeout=60) == "ok"
    assert [t - attempts[0] for t in attempts] == [0, 5, 10]
    assert driver.tasks.get(result.id).retries == 2


def test_autoretry_exponential_backoff(driver: Any, notes: Any) -> None:
    """retry_backoff doubles the virtual wait: 1, 2, 4 seconds."""
    attempts: list[float] = []

    @notes.app.task(bind=True, shared=False, name="notes.backoff", autoretry_for=(KeyError,),
                    retry_backoff=True, retry_jitter=False, max_retries=5)
    def backoff(self: Any) -> int:
        attempts.append(driver.clock.now())
        if len(attempts) < 4:
            raise KeyError("not yet")
        return len(attempts)

    assert backoff.delay().get(timeout=60) == 4
    assert [t - attempts[0] for t in attempts] == [0, 1, 3, 7]


def test_retry_jitter_is_seeded(memq_celery: Any) -> None:
    """Full jitter draws from the broker's seeded RNG, so two runs with one seed agree."""
    import memq
    import memq.celery

    def run() -> list[float]:
        notes = make_app()
        attempts: list[float] = []

        @notes.app.task(bind=True, shared=False, name="notes.jitter", autoretry_for=(KeyError,),
                        retry_backoff=10, retry_jitter=True, max_retries=4)
        def jitter(self: Any) -> None:
            attempts.append(self.app.now().timestamp())
            raise KeyError("never")

        with memq.celery.attach(notes.app, memq.Broker(seed=7, start=0)) as driver:
            jitter.delay()
            driver.run_until_idle()
        return [t - attempts[0] for t in attempts]

    first, second = run(), run()
    assert first == second and len(first) == 5


def test_retries_exhausted_fail(driver: Any, notes: Any) -> None:
    """After max_retries the task fails with the original error."""

    @notes.app.task(bind=True, shared=False, name="notes.hopeless", max_retries=2,
                    default_retry_delay=30)
    def hopeless(self: Any) -> None:
        try:
            raise ConnectionError("down")
        except ConnectionError as exc:
            raise self.retry(exc=exc)

    result = hopeless.delay()
    with pytest.raises(ConnectionError):
        result.get(timeout=600)
    record = driver.tasks.get(result.id)
    assert record.retries == 2 and record.state == "FAILURE"
    assert record.failed - record.published == 60


def test_task_routes_and_several_workers(memq_celery: Any) -> None:
    """task_routes send each task to its queue, consumed by the worker named for it."""
    notes = make_app(task_routes={"notes.mul": {"queue": "math"}})
    driver = memq_celery(notes.app, workers={"general": ["celery"], "math": ["math"]})
    a, m = notes.add.delay(1, 2), notes.mul.delay(3, 4)
    assert a.get(timeout=1) == 3 and m.get(timeout=1) == 12
    assert driver.tasks.get(a.id).worker == "general@memq"
    assert driver.tasks.get(m.id).worker == "math@memq"
    assert driver.tasks.get(m.id).queue == "math"


def test_task_queues_with_topic_exchange(memq_celery: Any) -> None:
    """task_queues with a topic exchange route by key, through the broker's own routing."""
    from kombu import Exchange, Queue

    media = Exchange("media", type="topic")
    notes = make_app(task_queues=[Queue("images", media, routing_key="image.#"),
                                  Queue("videos", media, routing_key="video.#")])
    driver = memq_celery(notes.app, workers={"img": ["images"], "vid": ["videos"]})
    r1 = notes.add.apply_async((1, 1), exchange="media", routing_key="image.jpg")
    r2 = notes.add.apply_async((2, 2), exchange="media", routing_key="video.mp4")
    driver.run_until_idle()
    assert (r1.get(), r2.get()) == (2, 4)
    assert driver.tasks.get(r1.id).worker == "img@memq"
    assert driver.tasks.get(r2.id).worker == "vid@memq"


def test_two_workers_share_a_queue(memq_celery: Any) -> None:
    """Two workers on one queue both get work, deterministically."""
    notes = make_app(worker_prefetch_multiplier=1)
    driver = memq_celery(notes.app, workers={"w1": ["celery"], "w2": ["celery"]})
    results = [notes.add.delay(i, i) for i in range(6)]
    driver.run_until_idle()
    assert [r.get() for r in results] == [0, 2, 4, 6, 8, 10]
    assert {r.worker for r in driver.tasks} == {"w1@memq", "w2@memq"}


def test_acks_late_worker_lost_redelivers(driver: Any, notes: Any) -> None:
    """acks_late: a worker dying mid-task leaves the message unacked; it is redelivered."""
    seen: list[bool] = []

    @notes.app.task(bind=True, shared=False, name="notes.fragile", acks_late=True)
    def fragile(self: Any) -> str:
        seen.append(self.request.delivery_info["redelivered"])
        if len(seen) == 1:
            driver.crash_worker()
        return "done"

    result = fragile.delay()
    assert result.get(timeout=10) == "done"
    assert seen == [False, True]


def test_early_ack_worker_lost_loses_task(driver: Any, notes: Any) -> None:
    """Without acks_late the message was acked before running: a crash loses the task."""
    seen: list[int] = []

    @notes.app.task(bind=True, shared=False, name="notes.doomed")
    def doomed(self: Any) -> None:
        seen.append(1)
        driver.crash_worker()

    result = doomed.delay()
    driver.run_until_idle()
    assert seen == [1] and result.state == states.PENDING


def test_unknown_task_name_fails_as_worker_does(driver: Any, notes: Any) -> None:
    """A message for an unregistered task is rejected and stored as NotRegistered."""
    result = notes.app.send_task("notes.missing", args=(1,))
    with pytest.raises(NotRegistered):
        result.get(timeout=1)
    assert driver.tasks.get(result.id).state == "FAILURE"


def test_get_inside_task_is_refused(driver: Any, notes: Any) -> None:
    """AsyncResult.get() inside a task raises RuntimeError, as in a worker."""

    @notes.app.task(shared=False, name="notes.waiter")
    def waiter() -> int:
        return notes.add.delay(1, 1).get(timeout=5)

    result = waiter.delay()
    with pytest.raises(RuntimeError, match="Never call result.get"):
        result.get(timeout=5)


def test_request_hostname_is_worker_name(driver: Any, notes: Any) -> None:
    """task.request.hostname is the worker's node name."""

    @notes.app.task(bind=True, shared=False, name="notes.whoami")
    def whoami(self: Any) -> str:
        return self.request.hostname

    assert whoami.delay().get(timeout=1) == "celery@memq"


def test_control_ping_replies(driver: Any, notes: Any) -> None:
    """Remote control works through the pidbox: ping gets each worker's reply."""
    replies = notes.app.control.ping(timeout=1)
    assert replies == [{"celery@memq": {"ok": "pong"}}]


def test_inspect_scheduled_lists_eta_tasks(driver: Any, notes: Any) -> None:
    """inspect().scheduled() shows tasks waiting for their ETA."""
    result = notes.add.apply_async((1, 1), countdown=300)
    driver.advance(1)
    scheduled = notes.app.control.inspect(timeout=1).scheduled()
    assert [e["request"]["id"] for e in scheduled["celery@memq"]] == [result.id]
