"""Scenario 8: cost per message as the broker grows, and TTL expiry at scale.

Each point measures publish -> deliver -> ack of `scale_messages` messages on one queue ("q") while
the broker holds N of something else:
- idle queues: N other queues declared;
- consumers: N consumers on "q" (one channel), served round-robin;
- unacked: N messages delivered to another consumer on the same channel and never acked;
- backlog: N messages ready in "q" ahead of them (publish at the tail, basic_get + ack at the head).
The curve should stay flat: the cost of one message should not depend on N.

TTL at scale: a queue holds `ttl_messages` messages with a 60 s TTL. Advancing the virtual clock by
a day should cost about what expiring them once costs (advancing just past the last expiry): timers
fire only at the instants something expires, however far the clock moves.
"""

from __future__ import annotations

import gc
from typing import Any, Callable

from ._harness import Config, Section, Table, Target, fmt_int, fmt_ratio, fmt_us, medians, now, cpu_of
from .peers import BODY

__all__ = ["run", "DIMENSIONS"]


def _broker() -> tuple[Any, Any]:
    import memq

    broker = memq.Broker(seed=0, start=0)
    channel = broker.connect().channel()
    channel.queue_declare("q")
    return broker, channel


def _ack(channel: Any, deliver: Any, properties: Any, body: bytes) -> None:
    channel.basic_ack(deliver.delivery_tag)


def _consume_through(broker: Any, channel: Any, m: int) -> float:
    publish = channel.basic_publish
    start = now()
    for _ in range(m):
        publish("", "q", BODY)
    delivered = broker.run_until_idle()
    elapsed = now() - start
    assert delivered == m, (delivered, m)
    return elapsed


def idle_queues(n: int, m: int) -> float:
    broker, channel = _broker()
    for i in range(n):
        channel.queue_declare(f"idle{i}")
    channel.basic_consume("q", _ack)
    return _consume_through(broker, channel, m)


def consumers(n: int, m: int) -> float:
    broker, channel = _broker()
    for _ in range(n):
        channel.basic_consume("q", _ack)
    return _consume_through(broker, channel, m)


def unacked(n: int, m: int) -> float:
    broker, channel = _broker()
    channel.queue_declare("held")
    channel.basic_consume("held", lambda *args: None)
    for _ in range(n):
        channel.basic_publish("", "held", BODY)
    broker.run_until_idle()
    assert len(channel.unacked) == n
    channel.basic_consume("q", _ack)
    return _consume_through(broker, channel, m)


def backlog(n: int, m: int) -> float:
    broker, channel = _broker()
    for _ in range(n):
        channel.basic_publish("", "q", BODY)
    publish, get, ack = channel.basic_publish, channel.basic_get, channel.basic_ack
    start = now()
    for _ in range(m):
        publish("", "q", BODY)
        ack(get("q").delivery_tag)
    return now() - start


DIMENSIONS: dict[str, Callable[[int, int], float]] = {
    "idle queues": idle_queues, "consumers": consumers, "unacked": unacked, "backlog": backlog,
}


def _ttl_broker(n: int, spread: bool) -> Any:
    """A broker whose queue holds n messages expiring 60 s after publication (1 ms apart if spread)."""
    import memq

    broker = memq.Broker(seed=0, start=0)
    channel = broker.connect().channel()
    channel.queue_declare("ttl", arguments={"x-message-ttl": 60_000})
    for _ in range(n):
        channel.basic_publish("", "ttl", BODY)
        if spread:
            broker.clock.advance(0.001)
    return broker


def ttl_case(n: int, spread: bool, seconds: float) -> Callable[[], float]:
    def case() -> float:
        broker = _ttl_broker(n, spread)
        start = now()
        broker.clock.advance(seconds)
        elapsed = now() - start
        assert broker.fates["expired"] == n
        return elapsed

    return case


