"""Scenario 7: memory per queued 100-byte message, measured with tracemalloc.

The bodies are made before tracing starts, so what is traced is memq's own cost per message: the
message, its queue entry, its place in the queue and, with the trace on, its trace records. The
body itself (a 100-byte `bytes` is 133 bytes in CPython) comes on top.
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc

from ._harness import Config, Section, Table, Target, fmt_int

__all__ = ["run", "bytes_per_message"]

GOAL_BYTES = 400


def bytes_per_message(n: int, trace: bool) -> tuple[float, float, float]:
    """(bytes per message traced while publishing n messages, peak bytes per message, seconds)."""
    import memq

    bodies = [b"%0100d" % i for i in range(n)]
    broker = memq.Broker(seed=0, start=0, trace=trace)
    channel = broker.connect().channel()
    channel.queue_declare("q")
    publish = channel.basic_publish
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        for body in bodies:
            publish("", "q", body)
        elapsed = time.perf_counter() - start
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert channel.queue_declare("q", passive=True).message_count == n
    return (current - before) / n, (peak - before) / n, elapsed


def run(config: Config) -> Section:
    n = config.sizes.memory_messages
    body = sys.getsizeof(b"x" * 100)
    table = Table(f"Memory per queued 100-byte message, {fmt_int(n)} messages in one queue (tracemalloc)",
                  ["broker", "bytes/msg (memq's own)", "peak bytes/msg", "with the body", "publish time (traced)"])
    per: dict[str, float] = {}
    for trace in (True, False):
        name = "Broker()" if trace else "Broker(trace=False)"
        config.log(f"  memory: {name}, {fmt_int(n)} messages")
        current, peak, elapsed = bytes_per_message(n, trace)
        per[name] = current
        table.rows.append([name, f"{current:,.0f}", f"{peak:,.0f}", f"{current + body:,.0f}", f"{elapsed:,.1f} s"])
    table.notes.append(f"'with the body' adds the {body}-byte `bytes` object each message carries. "
                       "Tracing slows allocation, so the publish time here is not a speed figure.")
    section = Section("memory", "7. Memory per queued message", [table])
    for name, value in per.items():
        section.targets.append(Target(f"{name}: <= {GOAL_BYTES} bytes of overhead per queued message",
                                      f"{value:,.0f} bytes", value <= GOAL_BYTES))
    return section
