"""Scenario 4: per-test overhead: a fresh broker, connection and channel; and what `import memq` costs.

The import is timed in fresh interpreters (`import memq` after the interpreter started, attrs and
sortedcontainers included, since memq brings them in), median over several.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

from ._compare import COLUMNS, REFERENCE, Comparison
from ._harness import Config, Section, Table, Target, fmt_int, fmt_us, medians, repeats
from .peers import DramatiqStub, FastStreamTest, KombuMemory, MemqCelery, MemqNative, MemqPika, Peer, RabbitMQ

__all__ = ["run", "import_seconds"]

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


def import_seconds(runs: int) -> dict[str, float]:
    """Medians, over fresh interpreters, of what `import memq` costs: wall and CPU seconds, in total and
    for memq's own modules (after attrs and sortedcontainers, which it brings in).

    PYTHONDONTWRITEBYTECODE is dropped (a first run writes the bytecode caches), since an import that
    compiles every module from source measures the compiler, not memq.
    """
    code = ("import time; w, c = time.perf_counter(), time.process_time(); import attrs, sortedcontainers; "
            "w1, c1 = time.perf_counter(), time.process_time(); import memq; "
            "w2, c2 = time.perf_counter(), time.process_time(); print(w2 - w, c2 - c, w2 - w1, c2 - c1)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def once() -> list[float]:
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
        return [float(x) for x in out.stdout.split()]

    once()
    samples = [once() for _ in range(runs)]
    keys = ("wall", "cpu", "own wall", "own cpu")
    return {key: statistics.median(sample[i] for sample in samples) for i, key in enumerate(keys)}


def slowest_imports(top: int = 8) -> list[tuple[str, float]]:
    """The modules whose own import time is largest when importing memq (python -X importtime)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    stderr = subprocess.run([sys.executable, "-X", "importtime", "-c", "import memq"], check=True,
                            capture_output=True, text=True, env=env).stderr
    rows = []
    for line in stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[0].split(":")[-1].strip().isdigit():
            rows.append((parts[2].strip(), int(parts[0].split(":")[-1]) / 1e6))
    return sorted(rows, key=lambda row: row[1], reverse=True)[:top]


def run(config: Config) -> Section:
    peers = _peers(config)
    slow = {p.name for p, n in peers if n < config.sizes.fresh}
    results = medians({p.name: (lambda p=p, n=n: p.fresh(n)) for p, n in peers}, config.sizes.repeat, slow)
    table = Table(f"Per-test overhead: a fresh broker (or connection) and channel ({repeats(config.sizes)})",
                  ["peer", "what", "times", *COLUMNS])
    comparison = Comparison(table)
    for peer, n in peers:
        comparison.add(peer.name, results[peer.name], n, [WHAT[peer.name], fmt_int(n)])
    comparison.finish()
    imported = import_seconds(config.sizes.import_runs)
    runs = fmt_int(config.sizes.import_runs)
    table.rows.append(["import memq", "fresh interpreter, attrs and sortedcontainers included", runs,
                       f"{imported['wall'] * 1e3:.1f} ms", f"{imported['cpu'] * 1e3:.1f} ms", "", ""])
    table.rows.append(["import memq, its own modules", "the same, after attrs and sortedcontainers", runs,
                       f"{imported['own wall'] * 1e3:.1f} ms", f"{imported['own cpu'] * 1e3:.1f} ms", "", ""])
    section = Section("overhead", "4. Per-test overhead", [table])
    if imported["cpu"] >= 0.020:
        modules = Table("Where `import memq` spends its time (python -X importtime, own time per module)",
                        ["module", "own ms"], [[name, f"{seconds * 1e3:.1f}"] for name, seconds in slowest_imports()])
        section.tables.append(modules)
    section.plot = {"each": comparison.wall}
    goal = "a fresh Broker() + connect() + channel() costs < 100 us (CPU time)"
    ref = comparison.cpu.get(REFERENCE)
    section.targets.append(Target(goal, f"{fmt_us(ref)} us CPU, {fmt_us(comparison.wall[REFERENCE])} us wall",
                                  ref < 100e-6) if ref else Target(goal, "-", None))
    section.targets.append(Target(
        "`import memq` adds < 20 ms (CPU time, attrs and sortedcontainers included)",
        f"{imported['cpu'] * 1e3:.1f} ms CPU, {imported['wall'] * 1e3:.1f} ms wall; memq's own modules "
        f"{imported['own cpu'] * 1e3:.1f} ms CPU", imported["cpu"] < 0.020))
    return section
