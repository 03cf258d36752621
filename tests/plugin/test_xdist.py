"""Under pytest-xdist (-n 2) every test still gets its own broker, and all workers share the run's seed."""

from __future__ import annotations

import pytest


def test_fixtures_under_xdist_share_the_seed_and_nothing_else(pytester: pytest.Pytester) -> None:
    """Twelve tests over two workers: each declares the same queue on a fresh broker, and every broker
    has the seed the controller picked; a failure on a worker still carries the memq report."""
    pytester.makepyfile(test_case="""
        import celery
        import pika
        import pytest

        app = celery.Celery("t", set_as_current=False)

        @app.task(shared=False, name="t.add")
        def add(x, y):
            return x + y

        @pytest.mark.parametrize("n", range(4))
        def test_broker(memq_broker, request, n):
            assert memq_broker.seed == request.config.getoption("--memq-seed")
            assert memq_broker.list_queues() == []
            memq_broker.connect().channel().queue_declare("same")

        @pytest.mark.parametrize("n", range(4))
        def test_pika(memq_pika, n):
            channel = pika.BlockingConnection(pika.ConnectionParameters("localhost")).channel()
            assert channel.queue_declare("same").method.message_count == 0
            channel.basic_publish("", "same", b"x")

        @pytest.mark.parametrize("n", range(3))
        def test_celery(memq_celery, n):
            driver = memq_celery(app)
            assert add.delay(n, 1).get(timeout=1) == n + 1
            assert len(driver.tasks) == 1

        def test_fails(memq_broker):
            with open(f"seed-{memq_broker.seed}", "w"):
                pass
            assert False
    """)
    # Hypothesis's and anyio's plugins are left out only to start the three processes faster.
    result = pytester.runpytest_subprocess("-n", "2", "--memq-seed=random", "-p", "no:hypothesispytest",
                                           "-p", "no:anyio")
    result.assert_outcomes(passed=11, failed=1)
    result.stdout.re_match_lines([r"memq: seed \d+ \(simulated broker\)"])
    seed = [line for line in result.outlines if line.startswith("memq: seed ")][0].split()[2]
    assert [p.name for p in pytester.path.glob("seed-*")] == [f"seed-{seed}"]
    result.stdout.fnmatch_lines([f"reproduce: python -m pytest test_case.py::test_fails --memq-seed={seed}"])
