"""Scenario 1: publish -> deliver to a consumer -> ack, 100-byte bodies, every peer in the same run.

Each peer publishes its messages, then a consumer takes and acks every one; the time covers both.
Peers that need milliseconds per message (Celery on memq's workers, FastStream's test broker) are
measured on fewer messages, which their rows say; their rate does not depend on the count.
"""

from __future__ import annotations

from typing import Callable

from ._harness import Config, Section, Table, Target, fmt_int, fmt_rate, fmt_ratio, fmt_speedup, fmt_us, medians, repeats
from .peers import Peer, all_peers

__all__ = ["run", "REFERENCE"]

REFERENCE = "memq (native API)"
RABBITMQ = "RabbitMQ 3.10 (pika)"
KOMBU = "kombu memory://"


def _case(peer: Peer, n: int) -> Callable[[], float]:
    return lambda: peer.throughput(n)


def run(config: Config) -> Section:
    sizes = config.sizes
    peers = [p for p in all_peers() if config.rabbitmq or p.name != RABBITMQ]
    counts = {p.name: sizes.slow_messages if p.slow else sizes.messages for p in peers}
    slow = {p.name for p in peers if not p.name.startswith("memq (native")}
    results = medians({p.name: _case(p, counts[p.name]) for p in peers}, sizes.repeat, slow)
    table = Table(
        f"Publish -> consume -> ack, 100-byte bodies ({repeats(sizes)}, here every peer but memq's native API)",
        ["peer", "messages", "msg/s", "us/msg", "memq (native API) vs peer"],
    )
    rates: dict[str, float] = {}
    for peer in peers:
        result = results[peer.name]
        if isinstance(result, str):
            table.rows.append([peer.name, "-", "-", "-", result])
            continue
        rates[peer.name] = counts[peer.name] / result
        table.rows.append([peer.name, fmt_int(counts[peer.name]), fmt_rate(rates[peer.name]),
                           fmt_us(result / counts[peer.name]), ""])
    ref = rates.get(REFERENCE)
    for row in table.rows:
        if row[0] == REFERENCE:
            row[4] = "(reference)"
        elif ref and row[0] in rates:
            row[4] = fmt_speedup(ref / rates[row[0]])
    if not config.rabbitmq:
        table.notes.append("RabbitMQ skipped (--no-rabbitmq).")
    table.notes.append(
        f"{REFERENCE} is the default `memq.Broker()`, which records every event in `broker.trace`; "
        "Celery and dramatiq carry a 100-character str (their JSON cannot carry bytes)."
    )
    section = Section("throughput", "1. Throughput: publish -> deliver -> ack", [table])
    section.plot = {"rates": rates}
    section.targets = [
        _ratio_target(rates, RABBITMQ, 30, "the real RabbitMQ through pika"),
        _ratio_target(rates, KOMBU, 5, "kombu memory://"),
    ]
    return section


def _ratio_target(rates: dict[str, float], peer: str, goal: float, what: str) -> Target:
    text = f"memq native throughput >= {goal}x {what}"
    if REFERENCE not in rates or peer not in rates:
        return Target(text, "-", None)
    ratio = rates[REFERENCE] / rates[peer]
    return Target(text, f"{fmt_ratio(ratio)} ({fmt_rate(rates[REFERENCE])} vs {fmt_rate(rates[peer])} msg/s)",
                  ratio >= goal)
