"""Scenario 2: basic_get + ack round trip on a queue filled beforehand (only the round trips are timed)."""

from __future__ import annotations

from ._harness import Config, Section, Table, Target, fmt_int, fmt_ratio, fmt_speedup, fmt_us, medians, repeats
from .peers import KombuMemory, MemqNative, MemqPika, Peer, RabbitMQ

__all__ = ["run"]

REFERENCE = "memq (native API)"


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
    table = Table(f"basic_get + ack round trip ({repeats(config.sizes)})",
                  ["peer", "round trips", "us per get+ack", "memq (native API) vs peer"])
    per_op: dict[str, float] = {}
    for peer, n in peers:
        result = results[peer.name]
        if isinstance(result, str):
            table.rows.append([peer.name, "-", "-", result])
        else:
            per_op[peer.name] = result / n
            table.rows.append([peer.name, fmt_int(n), fmt_us(per_op[peer.name]), ""])
    ref = per_op.get(REFERENCE)
    for row in table.rows:
        if row[0] == REFERENCE:
            row[3] = "(reference)"
        elif ref and row[0] in per_op:
            row[3] = fmt_speedup(per_op[row[0]] / ref)
    section = Section("latency", "2. basic_get + ack latency", [table])
    section.plot = {"per_op": per_op}
    rabbit = per_op.get("RabbitMQ 3.10 (pika)")
    goal = "memq native basic_get + ack >= 50x faster than the real RabbitMQ"
    if ref and rabbit:
        ratio = rabbit / ref
        section.targets.append(Target(goal, f"{fmt_ratio(ratio)} ({fmt_us(ref)} vs {fmt_us(rabbit)} us)",
                                      ratio >= 50))
    else:
        section.targets.append(Target(goal, "-", None))
    return section
