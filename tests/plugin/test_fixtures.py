"""The fixtures: a fresh broker per test, its clock, pika redirected to it, Celery attached to it."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_memq_broker_is_fresh_for_each_test(pytester: pytest.Pytester) -> None:
    """Two tests declaring the same queue each see an empty broker; the broker is a memq.Broker."""
    pytester.makepyfile(test_case="""
        import memq
        import pytest

        @pytest.mark.parametrize("run", [1, 2])
        def test_declare(memq_broker, run):
            assert isinstance(memq_broker, memq.Broker)
            assert memq_broker.list_queues() == []
            ch = memq_broker.connect().channel()
            ch.queue_declare("q")
            ch.basic_publish("", "q", b"x")
            assert memq_broker.queue("q").bodies == [b"x"]
    """)
    pytester.runpytest_inprocess().assert_outcomes(passed=2)


def test_memq_broker_seed_comes_from_option_and_marker(pytester: pytest.Pytester) -> None:
    """--memq-seed seeds every broker; @pytest.mark.memq(seed=...) overrides it for one test."""
    pytester.makepyfile(test_case="""
        import pytest

        def test_run_seed(memq_broker):
            assert memq_broker.seed == 42

        @pytest.mark.memq(seed=7)
        def test_marker_seed(memq_broker):
            assert memq_broker.seed == 7
    """)
    pytester.runpytest_inprocess("--memq-seed=42").assert_outcomes(passed=2)


def test_random_seed_is_chosen_once_and_shown(pytester: pytest.Pytester) -> None:
    """--memq-seed=random picks one seed for the run, printed in the header and used by every test."""
    pytester.makepyfile(test_case="""
        seeds = []

        def test_a(memq_broker):
            seeds.append(memq_broker.seed)

        def test_b(memq_broker, request):
            assert memq_broker.seed == seeds[0] == request.config.getoption("--memq-seed")
    """)
    result = pytester.runpytest_inprocess("--memq-seed=random")
    result.assert_outcomes(passed=2)
    result.stdout.re_match_lines([r"memq: seed \d+ \(simulated broker\)"])


def test_bad_seed_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """A seed that is neither a number nor 'random' is refused on the command line."""
    pytester.makepyfile(test_case="def test_x(): pass")
    result = pytester.runpytest_inprocess("--memq-seed=abc")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--memq-seed*must be an integer or 'random'*"])


def test_marker_start_sets_virtual_origin_and_clock_is_the_brokers(pytester: pytest.Pytester) -> None:
    """@pytest.mark.memq(start=...) places virtual time; memq_clock is memq_broker.clock."""
    pytester.makepyfile(test_case="""
        import pytest

        @pytest.mark.memq(start=1_000_000)
        def test_clock(memq_broker, memq_clock):
            assert memq_clock is memq_broker.clock
            assert memq_clock.now() == 1_000_000
            memq_clock.advance(3600)
            assert memq_broker.clock.now() == 1_003_600
    """)
    pytester.runpytest_inprocess().assert_outcomes(passed=1)


def test_marker_with_unknown_argument_is_an_error(pytester: pytest.Pytester) -> None:
    """A misspelt marker argument fails the test with the list of accepted ones."""
    pytester.makepyfile(test_case="""
        import pytest

        @pytest.mark.memq(sead=1)
        def test_x(memq_broker):
            pass
    """)
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown argument(s) sead*seed, start, heartbeats, trace*"])


def test_memq_pika_reaches_broker_however_pika_is_imported(pytester: pytest.Pytester) -> None:
    """pika.BlockingConnection, `from pika import BlockingConnection` and the adapter module all reach the
    test's broker, whatever host, port and parameters class they name."""
    pytester.makepyfile(test_case="""
        import pika
        from pika import BlockingConnection, ConnectionParameters
        from pika.adapters import blocking_connection

        def test_three_ways(memq_pika, memq_broker):
            a = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
            b = BlockingConnection(ConnectionParameters("rabbitmq.internal", 5673))
            c = blocking_connection.BlockingConnection(pika.URLParameters("amqp://guest:guest@mq:5672/%2F"))
            d = BlockingConnection()
            assert len(memq_broker.list_connections()) == 4
            a.channel().queue_declare("q")
            b.channel().basic_publish("", "q", b"from b")
            assert c.channel().basic_get("q", auto_ack=True)[2] == b"from b"
            assert memq_pika.broker is memq_broker and memq_pika.simulated
    """)
    pytester.runpytest_inprocess().assert_outcomes(passed=1)


