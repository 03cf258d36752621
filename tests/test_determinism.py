"""Determinism: the same program with the same seed gives the same trace, whatever the hash seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def scenario() -> str:
    """Topics, server-named queues, consumers with prefetch, TTL, dead-lettering, restart; returns the trace."""
    import memq

    broker = memq.Broker(seed=1234, start=1_700_000_000)
    conn = broker.connect()
    ch = conn.channel()
    ch.exchange_declare("logs", "topic")
    ch.exchange_declare("dead", "fanout")
    ch.exchange_declare("meta", "headers")
    graveyard = ch.queue_declare("", exclusive=True).queue
    ch.queue_bind(graveyard, "dead")
    patterns = ["*.error", "kern.#", "#", "#.info.*", "app.*.debug", "a.b.c"]
    queues = []
    for index, pattern in enumerate(patterns):
        name = ch.queue_declare("", arguments={"x-message-ttl": 500 * (index + 1),
                                               "x-dead-letter-exchange": "dead"}).queue
        ch.queue_bind(name, "logs", pattern)
        ch.queue_bind(name, "meta", "", arguments={"x-match": "any", f"k{index}": index, "tag": "x"})
        queues.append(name)
    workers = [conn.channel() for _ in range(3)]
    for number, worker in enumerate(workers):
        worker.basic_qos(prefetch_count=number + 1)

        def handle(channel, deliver, properties, body, number=number):
            value = int(body.split(b"-")[1])
            if value % 5 == number:
                channel.basic_reject(deliver.delivery_tag, requeue=False)
            elif value % 7 == 0 and not deliver.redelivered:
                channel.basic_nack(deliver.delivery_tag, requeue=True)
            elif value % 3:
                channel.basic_ack(deliver.delivery_tag)

        for queue in queues[number::3]:
            worker.basic_consume(queue, handle, arguments={"x-priority": number % 2})
    keys = ["kern.error", "app.web.debug", "x.info.y", "a.b.c", "", "kern", "deep.info.z.w", "a.error"]
    for step in range(60):
        headers = {f"k{step % 7}": step % 7, "n": step}
        ch.basic_publish("logs", keys[step % len(keys)], f"m-{step}".encode(),
                         memq.Properties(headers=headers, expiration=str(100 * (step % 4)) if step % 3 else None))
        ch.basic_publish("meta", "", f"h-{step}".encode(), memq.Properties(headers=headers))
        if step % 10 == 9:
            broker.clock.advance(0.25)
    broker.clock.advance(5)
    for worker in workers[:2]:
        worker.basic_recover(requeue=True)
    broker.drop_connection(conn)
    broker.restart()
    broker.check_invariants()
    return broker.trace.dumps()


def _run(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run([sys.executable, __file__], capture_output=True, text=True, check=True,
                            cwd=ROOT, env=env)
    return result.stdout


def test_trace_is_identical_across_hash_seeds():
    """The scenario run in two interpreters with different PYTHONHASHSEED gives byte-identical traces."""
    first, second = _run("1"), _run("4242")
    assert first == second


def test_scenario_exercises_what_it_claims():
    """The scenario is not trivial: it delivers, acks, requeues, expires, dead-letters and restarts."""
    events = [json.loads(line) for line in scenario().splitlines()]
    kinds = {event["event"] for event in events}
    wanted = {"Delivered", "Acked", "Nacked", "Rejected", "Requeued", "DeadLettered", "Routed", "Unroutable",
              "QueueDeleted", "BrokerRestarted"}
    assert wanted - kinds == set()
    reasons = {event["reason"] for event in events if event["event"] == "DeadLettered"}
    assert reasons == {"expired", "rejected"}


if __name__ == "__main__":
    sys.stdout.write(scenario())