def run(config: Config) -> Section:
    sizes = config.sizes
    m = sizes.scale_messages
    table = Table(f"CPU cost per message (publish -> deliver -> ack, us) as N grows, {fmt_int(m)} messages "
                  f"per point (median of {sizes.repeat})", ["N", *DIMENSIONS])
    curves: dict[str, dict[int, float]] = {name: {} for name in DIMENSIONS}
    for n in sizes.scale:
        config.log(f"  scaling: N={fmt_int(n)}")
        cases = {name: (lambda f=f, n=n: f(n, m)) for name, f in DIMENSIONS.items()}
        for name, result in medians(cases, sizes.repeat).items():
            if not isinstance(result, str):
                curves[name][n] = cpu_of(result) / m
        table.rows.append([fmt_int(n), *(fmt_us(curves[name][n]) for name in DIMENSIONS)])
    largest, smallest = max(sizes.scale), min(sizes.scale)
    table.rows.append([f"{fmt_int(largest)} vs {fmt_int(smallest)}",
                       *(fmt_ratio(curves[name][largest] / curves[name][smallest]) for name in DIMENSIONS)])
    quiet = _without_collector(config, (smallest, largest), m)
    table.rows.append([f"{fmt_int(smallest)}, collector off", *(fmt_us(quiet[name][smallest]) for name in DIMENSIONS)])
    table.rows.append([f"{fmt_int(largest)}, collector off", *(fmt_us(quiet[name][largest]) for name in DIMENSIONS)])
    table.rows.append([f"{fmt_int(largest)} vs {fmt_int(smallest)}, collector off",
                       *(fmt_ratio(quiet[name][largest] / quiet[name][smallest]) for name in DIMENSIONS)])
    table.notes.append("'collector off': the same points with Python's cyclic garbage collector disabled "
                       "(gc.disable()) while they run; the difference is what the collector's passes over a "
                       "larger broker cost.")
    section = Section("scaling", "8. Scaling", [table, _ttl_table(config)])
    section.plot = {"curves": curves}
    for name, curve in curves.items():
        ratio = curve[largest] / curve[smallest]
        quiet_ratio = quiet[name][largest] / quiet[name][smallest]
        section.targets.append(Target(f"cost per message stays flat as {name} grow (N={fmt_int(smallest)} "
                                      f"to {fmt_int(largest)}: <= 2x)",
                                      f"{fmt_ratio(ratio)}; {fmt_ratio(quiet_ratio)} with the collector off",
                                      ratio <= 2))
    ttl_ratios = section.plot["ttl"] = _ttl_ratios(section.tables[1])
    for label, ratio in ttl_ratios.items():
        section.targets.append(Target(f"TTL at scale ({label}): a simulated day costs about one expiry pass "
                                      "(<= 2x)", fmt_ratio(ratio), ratio <= 2))
    return section


def _without_collector(config: Config, points: tuple[int, ...], m: int) -> dict[str, dict[int, float]]:
    """The CPU cost per message at these points with the cyclic garbage collector disabled."""
    config.log("  scaling: collector off")
    quiet: dict[str, dict[int, float]] = {name: {} for name in DIMENSIONS}
    gc.disable()
    try:
        for n in points:
            cases = {name: (lambda f=f, n=n: f(n, m)) for name, f in DIMENSIONS.items()}
            for name, result in medians(cases, config.sizes.repeat).items():
                quiet[name][n] = cpu_of(result) / m
    finally:
        gc.enable()
    return quiet


def _ttl_table(config: Config) -> Table:
    n = config.sizes.ttl_messages
    repeat = min(3, config.sizes.repeat)
    table = Table(f"TTL at scale: {fmt_int(n)} messages with a 60 s TTL, CPU time (median of {repeat})",
                  ["published", "expire once: advance just past the last expiry", "advance one day", "day / once"])
    for spread, label in ((False, "at one instant"), (True, "1 ms apart")):
        config.log(f"  TTL: {fmt_int(n)} messages {label}")
        once = 60.0 + (n * 0.001 if spread else 0.0) + 0.5
        results = medians({"once": ttl_case(n, spread, once), "day": ttl_case(n, spread, 86_400.0)}, repeat)
        once_s, day_s = cpu_of(results["once"]), cpu_of(results["day"])
        table.rows.append([label, f"{once_s * 1e3:,.1f} ms", f"{day_s * 1e3:,.1f} ms", fmt_ratio(day_s / once_s)])
    return table


def _ttl_ratios(table: Table) -> dict[str, float]:
    return {row[0]: float(row[3].rstrip("x").replace(",", "")) for row in table.rows}