def test_memq_pika_unpatches_pika_after_the_test(pytester: pytest.Pytester) -> None:
    """After a memq_pika test, pika's classes and I/O loop are pika's own again."""
    pytester.makepyfile(test_case="""
        import pika
        from pika.adapters import select_connection

        INIT = pika.BlockingConnection.__init__
        LOOP = select_connection.IOLoop

        def test_uses(memq_pika):
            assert pika.BlockingConnection.__init__ is not INIT

        def test_after():
            assert pika.BlockingConnection.__init__ is INIT
            assert select_connection.IOLoop is LOOP
            assert not hasattr(pika.channel.Channel.basic_publish, "__wrapped__")
    """)
    pytester.runpytest_inprocess("-p", "no:randomly").assert_outcomes(passed=2)


def test_memq_pika_inspects_queues_and_trace(pytester: pytest.Pytester) -> None:
    """The harness shows queues, the trace, what was published and consumed, and runs consumers."""
    pytester.makepyfile(test_case="""
        import pika
        import memq

        def test_inspect(memq_pika):
            connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
            channel = connection.channel()
            channel.queue_declare("jobs")
            channel.basic_publish("", "jobs", b"one")
            channel.basic_publish("", "jobs", b"two")
            assert memq_pika.queue("jobs").bodies == [b"one", b"two"]
            seen = []
            channel.basic_consume("jobs", lambda ch, m, p, b: (seen.append(b), ch.basic_ack(m.delivery_tag)))
            memq_pika.run_until_idle(connection)
            assert seen == [b"one", b"two"]
            assert memq_pika.queue("jobs").message_count == 0
            assert [m.body for m in memq_pika.published(routing_key="jobs")] == [b"one", b"two"]
            assert [d.body for d in memq_pika.consumed(queue="jobs")] == [b"one", b"two"]
            assert len(memq_pika.trace.of_type(memq.events.Acked)) == 2
            assert "jobs" in memq_pika.snapshot()
    """)
    pytester.runpytest_inprocess().assert_outcomes(passed=1)


def test_memq_pika_virtual_time_and_heartbeats_marker(pytester: pytest.Pytester) -> None:
    """advance() moves virtual time (TTLs fire at once); heartbeats=N is what the broker proposes."""
    pytester.makepyfile(test_case="""
        import pika
        import pytest

        @pytest.mark.memq(heartbeats=0)
        def test_ttl(memq_pika):
            connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
            assert connection._impl.params.heartbeat == 0
            channel = connection.channel()
            channel.queue_declare("flash", arguments={"x-message-ttl": 60_000})
            channel.basic_publish("", "flash", b"sale")
            start = memq_pika.now()
            memq_pika.advance(61)
            assert memq_pika.now() - start == 61
            assert memq_pika.queue("flash").message_count == 0

        def test_default_heartbeat_is_rabbitmqs(memq_pika):
            assert pika.BlockingConnection()._impl.params.heartbeat == 60
    """)
    pytester.runpytest_inprocess().assert_outcomes(passed=2)


