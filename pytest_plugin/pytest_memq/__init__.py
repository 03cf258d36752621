"""pytest plugin for memq: each test gets a fresh simulated RabbitMQ broker, or the real one with --memq-broker.

Fixtures (all function-scoped): `memq_broker`, `memq_clock`, `memq_pika`, `memq_celery`.
Marker: `@pytest.mark.memq(seed=..., start=..., heartbeats=..., trace=...)`; `@pytest.mark.memq_only`.
Options: `--memq-seed=N|random`, `--memq-broker=amqp://user:pass@host:port/vhost`, `--memq-report=DIR`.
A failing test's report shows the seed and the command that reproduces it, the end of the trace, a
snapshot of the queues, bindings and consumers, and the Celery task table when Celery was used.

memq itself (and pika, Celery) is imported lazily, inside the fixtures and hooks that need it, so loading
pytest stays cheap. See docs/pytest-plugin.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator

import pytest

from ._settings import CONTEXT, MARKER_KEYS, RealClock, RunSettings, TestContext, parse_seed

if TYPE_CHECKING:
    import memq

    from ._pika import PikaHarness

__all__ = ["assert_published", "assert_not_published", "assert_consumed", "assert_not_consumed"]

_SETTINGS = pytest.StashKey[RunSettings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memq", "memq simulated RabbitMQ broker")
    group.addoption("--memq-seed", type=parse_seed, default=0, metavar="N",
                    help="seed of every memq broker the fixtures make (default 0; 'random' picks one per run)")
    group.addoption("--memq-broker", default=None, metavar="URL",
                    help="run the memq fixtures against a real RabbitMQ, e.g. amqp://guest:guest@127.0.0.1:5672/%%2F "
                         "('{worker}' in the URL becomes the pytest-xdist worker id)")
    group.addoption("--memq-report", default=None, metavar="DIR",
                    help="write an HTML page with a message sequence diagram per failing test into DIR")
    parser.addini("memq_report_events", default="40",
                  help="how many of the last trace events a failing test's report shows (0: all)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"memq({', '.join(k + '=...' for k in MARKER_KEYS)}): configure the test's memq broker")
    config.addinivalue_line(
        "markers", "memq_only(reason=None): needs the simulated broker; skipped under --memq-broker")
    settings = RunSettings(config)
    config.stash[_SETTINGS] = settings
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistSeed(settings), "memq-xdist-seed")


class _XdistSeed:
    """Gives every pytest-xdist worker the controller's seed (which matters for --memq-seed=random)."""

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["memq_seed"] = self.settings.seed


