"""Measuring: sizes, repeated timings and their medians, and the records a scenario hands back.

A scenario measures each case `repeat` times, interleaving the cases (case A, case B, ..., then again),
so that a burst of load on the machine hits every case alike, and reports the median of each.
"""

from __future__ import annotations

import dataclasses
import gc
import statistics
import time
from typing import Any, Callable

__all__ = ["Sizes", "FULL", "SMOKE", "SLOW_REPEAT", "Unavailable", "Table", "Target", "Section", "Config", "Timing", "Mark", "now", "cpu_of",
           "medians", "repeats", "fmt_rate", "fmt_us", "fmt_ratio", "fmt_speedup", "fmt_int"]


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How big each scenario is: the full run, or the CI smoke run."""

    repeat: int
    messages: int                 # scenario 1: messages per peer
    slow_messages: int            # scenario 1: cap for peers that take milliseconds per message
    get_ack: int                  # scenario 2: round trips (memq)
    get_ack_remote: int           # scenario 2: round trips (RabbitMQ and other slow peers)
    bindings: tuple[int, ...]     # scenario 3
    rabbitmq_max_bindings: int    # scenario 3: the real broker's largest size
    routed: int                   # scenario 3: messages per size (memq)
    routed_remote: int            # scenario 3: messages per size (RabbitMQ)
    fresh: int                    # scenario 4: fresh set-ups (memq)
    fresh_remote: int             # scenario 4: fresh set-ups (RabbitMQ and slow peers)
    memory_messages: int          # scenario 7
    scale: tuple[int, ...]        # scenario 8: queues, consumers, unacked, backlog
    scale_messages: int           # scenario 8: messages per point
    ttl_messages: int             # scenario 8: TTL at scale
    import_runs: int


FULL = Sizes(
    repeat=5, messages=20_000, slow_messages=2_000, get_ack=20_000, get_ack_remote=2_000,
    bindings=(10, 100, 1_000, 10_000, 100_000), rabbitmq_max_bindings=10_000, routed=20_000,
    routed_remote=5_000, fresh=2_000, fresh_remote=20, memory_messages=1_000_000,
    scale=(1, 10, 100, 1_000, 10_000), scale_messages=5_000, ttl_messages=100_000, import_runs=7,
)
SMOKE = Sizes(
    repeat=1, messages=200, slow_messages=20, get_ack=200, get_ack_remote=20,
    bindings=(10, 100), rabbitmq_max_bindings=100, routed=200, routed_remote=50,
    fresh=20, fresh_remote=2, memory_messages=2_000, scale=(1, 10), scale_messages=50,
    ttl_messages=500, import_runs=1,
)


class Unavailable(Exception):
    """A peer or case that cannot run here; the message says why (shown in its row)."""


@dataclasses.dataclass
class Config:
    """What this run does: its sizes and which peers it may use."""

    sizes: Sizes
    smoke: bool
    rabbitmq: bool = True
    profile: bool = True
    log: Callable[[str], Any] = print


@dataclasses.dataclass
class Target:
    """A goal from the design, with what this run measured against it."""

    goal: str
    measured: str
    met: bool | None  # None: could not be measured in this run

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "not measured"}[self.met]


@dataclasses.dataclass
class Table:
    """One printed table: a title, column names and rows of text, and notes under it."""

    title: str
    columns: list[str]
    rows: list[list[str]] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Section:
    """What one scenario produces: tables, targets, plot data and profiles."""

    key: str
    title: str
    tables: list[Table] = dataclasses.field(default_factory=list)
    targets: list[Target] = dataclasses.field(default_factory=list)
    plot: dict[str, Any] = dataclasses.field(default_factory=dict)
    profiles: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(len(table.rows) for table in self.tables)


class Timing(float):
    """Wall-clock seconds (the float's value), with the CPU seconds this process used over the same span.

    Wall-clock time is what a test waits; CPU time is what memq itself costs, and stays meaningful when
    other work on a busy machine stretches the wall clock. For a peer that works in another process (the
    real RabbitMQ), CPU time counts only the client's part.
    """

    cpu: float

    def __new__(cls, wall: float, cpu: float) -> "Timing":
        timing = super().__new__(cls, wall)
        timing.cpu = cpu
        return timing

    def __add__(self, other: float) -> "Timing":  # type: ignore[override]
        return Timing(float(self) + float(other), self.cpu + getattr(other, "cpu", float("nan")))

    __radd__ = __add__


class Mark:
    """A point in time on both clocks; `now() - mark` is the `Timing` since."""

    __slots__ = ("wall", "cpu")

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def __sub__(self, start: "Mark") -> Timing:
        return Timing(self.wall - start.wall, self.cpu - start.cpu)


now = Mark


def cpu_of(seconds: float) -> float:
    """The CPU seconds of a measurement (NaN when only wall-clock time was taken)."""
    return getattr(seconds, "cpu", float("nan"))


SLOW_REPEAT = 3
"""Repeats for the cases that take seconds each (slow peers): the median of three."""


def medians(cases: dict[str, Callable[[], float]], repeat: int,
            slow: frozenset[str] | set[str] = frozenset()) -> dict[str, float | str]:
    """Run each case `repeat` times, interleaved; the median of what each returned, or why it could not run.

    A case returns the seconds it measured itself (so it can leave its set-up out of the timing), or
    raises `Unavailable`. The cases named in `slow` run at most `SLOW_REPEAT` times.
    """
    results: dict[str, list[float]] = {name: [] for name in cases}
    failed: dict[str, str] = {}
    for round_ in range(repeat):
        for name, case in cases.items():
            if name in failed or (name in slow and round_ >= SLOW_REPEAT):
                continue
            try:
                gc.collect()
                results[name].append(case())
            except Unavailable as why:
                failed[name] = str(why)
    return {name: failed[name] if name in failed else
            Timing(statistics.median(values), statistics.median(cpu_of(v) for v in values))
            for name, values in results.items()}


def repeats(sizes: Sizes) -> str:
    """How a table's medians were taken, for its title."""
    slow = min(sizes.repeat, SLOW_REPEAT)
    return f"median of {sizes.repeat}" + (f", {slow} for the slow peers" if slow != sizes.repeat else "")


def fmt_rate(per_second: float) -> str:
    return f"{per_second:,.0f}"


def fmt_us(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:,.2f}" if us < 10 else f"{us:,.1f}" if us < 100 else f"{us:,.0f}"


def fmt_ratio(ratio: float) -> str:
    return f"{ratio:,.2f}x" if ratio < 10 else f"{ratio:,.1f}x" if ratio < 100 else f"{ratio:,.0f}x"


def fmt_speedup(ratio: float) -> str:
    """How much faster memq is, given (the peer's cost / memq's cost)."""
    return f"{fmt_ratio(ratio)} faster" if ratio >= 1 else f"{fmt_ratio(1 / ratio)} slower"


def fmt_int(value: int) -> str:
    return f"{value:,}"
