"""The run's settings (seed, real broker URL, report folder) and what each test learned about its broker.

Nothing here imports memq, pika or Celery: this module is loaded with pytest.
"""

from __future__ import annotations

import argparse
import random
import re
import shlex
import time
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import pytest

__all__ = ["RunSettings", "TestContext", "CONTEXT", "MARKER_KEYS", "RealClock", "mask_url"]

#: Keyword arguments `@pytest.mark.memq(...)` accepts.
MARKER_KEYS = ("seed", "start", "heartbeats", "trace")

#: Where a test's `TestContext` is kept (`item.stash[CONTEXT]`).
CONTEXT = pytest.StashKey["TestContext"]()


def parse_seed(value: str) -> int | str:
    """`--memq-seed` values: an integer, or "random" for a fresh seed per run."""
    if value == "random":
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer or 'random', not {value!r}") from None


def mask_url(url: str) -> str:
    """The URL with its password replaced by `***` (for reports and headers)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def worker_name(config: pytest.Config) -> str:
    """The pytest-xdist worker id (`gw0`, ...), or "master" outside xdist workers."""
    workerinput = getattr(config, "workerinput", None)
    return workerinput["workerid"] if workerinput else "master"


class RunSettings:
    """What the command line and ini file say, once per run."""

    def __init__(self, config: pytest.Config) -> None:
        seed = config.getoption("memq_seed")
        workerinput = getattr(config, "workerinput", None)
        if workerinput is not None and "memq_seed" in workerinput:
            seed = workerinput["memq_seed"]
        elif seed == "random":
            seed = random.SystemRandom().randrange(2**32)
        self.seed: int = int(seed)
        config.option.memq_seed = self.seed  # conftest files reading the option see the number
        url = config.getoption("memq_broker")
        self.url: str | None = url.replace("{worker}", quote(worker_name(config), safe="")) if url else None
        self.report_dir: str | None = config.getoption("memq_report")
        self.report_events = int(config.getini("memq_report_events"))

    @property
    def simulated(self) -> bool:
        """True unless `--memq-broker` points the tests at a real RabbitMQ."""
        return self.url is None

    def header(self) -> str:
        """The line pytest prints at the start of the run."""
        if self.simulated:
            return f"memq: seed {self.seed} (simulated broker)"
        return f"memq: real broker {mask_url(self.url or '')}"


class TestContext:
    """What one test's fixtures made: its seed, broker, pika harness and Celery drivers."""

    __test__ = False

    def __init__(self, item: pytest.Item, settings: RunSettings) -> None:
        self.item = item
        self.settings = settings
        self.options: dict[str, Any] = {}
        self.seed = settings.seed
        self.seed_from_marker = False
        marker = item.get_closest_marker("memq")
        if marker is not None:
            if marker.args:
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.memq takes keyword arguments only")
            unknown = sorted(set(marker.kwargs) - set(MARKER_KEYS))
            if unknown:
                raise pytest.UsageError(
                    f"{item.nodeid}: @pytest.mark.memq got unknown argument(s) {', '.join(unknown)}; "
                    f"it takes {', '.join(MARKER_KEYS)}")
            self.options.update(marker.kwargs)
            if "seed" in marker.kwargs:
                self.seed = int(marker.kwargs["seed"])
                self.seed_from_marker = True
        self.broker: Any = None
        self.pika: Any = None
        self.drivers: list[Any] = []

    def broker_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `memq.Broker(...)`."""
        kwargs: dict[str, Any] = {"seed": self.seed}
        for key in ("start", "trace"):
            if key in self.options:
                kwargs[key] = self.options[key]
        return kwargs

    def reproduce(self) -> str:
        """The command that runs this test again with the same broker."""
        words = ["python", "-m", "pytest", self.item.nodeid]
        if self.settings.simulated:
            words.append(f"--memq-seed={self.seed}")
        else:
            words.append(f"--memq-broker={mask_url(self.settings.url or '')}")
        return " ".join(shlex.quote(word) for word in words)

    def used(self) -> bool:
        """Whether any memq fixture ran for this test."""
        return self.broker is not None or self.pika is not None or bool(self.drivers)


class RealClock:
    """The wall clock with a `VirtualClock`'s interface: `advance()` really sleeps (for `--memq-broker`)."""

    def __init__(self) -> None:
        self.start = time.time()

    def now(self) -> float:
        """Epoch seconds."""
        return time.time()

    def elapsed(self) -> float:
        """Seconds since the test started."""
        return time.time() - self.start

    def advance(self, seconds: float) -> None:
        """Sleep `seconds`."""
        if seconds < 0:
            raise ValueError(f"time can't go backwards: advance({seconds!r})")
        time.sleep(seconds)

    def advance_to(self, when: float) -> None:
        """Sleep until epoch seconds `when`."""
        self.advance(max(0.0, when - time.time()))

    def next_deadline(self) -> None:
        """A real broker's timers are not visible: always None."""
        return None


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def report_file_name(nodeid: str) -> str:
    """A file name for a test's HTML report: the node id with unsafe characters replaced."""
    return _SAFE.sub("_", unquote(nodeid)).strip("_")[:180] + ".html"
