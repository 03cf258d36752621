"""A failing test's report: seed and reproduce command, trace, snapshot, Celery tasks, and the HTML page."""

from __future__ import annotations

import pytest

FAILING_PIKA = """
    import pika
    import pytest

    @pytest.mark.memq(start=0)
    def test_order_is_consumed(memq_pika):
        connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
        channel = connection.channel()
        channel.queue_declare("orders", arguments={"x-message-ttl": 5000, "x-dead-letter-exchange": "dlx"})
        channel.exchange_declare("dlx", "fanout")
        channel.queue_declare("orders.dead")
        channel.queue_bind("orders.dead", "dlx")
        channel.basic_publish("", "orders", b"order-1")
        memq_pika.advance(6)
        assert memq_pika.queue("orders").message_count == 1

    def test_passes(memq_pika):
        pass
"""


def test_failure_report_shows_seed_trace_and_snapshot(pytester: pytest.Pytester) -> None:
    """The report names the seed and the command to rerun, ends the trace with the dead-lettering, and
    shows the queues and bindings; a passing test gets no memq section."""
    pytester.makepyfile(test_case=FAILING_PIKA)
    result = pytester.runpytest_inprocess("--memq-seed=1234")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines([
        "*- memq -*",
        "memq: simulated broker, seed 1234, virtual time +6.000s",
        "reproduce: python -m pytest test_case.py::test_order_is_consumed --memq-seed=1234",
        "trace (*events):",
        "*0.000s Published message=1 connection='conn-1' channel=1 exchange='' routing_key='orders' size=7",
        "*5.000s DeadLettered message=1 queue='orders' reason='expired' exchange='dlx' routing_key='orders'",
        "*5.000s Routed message=1 queues=('orders.dead',)",
        "*- memq snapshot -*",
        "Queues",
        "*orders*0*0*0*",
        "*orders.dead*1*0*0*",
        "Bindings",
        "*dlx*orders.dead*queue*",
    ])
    assert result.stdout.str().count("- memq -") == 1


def test_marker_seed_is_named_in_the_report(pytester: pytest.Pytester) -> None:
    """A seed set by the marker is reported as such, and the reproduce command needs no option for it."""
    pytester.makepyfile(test_case="""
        import pytest

        @pytest.mark.memq(seed=99)
        def test_x(memq_broker):
            assert False
    """)
    result = pytester.runpytest_inprocess()
    result.stdout.fnmatch_lines(["memq: simulated broker, seed 99 (from @pytest.mark.memq)*"])


def test_report_events_ini_limits_the_trace(pytester: pytest.Pytester) -> None:
    """memq_report_events = N shows only the last N events."""
    pytester.makeini("[pytest]\nmemq_report_events = 2\n")
    pytester.makepyfile(test_case="""
        def test_x(memq_broker):
            ch = memq_broker.connect().channel()
            ch.queue_declare("q")
            for n in range(5):
                ch.basic_publish("", "q", b"m")
            assert False
    """)
    result = pytester.runpytest_inprocess()
    result.stdout.fnmatch_lines(["trace (last 2 of 13 events):", "*Published message=5*", "*Routed message=5*"])
    assert "message=4" not in result.stdout.str()


def test_celery_failure_shows_task_table(pytester: pytest.Pytester) -> None:
    """When Celery was used, the report adds the task table: names, states, workers, results."""
    pytester.makepyfile(test_case="""
        import celery

        app = celery.Celery("t", set_as_current=False)

        @app.task(shared=False, name="t.boom")
        def boom():
            raise ValueError("no stock")

        def test_boom(memq_celery):
            driver = memq_celery(app)
            boom.delay()
            driver.run_until_idle()
            assert driver.tasks[0].state == "SUCCESS"
    """)
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*- memq celery tasks -*",
        "name*id*state*worker*retries*",
        "t.boom*FAILURE*celery@memq*0*ValueError('no stock')",
    ])


def test_memq_report_writes_an_html_page_per_failing_test(pytester: pytest.Pytester) -> None:
    """--memq-report=DIR writes one self-contained page per failing test and names it in the report."""
    pytester.makepyfile(test_case=FAILING_PIKA)
    result = pytester.runpytest_inprocess("--memq-report=reports")
    result.assert_outcomes(failed=1, passed=1)
    pages = sorted((pytester.path / "reports").iterdir())
    assert [p.name for p in pages] == ["test_case.py_test_order_is_consumed.html"]
    result.stdout.fnmatch_lines(["sequence diagram: reports*test_case.py_test_order_is_consumed.html"])
    page = pages[0].read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "dead-letter #1 (expired)" in page and "assert 0 == 1" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched


def test_setup_failure_is_reported_too(pytester: pytest.Pytester) -> None:
    """A fixture that fails after the broker exists still gets the memq section."""
    pytester.makepyfile(test_case="""
        import pytest

        @pytest.fixture
        def declared(memq_broker):
            memq_broker.connect().channel().queue_declare("q", passive=True)

        def test_x(declared):
            pass
    """)
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*- memq -*", "*ChannelClosed*404*NOT_FOUND - no queue 'q'*"])