def pytest_report_header(config: pytest.Config) -> str:
    return config.stash[_SETTINGS].header()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash[_SETTINGS].simulated:
        return
    for item in items:
        marker = item.get_closest_marker("memq_only")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(
                reason=f"memq_only: {reason or 'needs the simulated broker'} (this run uses --memq-broker)"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    try:
        return (yield)
    finally:
        if CONTEXT in item.stash:
            del item.stash[CONTEXT]  # let the test's broker go


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    context = item.stash.get(CONTEXT, None)
    if report.failed and context is not None and context.used():
        try:
            from ._reporting import sections_for, write_html

            html = write_html(context, report) if context.settings.report_dir else None
            report.sections.extend(sections_for(context, html))
        except Exception as error:  # noqa: BLE001 - never hide the test's own failure
            report.sections.append(("memq", f"(the memq report failed: {error!r})"))
    return report


def _context(request: pytest.FixtureRequest) -> TestContext:
    item = request.node
    context = item.stash.get(CONTEXT, None)
    if context is None:
        context = item.stash[CONTEXT] = TestContext(item, request.config.stash[_SETTINGS])
    return context


def _skip_real(fixture: str) -> None:
    pytest.skip(f"{fixture} needs the simulated broker (this run uses --memq-broker)")


def _test_broker(request: pytest.FixtureRequest, context: TestContext) -> "memq.Broker":
    """The `memq_broker` fixture's value (a conftest may override it), remembered for the report."""
    broker = request.getfixturevalue("memq_broker")
    if context.broker is None:
        context.broker = broker
    return broker


@pytest.fixture
def memq_broker(request: pytest.FixtureRequest) -> Iterator["memq.Broker"]:
    """A fresh `memq.Broker` for this test, seeded from `--memq-seed` or `@pytest.mark.memq(seed=...)`.

    Skips the test under `--memq-broker` (a real broker has no `memq.Broker`). Checks the broker's
    invariants at teardown.
    """
    context = _context(request)
    if not context.settings.simulated:
        _skip_real("memq_broker")
    import memq

    broker = memq.Broker(**context.broker_kwargs())
    context.broker = broker
    yield broker
    broker.check_invariants()


@pytest.fixture
def memq_clock(request: pytest.FixtureRequest) -> Any:
    """The virtual clock of this test's `memq_broker`; under `--memq-broker`, the wall clock (advance sleeps)."""
    context = _context(request)
    if not context.settings.simulated:
        return RealClock()
    return _test_broker(request, context).clock


@pytest.fixture
def memq_pika(request: pytest.FixtureRequest) -> Iterator["PikaHarness"]:
    """Every pika connection made during the test reaches this test's broker; yields a `PikaHarness`.

    On memq the connections run on virtual time; under `--memq-broker` pika really connects to the URL.

    Example:
        def test_hello(memq_pika):
            channel = pika.BlockingConnection(pika.ConnectionParameters("localhost")).channel()
            channel.queue_declare("hello")
            channel.basic_publish("", "hello", b"Hello World!")
            assert memq_pika.queue("hello").bodies == [b"Hello World!"]
    """
    from ._pika import PikaHarness

    context = _context(request)
    if context.settings.simulated:
        heartbeats = context.options.get("heartbeats", 60)
        heartbeats = 60 if heartbeats is True else int(heartbeats or 0)
        harness = PikaHarness(_test_broker(request, context), heartbeats=heartbeats)
    else:
        harness = PikaHarness(url=context.settings.url)
    context.pika = harness
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()
    if harness.errors:
        raise harness.errors[0]


@pytest.fixture
def memq_celery(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """A factory attaching Celery apps to this test's broker; every driver is detached at teardown.

    On memq, workers run in the test's thread on virtual time (`memq.celery.attach`); under
    `--memq-broker`, in threads against the real broker (`pytest_memq._celery.ThreadDriver`).

    Example:
        def test_add(memq_celery):
            driver = memq_celery(app)                 # workers=None, beat=False
            assert add.delay(5, 2).get(timeout=1) == 7
    """
    context = _context(request)
    if context.settings.simulated:
        import memq.celery

        broker = _test_broker(request, context)

        def make(app: Any, workers: dict[str, list[str]] | None, beat: Any) -> Any:
            return memq.celery.attach(app, broker, workers=workers, beat=beat)
    else:
        from ._celery import ThreadDriver

        def make(app: Any, workers: dict[str, list[str]] | None, beat: Any) -> Any:
            return ThreadDriver(app, context.settings.url or "", workers, beat).attach()

    def attach(app: Any, workers: dict[str, list[str]] | None = None, beat: Any = False) -> Any:
        driver = make(app, workers, beat)
        context.drivers.append(driver)
        return driver

    yield attach
    for driver in reversed(context.drivers):
        driver.detach()


@pytest.fixture
def memq_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A `memq serve` AMQP server on a free port for this test; `.url` is its `amqp://` URL.

    For clients memq cannot patch (aio-pika, kombu's pyamqp://, other processes). The server runs on
    its own thread with a fresh broker seeded like `memq_broker`; `.advance(seconds)` jumps its clock,
    `.call(fn, *args)` runs `fn` on the server's thread (e.g. `served.call(served.broker.snapshot)`).
    """
    from memq._server import ServerThread

    with ServerThread(seed=_context(request).seed) as served:
        yield served


def _recorder_of(source: Any) -> Any:
    recorder = getattr(source, "recorder", None)
    if recorder is None:
        raise TypeError(f"expected the memq_pika harness, got {source!r}")
    return recorder


def assert_published(harness: Any, *, count: int | None = None, **filters: Any) -> list[Any]:
    """Assert that the test's clients published matching messages; returns them.

    Example:
        assert_published(memq_pika, exchange="orders", routing_key="order.created", json={"id": 7})
    """
    __tracebackhide__ = True
    from ._expect import assert_published as check

    return check(_recorder_of(harness), count=count, **filters)


def assert_not_published(harness: Any, **filters: Any) -> None:
    """Assert that the test's clients published no matching message."""
    __tracebackhide__ = True
    from ._expect import assert_not_published as check

    check(_recorder_of(harness), **filters)


def assert_consumed(harness: Any, *, count: int | None = None, **filters: Any) -> list[Any]:
    """Assert that the test's clients consumed (received and acknowledged) matching messages."""
    __tracebackhide__ = True
    return harness.assert_consumed(count=count, **filters)


def assert_not_consumed(harness: Any, **filters: Any) -> None:
    """Assert that the test's clients consumed no matching message."""
    __tracebackhide__ = True
    from ._expect import assert_not_consumed as check

    check(_recorder_of(harness), **filters)
