"""pytest plugin for memq: fixtures that give each test a fresh simulated broker.

memq itself is imported lazily, inside the fixtures, so loading pytest stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator

import pytest

if TYPE_CHECKING:
    import memq


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memq", "memq simulated RabbitMQ broker")
    group.addoption(
        "--memq-seed",
        type=int,
        default=0,
        help="seed of every memq broker made by the fixtures (default 0)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "memq(seed=None, start=None): configure the test's memq broker"
    )


def _broker_kwargs(request: pytest.FixtureRequest) -> dict:
    kwargs: dict = {"seed": request.config.getoption("--memq-seed")}
    marker = request.node.get_closest_marker("memq")
    if marker is not None:
        kwargs.update(marker.kwargs)
    return kwargs


@pytest.fixture
def memq_broker(request: pytest.FixtureRequest) -> Iterator["memq.Broker"]:
    """A fresh `memq.Broker` for this test, seeded from `--memq-seed` or the `memq` marker."""
    import memq

    broker = memq.Broker(**_broker_kwargs(request))
    yield broker
    broker.check_invariants()


@pytest.fixture
def memq_clock(memq_broker: "memq.Broker") -> "memq.VirtualClock":
    """The virtual clock of this test's `memq_broker`."""
    return memq_broker.clock


@pytest.fixture
def memq_celery(memq_broker: "memq.Broker") -> Iterator[Callable[..., Any]]:
    """A factory attaching Celery apps to this test's broker; every driver is detached at teardown.

    Example:
        def test_add(memq_celery):
            driver = memq_celery(app)                 # workers=None, beat=False
            assert add.delay(5, 2).get(timeout=1) == 7
    """
    import memq.celery

    drivers: list[Any] = []

    def attach(app: Any, workers: dict[str, list[str]] | None = None, beat: Any = False) -> Any:
        driver = memq.celery.attach(app, memq_broker, workers=workers, beat=beat)
        drivers.append(driver)
        return driver

    yield attach
    for driver in reversed(drivers):
        driver.detach()
