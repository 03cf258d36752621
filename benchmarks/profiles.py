"""Where memq's time goes: cProfile of the native hot paths, per message.

cProfile adds a fixed cost to every call, so its microseconds are larger than the unprofiled ones;
the split between functions (and the calls per message) is what to read.
"""

from __future__ import annotations

import cProfile
import os
import pstats
from typing import Callable

from ._harness import Config, Section, Table
from .peers import MemqNative

__all__ = ["run", "profile_table"]

TOP = 14


def profile_table(title: str, func: Callable[[], object], per: int) -> Table:
    """The functions that took the most own time while `func` ran, per unit of `per`."""
    profiler = cProfile.Profile()
    profiler.enable()
    func()
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    table = Table(title, ["function", "calls/msg", "own us/msg", "cumulative us/msg"])
    total = sum(own for (_calls, _prim, own, _cum, _callers) in stats.values())
    ranked = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:TOP]
    for (filename, line, name), (calls, _prim, own, cumulative, _callers) in ranked:
        where = f"{os.path.basename(filename)}:{line} {name}" if line else name
        table.rows.append([where, f"{calls / per:.2f}", f"{own / per * 1e6:.2f}", f"{cumulative / per * 1e6:.2f}"])
    table.notes.append(f"Total own time under the profiler: {total / per * 1e6:.2f} us per message.")
    return table


def run(config: Config) -> Section:
    n = config.sizes.messages
    peer = MemqNative(True)
    peer.throughput(min(n, 2_000))  # warm up
    section = Section("profiles", "Profiles of memq's hot paths")
    section.tables.append(profile_table(
        f"cProfile: memq native publish -> deliver -> ack, {n:,} messages (top {TOP} by own time)",
        lambda: peer.throughput(n), n))
    section.tables.append(profile_table(
        f"cProfile: memq native basic_get + ack, {n:,} round trips, filling included (top {TOP} by own time)",
        lambda: peer.get_ack(n), n))
    return section
