"""Scenario 1: publish -> deliver to a consumer -> ack, 100-byte bodies, every peer in the same run.

Each peer publishes its messages, then a consumer takes and acks every one; the time covers both.
Peers that need milliseconds per message (Celery on memq's workers, FastStream's test broker) are
measured on fewer messages, which their rows say; their rate does not depend on the count.
"""

from __future__ import annotations

from typing import Callable

from ._compare import COLUMNS, REFERENCE, Comparison
from ._harness import Config, Section, Table, fmt_int, medians, repeats
from .peers import Peer, all_peers

__all__ = ["run"]

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
        ["peer", "messages", "msg/s", *COLUMNS],
    )
    comparison = Comparison(table, rate=True)
    for peer in peers:
        comparison.add(peer.name, results[peer.name], counts[peer.name], [fmt_int(counts[peer.name])])
    comparison.finish()
    if not config.rabbitmq:
        table.notes.append("RabbitMQ skipped (--no-rabbitmq).")
    table.notes.append(
        f"{REFERENCE} is the default `memq.Broker()`, which records every event in `broker.trace`; "
        "Celery and dramatiq carry a 100-character str (their JSON cannot carry bytes)."
    )
    section = Section("throughput", "1. Throughput: publish -> deliver -> ack", [table])
    section.plot = {"rates": {name: 1 / cost for name, cost in comparison.wall.items()}}
    section.targets = [
        comparison.target(RABBITMQ, 30, "memq native throughput >= 30x the real RabbitMQ through pika", cpu=False),
        comparison.target(KOMBU, 5, "memq native throughput >= 5x kombu memory://", cpu=True),
    ]
    return section
