"""The same pika program on the same seed gives the same broker trace, consumer tags included."""

from __future__ import annotations

import pika

import memq
import memq.pika


def scenario() -> str:
    """A small workload through pika; returns the broker's trace."""
    with memq.pika.patched(memq.Broker(seed=7, start=0)) as broker:
        connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
        channel = connection.channel()
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.basic_qos(prefetch_count=2)
        for n in range(5):
            channel.basic_publish("", queue, str(n), pika.BasicProperties(expiration="5000"))
        channel.basic_consume(queue, lambda ch, m, p, b: ch.basic_ack(m.delivery_tag))
        memq.pika.run_until_idle(connection)
        connection.sleep(10)
        connection.close()
        return broker.trace.dumps()


def test_same_seed_same_trace():
    """Two runs of one scenario produce identical traces."""
    first, second = scenario(), scenario()
    assert first == second and "ctag1." in first
