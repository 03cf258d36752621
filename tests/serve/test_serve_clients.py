"""Clients memq cannot patch, over a real socket to `memq serve`: aio-pika, kombu's pyamqp://, a Celery worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import kombu


def test_aio_pika_publishes_and_consumes(served) -> None:  # type: ignore[no-untyped-def]
    """aio-pika (aiormq underneath) declares, publishes with confirms and consumes with acks."""
    import aio_pika

    async def scenario() -> list[bytes]:
        connection = await aio_pika.connect_robust(served.url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            queue = await channel.declare_queue(exclusive=True)
            for i in range(3):
                await channel.default_exchange.publish(aio_pika.Message(f"a{i}".encode()), routing_key=queue.name)
            got = []
            async with queue.iterator() as messages:
                async for message in messages:
                    async with message.process():
                        got.append(message.body)
                    if len(got) == 3:
                        break
            return got

    assert asyncio.run(asyncio.wait_for(scenario(), 20)) == [b"a0", b"a1", b"a2"]


def test_kombu_pyamqp_producer_and_consumer(served) -> None:  # type: ignore[no-untyped-def]
    """kombu's pyamqp:// transport routes through a topic exchange and drains events."""
    exchange = kombu.Exchange(f"kx-{uuid.uuid4().hex[:6]}", type="topic", auto_delete=True)
    queue = kombu.Queue(f"kq-{uuid.uuid4().hex[:6]}", exchange, routing_key="orders.#", auto_delete=True)
    got = []
    with kombu.Connection(served.url.replace("amqp://", "pyamqp://")) as connection:
        with connection.Consumer(queue, callbacks=[lambda body, message: (got.append(body), message.ack())]):
            producer = connection.Producer()
            producer.publish({"id": 1}, exchange=exchange, routing_key="orders.eu.new", declare=[queue])
            producer.publish({"id": 2}, exchange=exchange, routing_key="invoices.new")
            while not got:  # py-amqp may already have dispatched the delivery while publishing
                connection.drain_events(timeout=5)
    assert got == [{"id": 1}]


def test_celery_worker_process_runs_tasks_sent_by_the_test(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A real `celery worker` process on memq serve runs a task the test sends, and the result comes back."""
    (tmp_path / "served_tasks.py").write_text(textwrap.dedent(f"""
        from celery import Celery
        app = Celery("served_tasks", broker={served.url.replace('amqp://', 'pyamqp://')!r}, backend="rpc://")
        app.conf.broker_connection_retry_on_startup = True

        @app.task
        def add(x, y):
            return x + y
    """))
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "served_tasks", "worker", "--pool=solo", "--concurrency=1",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        sys.path.insert(0, str(tmp_path))
        import served_tasks

        assert served_tasks.add.delay(5, 2).get(timeout=30) == 7
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("served_tasks", None)
        worker.kill()  # a warm shutdown takes Celery ~10 s against any broker; the task already ran
        worker.wait(timeout=20)
