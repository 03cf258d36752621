"""Scenario 4: per-test overhead: a fresh broker, connection and channel; and what `import memq` costs.

The import is timed in fresh interpreters (`import memq` after the interpreter started, attrs and
sortedcontainers included, since memq brings them in), median over several.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from ._harness import Config, Section, Table, Target, fmt_int, fmt_ratio, fmt_speedup, fmt_us, medians
from .peers import DramatiqStub, FastStreamTest, KombuMemory, MemqCelery, MemqNative, MemqPika, Peer, RabbitMQ

__all__ = ["run", "import_seconds"]

REFERENCE = "memq (native API)"
WHAT = {
    "memq (native API)": "Broker() + connect() + channel()",
    "memq (native API, trace=False)": "Broker(trace=False) + connect() + channel()",
    "memq through pika (memq.pika)": "patched(Broker()) + BlockingConnection + channel + close",
    "Celery on memq (memq.celery)": "memq.celery.attach(app, Broker()) + detach()",
    "RabbitMQ 3.10 (pika)": "BlockingConnection + channel + close",
    "kombu memory://": "Connection('memory://') + channel + release",
    "dramatiq StubBroker": "StubBroker() + close()",
    "FastStream TestRabbitBroker": "RabbitBroker + subscriber + TestRabbitBroker enter/exit",
}


def _peers(config: Config) -> list[tuple[Peer, int]]:
    many, few = config.sizes.fresh, config.sizes.fresh_remote
    peers: list[tuple[Peer, int]] = [(MemqNative(True), many), (MemqNative(False), many), (MemqPika(), few * 10),
                                     (MemqCelery(), few)]
    if config.rabbitmq:
        peers.append((RabbitMQ(), few))
    peers += [(KombuMemory(), many), (DramatiqStub(), many), (FastStreamTest(), few)]
    return peers


def import_seconds(runs: int) -> float:
    """Median seconds `import memq` takes in a fresh interpreter."""
    code = "import time; t = time.perf_counter(); import memq; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                  text=True).stdout) for _ in range(runs)]
    return statistics.median(times)


def run(config: Config) -> Section:
    peers = _peers(config)
    results = medians({p.name: (lambda p=p, n=n: p.fresh(n)) for p, n in peers}, config.sizes.repeat)
    table = Table(f"Per-test overhead: a fresh broker (or connection) and channel (median of {config.sizes.repeat})",
                  ["peer", "what", "times", "us each", "memq (native API) vs peer"])
    each: dict[str, float] = {}
    for peer, n in peers:
        result = results[peer.name]
        if isinstance(result, str):
            table.rows.append([peer.name, WHAT[peer.name], "-", "-", result])
        else:
            each[peer.name] = result / n
            table.rows.append([peer.name, WHAT[peer.name], fmt_int(n), fmt_us(each[peer.name]), ""])
    ref = each.get(REFERENCE)
    for row in table.rows:
        if row[0] == REFERENCE:
            row[4] = "(reference)"
        elif ref and row[0] in each:
            row[4] = fmt_speedup(each[row[0]] / ref)
    imported = import_seconds(config.sizes.import_runs)
    table.rows.append(["import memq", "in a fresh interpreter", fmt_int(config.sizes.import_runs),
                       fmt_us(imported), ""])
    section = Section("overhead", "4. Per-test overhead", [table])
    section.plot = {"each": each}
    goal = "a fresh Broker() + connect() + channel() costs < 100 us"
    section.targets.append(Target(goal, f"{fmt_us(ref)} us", ref < 100e-6) if ref else Target(goal, "-", None))
    section.targets.append(Target("`import memq` adds < 20 ms", f"{imported * 1e3:.1f} ms", imported < 0.020))
    return section
