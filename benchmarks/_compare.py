"""One row per peer, with memq's native API as the reference: cost per operation and the ratios.

The ratio against a peer in another process (the real RabbitMQ) is taken on wall-clock time, what a
test waits. Against the in-process peers it is also given on CPU time, which a busy machine distorts
less; a peer's CPU time in another process would count only its client, so that cell stays empty.
"""

from __future__ import annotations

import math

from ._harness import Table, Target, cpu_of, fmt_rate, fmt_ratio, fmt_speedup, fmt_us

__all__ = ["REFERENCE", "REMOTE", "Comparison", "COLUMNS"]

REFERENCE = "memq (native API)"
REMOTE = frozenset({"RabbitMQ 3.10 (pika)"})
COLUMNS = ["us/op", "CPU us/op", "memq vs peer", "memq vs peer (CPU)"]


class Comparison:
    """Fills a table's rows from `medians()` results and keeps the per-operation costs for targets."""

    def __init__(self, table: Table, rate: bool = False) -> None:
        self.table = table
        self.rate = rate
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def add(self, name: str, result: float | str, count: int, lead: list[str]) -> None:
        """A peer's row: `lead` cells, then (msg/s,) us/op, CPU us/op and the ratios (filled by `finish`)."""
        if isinstance(result, str):
            self.table.rows.append([name, *lead, *(["-"] if self.rate else []), "-", "-", result, ""])
            return
        self.wall[name] = float(result) / count
        self.cpu[name] = cpu_of(result) / count
        cpu_cell = "-" if math.isnan(self.cpu[name]) else fmt_us(self.cpu[name])
        if name in REMOTE:
            cpu_cell += " (client only)"
        rate = [fmt_rate(1 / self.wall[name])] if self.rate else []
        self.table.rows.append([name, *lead, *rate, fmt_us(self.wall[name]), cpu_cell, "", ""])

    def finish(self) -> None:
        """Fill the ratio cells, now that the reference is known."""
        ref_wall, ref_cpu = self.wall.get(REFERENCE), self.cpu.get(REFERENCE)
        for row in self.table.rows:
            name = row[0]
            if name == REFERENCE:
                row[-2], row[-1] = "(reference)", "(reference)"
            elif ref_wall and name in self.wall:
                row[-2] = fmt_speedup(self.wall[name] / ref_wall)
                if name not in REMOTE and ref_cpu and not math.isnan(self.cpu[name]):
                    row[-1] = fmt_speedup(self.cpu[name] / ref_cpu)

    def target(self, peer: str, goal: float, text: str, *, cpu: bool) -> Target:
        """memq's native API at least `goal` times cheaper per operation than `peer` (on CPU or wall time)."""
        costs = self.cpu if cpu else self.wall
        if REFERENCE not in costs or peer not in costs:
            return Target(text, "-", None)
        ratio = costs[peer] / costs[REFERENCE]
        wall_ratio = self.wall[peer] / self.wall[REFERENCE]
        clock = "CPU time" if cpu else "wall-clock time"
        detail = f"{fmt_ratio(ratio)} on {clock} ({fmt_us(costs[REFERENCE])} vs {fmt_us(costs[peer])} us)"
        if cpu:
            detail += f"; {fmt_ratio(wall_ratio)} on wall-clock time"
        return Target(text, detail, ratio >= goal)