def test_memq_pika_redirects_select_connection(pytester: pytest.Pytester) -> None:
    """A SelectConnection the code makes itself, to any address, also reaches the test's broker."""
    pytester.makepyfile(test_case="""
        import memq
        import pika

        def test_select(memq_pika):
            def on_open(connection):
                def on_channel(channel):
                    channel.basic_publish("", "nowhere", b"hi")
                    connection.ioloop.stop()
                connection.channel(on_open_callback=on_channel)

            connection = pika.SelectConnection(pika.ConnectionParameters("mq.example", 1234), on_open_callback=on_open)
            connection.ioloop.start()
            memq_pika.assert_published(routing_key="nowhere", body=b"hi", count=1)
            assert len(memq_pika.trace.of_type(memq.events.Unroutable)) == 1
    """)
    pytester.runpytest_inprocess().assert_outcomes(passed=1)


def test_memq_pika_background_consumer_answers_rpc(pytester: pytest.Pytester) -> None:
    """A background() connection serves requests while the test's own connection waits for the reply."""
    pytester.makepyfile(test_case="""
        import pika

        def test_rpc(memq_pika):
            server = memq_pika.connect()
            sch = server.channel()
            sch.queue_declare("rpc")

            def serve(ch, method, props, body):
                ch.basic_publish("", props.reply_to, body.upper(),
                                 pika.BasicProperties(correlation_id=props.correlation_id))
                ch.basic_ack(method.delivery_tag)

            sch.basic_consume("rpc", serve)
            memq_pika.background(server)
            client = memq_pika.connect()
            cch = client.channel()
            reply = cch.queue_declare("", exclusive=True).method.queue
            cch.basic_publish("", "rpc", b"ping", pika.BasicProperties(reply_to=reply, correlation_id="1"))
            for method, props, body in cch.consume(reply, auto_ack=True, inactivity_timeout=5):
                break
            assert body == b"PING"
    """)
    pytester.runpytest_inprocess().assert_outcomes(passed=1)


def test_memq_celery_attaches_app_to_the_tests_broker(pytester: pytest.Pytester) -> None:
    """memq_celery(app) runs the app's tasks on the test's broker; the driver is detached at teardown."""
    pytester.makepyfile(test_case="""
        import celery

        app = celery.Celery("t", set_as_current=False)

        @app.task(shared=False, name="t.add")
        def add(x, y):
            return x + y

        drivers = []

        def test_add(memq_celery, memq_broker):
            driver = memq_celery(app)
            drivers.append(driver)
            assert driver.broker is memq_broker
            assert add.apply_async((2, 3), countdown=3600).get(timeout=7200) == 5
            assert driver.tasks[0].state == "SUCCESS"
            assert any(q.name == "celery" for q in memq_broker.list_queues())

        def test_detached():
            assert not drivers[0].attached

        def test_workers_and_beat(memq_celery):
            driver = memq_celery(app, workers={"w1": ["celery"], "w2": ["celery"]}, beat=True)
            assert sorted(driver.workers) == ["w1@memq", "w2@memq"]
            assert driver.beat is not None
    """)
    pytester.runpytest_inprocess("-p", "no:randomly").assert_outcomes(passed=3)


def test_no_fixture_is_named_celery(pytester: pytest.Pytester) -> None:
    """The plugin defines memq_* fixtures only; celery_* names belong to Celery's own plugin."""
    import pytest_memq

    names = [name for name in dir(pytest_memq) if name.startswith(("memq_", "celery"))]
    assert names == ["memq_broker", "memq_celery", "memq_clock", "memq_pika", "memq_server"]


def test_loading_the_plugin_does_not_import_memq() -> None:
    """Importing the plugin module leaves memq, pika and Celery unimported (pytest start-up stays cheap)."""
    code = ("import sys, pytest_memq; "
            "print(sorted(m for m in ('memq', 'pika', 'celery', 'kombu') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_memq_only_marker_runs_on_memq(pytester: pytest.Pytester) -> None:
    """@pytest.mark.memq_only tests run on the simulated broker."""
    pytester.makepyfile(test_case="""
        import pytest

        @pytest.mark.memq_only(reason="a week of virtual time")
        def test_x(memq_clock):
            memq_clock.advance(7 * 86400)
    """)
    pytester.runpytest_inprocess().assert_outcomes(passed=1)
