"""--memq-broker: the same tests against the real RabbitMQ on 127.0.0.1:5672 (skipped where there is none)."""

from __future__ import annotations

import pytest

from .conftest import RABBITMQ_URL, needs_rabbitmq

pytestmark = needs_rabbitmq


def test_sample_project_passes_on_memq_and_on_rabbitmq(sample: pytest.Pytester) -> None:
    """The shop's pika and Celery tests, unchanged, pass on the simulated broker and on RabbitMQ."""
    sample.runpytest_inprocess("-p", "no:randomly").assert_outcomes(passed=9)
    result = sample.runpytest_inprocess("-p", "no:randomly", f"--memq-broker={RABBITMQ_URL}")
    result.assert_outcomes(passed=9)
    result.stdout.fnmatch_lines(["memq: real broker amqp://guest:***@127.0.0.1:5672/%2F"])


def test_tests_leave_nothing_behind_on_the_real_broker(pytester: pytest.Pytester) -> None:
    """What a test declared is deleted at teardown, so the next test starts from an empty queue."""
    pytester.makepyfile(test_case="""
        import pika
        import pytest

        @pytest.mark.parametrize("run", [1, 2])
        def test_queue_starts_empty(memq_pika, run):
            channel = pika.BlockingConnection(pika.ConnectionParameters("localhost")).channel()
            channel.exchange_declare("memq.plugin.x", "fanout")
            ok = channel.queue_declare("memq.plugin.leak")
            assert ok.method.message_count == 0
            channel.queue_bind("memq.plugin.leak", "memq.plugin.x")
            channel.basic_publish("memq.plugin.x", "", b"left over?")
            assert memq_pika.queue("memq.plugin.leak").message_count in (0, 1)
    """)
    pytester.runpytest_inprocess(f"--memq-broker={RABBITMQ_URL}").assert_outcomes(passed=2)


def test_memq_only_features_skip_on_the_real_broker(pytester: pytest.Pytester) -> None:
    """memq_broker, memq_pika.broker, crash_worker and @memq_only skip; memq_clock really sleeps."""
    pytester.makepyfile(test_case="""
        import time
        import celery
        import pytest

        app = celery.Celery("t", set_as_current=False)

        def test_broker(memq_broker):
            pass

        def test_harness_broker(memq_pika):
            memq_pika.broker

        @pytest.mark.memq_only(reason="a week of virtual time")
        def test_week(memq_clock):
            memq_clock.advance(7 * 86400)

        def test_crash(memq_celery):
            memq_celery(app).crash_worker("celery")

        def test_clock_sleeps(memq_clock):
            start = time.monotonic()
            memq_clock.advance(0.2)
            assert time.monotonic() - start >= 0.2
    """)
    result = pytester.runpytest_inprocess("-rs", f"--memq-broker={RABBITMQ_URL}")
    result.assert_outcomes(passed=1, skipped=4)
    result.stdout.fnmatch_lines([
        "*memq_broker needs the simulated broker (this run uses --memq-broker)",
        "*memq_only: a week of virtual time (this run uses --memq-broker)",
    ])


def test_failure_report_on_the_real_broker(pytester: pytest.Pytester) -> None:
    """A failing test names the broker (password hidden), what the clients did, and the declared queues."""
    pytester.makepyfile(test_case="""
        import pika

        def test_lost(memq_pika):
            channel = pika.BlockingConnection(pika.ConnectionParameters("localhost")).channel()
            channel.queue_declare("memq.plugin.report")
            channel.basic_publish("", "memq.plugin.report", b"hello")
            memq_pika.assert_consumed(queue="memq.plugin.report")
    """)
    result = pytester.runpytest_inprocess(f"--memq-broker={RABBITMQ_URL}", "--memq-report=out")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "memq: real broker amqp://guest:***@127.0.0.1:5672/%2F",
        "reproduce: python -m pytest test_case.py::test_lost '--memq-broker=amqp://guest:***@127.0.0.1:5672/%2F'",
        "what the clients did (1 event):",
        "*Published message=1 connection='client-1' channel=1 exchange='' routing_key='memq.plugin.report' size=5",
        "*- memq snapshot -*",
        "Queues declared by the test on *",
        "memq.plugin.report*1*0",
    ])
    assert "publish #1 memq.plugin.report" in (pytester.path / "out" / "test_case.py_test_lost.html").read_text()


def test_worker_placeholder_in_the_url(pytester: pytest.Pytester) -> None:
    """'{worker}' in --memq-broker becomes the xdist worker id ('master' outside xdist)."""
    pytester.makepyfile(test_case="def test_x(): pass")
    result = pytester.runpytest_inprocess("--co", "--memq-broker=amqp://guest:guest@127.0.0.1:5672/ci-{worker}")
    result.stdout.fnmatch_lines(["memq: real broker amqp://guest:***@127.0.0.1:5672/ci-master"])


def test_celery_failure_report_on_the_real_broker(pytester: pytest.Pytester) -> None:
    """On RabbitMQ the workers run in threads; a failing test still shows the task table."""
    pytester.makepyfile(test_case="""
        import celery

        app = celery.Celery("t", set_as_current=False)

        @app.task(shared=False, name="t.boom")
        def boom():
            raise ValueError("no stock")

        def test_boom(memq_celery):
            driver = memq_celery(app)
            boom.delay()
            driver.run_until_idle(timeout=10)
            assert driver.tasks[0].state == "SUCCESS"
    """)
    result = pytester.runpytest_inprocess(f"--memq-broker={RABBITMQ_URL}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*- memq celery tasks -*", "t.boom*FAILURE*celery@memq*0*ValueError('no stock')"])
    assert "what the clients did" not in result.stdout.str()
