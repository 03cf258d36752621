"""Where memq's time goes: cProfile of the native hot paths, per message.

cProfile adds a fixed cost to every call, so its microseconds are larger than the unprofiled ones;
the split between functions (and the calls per message) is what to read.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import subprocess
import sys
from typing import Callable

from ._harness import Config, Section, Table, Unavailable
from .peers import MemqNative, MemqPika

__all__ = ["run", "profile_table", "import_profile"]

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


_IMPORT_PROFILE = """
import cProfile, os, pstats, attrs, sortedcontainers
profiler = cProfile.Profile()
profiler.enable()
import memq
profiler.disable()
stats = pstats.Stats(profiler).stats
for (filename, line, name), (calls, _p, own, cumulative, _c) in sorted(
        stats.items(), key=lambda item: item[1][2], reverse=True)[:TOP]:
    where = f"{os.path.basename(filename)}:{line} {name}" if line else name
    print(where, calls, own, cumulative, sep="\t")
"""


def import_profile() -> Table:
    """cProfile of `import memq` in a fresh interpreter (attrs and sortedcontainers imported first)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    code = _IMPORT_PROFILE.replace("TOP", str(TOP))
    subprocess.run([sys.executable, "-c", "import memq"], check=True, env=env)  # bytecode caches
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env).stdout
    table = Table(f"cProfile: import memq in a fresh interpreter, after attrs and sortedcontainers "
                  f"(top {TOP} by own time)", ["function", "calls", "own ms", "cumulative ms"])
    for line in out.splitlines():
        where, calls, own, cumulative = line.split("\t")
        table.rows.append([where, calls, f"{float(own) * 1e3:.1f}", f"{float(cumulative) * 1e3:.1f}"])
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
    pika_n = min(n, 2_000)
    try:
        pika_peer = MemqPika()
        pika_peer.throughput(min(pika_n, 200))  # warm up, and raise Unavailable early
        section.tables.append(profile_table(
            f"cProfile: pika's BlockingConnection on memq (memq.pika), publish -> deliver -> ack, "
            f"{pika_n:,} messages (top {TOP} by own time)", lambda: pika_peer.throughput(pika_n), pika_n))
    except Unavailable as why:
        config.log(f"  no memq.pika profile: {why}")
    section.tables.append(import_profile())
    return section
