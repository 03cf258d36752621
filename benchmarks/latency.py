"""Scenario 2: basic_get + ack round trip on a queue filled beforehand (only the round trips are timed)."""

from __future__ import annotations

from ._compare import COLUMNS, Comparison
from ._harness import Config, Section, Table, fmt_int, medians, repeats
from .peers import KombuMemory, MemqNative, MemqPika, Peer, RabbitMQ

__all__ = ["run"]


def _peers(config: Config) -> list[tuple[Peer, int]]:
    sizes = config.sizes
    peers: list[tuple[Peer, int]] = [(MemqNative(True), sizes.get_ack), (MemqNative(False), sizes.get_ack),
                                     (MemqPika(), sizes.get_ack_remote)]
    if config.rabbitmq:
        peers.append((RabbitMQ(), sizes.get_ack_remote))
    peers.append((KombuMemory(), sizes.get_ack))
    return peers


def run(config: Config) -> Section:
    peers = _peers(config)
    slow = {p.name for p, n in peers if n < config.sizes.get_ack}
    results = medians({p.name: (lambda p=p, n=n: p.get_ack(n)) for p, n in peers}, config.sizes.repeat, slow)
    table = Table(f"basic_get + ack round trip ({repeats(config.sizes)})", ["peer", "round trips", *COLUMNS])
    comparison = Comparison(table)
    for peer, n in peers:
        comparison.add(peer.name, results[peer.name], n, [fmt_int(n)])
    comparison.finish()
    section = Section("latency", "2. basic_get + ack latency", [table])
    section.plot = {"per_op": comparison.wall}
    section.targets.append(comparison.target(
        "RabbitMQ 3.10 (pika)", 50, "memq native basic_get + ack >= 50x faster than the real RabbitMQ", cpu=False))
    return section
