"""The peers memq is measured against, each behind the same small interface.

A peer does, in its own idiom, what a test suite does with a broker: publish a message, have a
consumer take it and acknowledge it (`throughput`), take one message and ack it (`get_ack`), and make a
fresh broker, connection and channel (`fresh`). Each method does its own set-up and returns the seconds
of the part being measured, or raises `Unavailable` saying why it cannot run here.

memq's own peers: the native API (with the trace on, the default, and off), pika's BlockingConnection
over `memq.pika.patched()`, and Celery over `memq.celery.attach()`. The others: the real RabbitMQ
through pika, kombu's `memory://` transport, Celery with `task_always_eager`, dramatiq's `StubBroker`
and FastStream's `TestRabbitBroker`.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import socket
from typing import Any, Callable

from ._harness import Timing, Unavailable, now

__all__ = ["BODY", "TEXT", "Peer", "all_peers", "RABBITMQ_HOST", "RABBITMQ_PORT", "rabbitmq_connect",
           "require_rabbitmq"]

BODY = b"x" * 100
TEXT = "x" * 100  # for peers that serialise to JSON, which cannot carry bytes
RABBITMQ_HOST, RABBITMQ_PORT = "127.0.0.1", 5672
_names = itertools.count()
perf_counter = now  # each measurement takes wall-clock and CPU time


def _unique(prefix: str) -> str:
    return f"bench.{prefix}.{next(_names)}"


def _require(module: str, missing: str | None = None) -> Any:
    """Import a peer's library, or say it is not installed (or, for memq's own adapters, not written yet)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if missing and error.name == module:
            raise Unavailable(missing) from None
        raise Unavailable(f"{error.name} is not installed (pip install -e '.[bench]')") from None


_rabbitmq_down: list[str] = []


def require_rabbitmq() -> None:
    """Raise `Unavailable` unless the real RabbitMQ answers on 127.0.0.1:5672."""
    if _rabbitmq_down:
        raise Unavailable(_rabbitmq_down[0])
    try:
        socket.create_connection((RABBITMQ_HOST, RABBITMQ_PORT), timeout=2).close()
    except OSError as error:
        _rabbitmq_down.append(f"RabbitMQ is not answering on {RABBITMQ_HOST}:{RABBITMQ_PORT} ({error})")
        raise Unavailable(_rabbitmq_down[0]) from None


def rabbitmq_connect() -> Any:
    """A pika BlockingConnection to the real RabbitMQ."""
    require_rabbitmq()
    pika = _require("pika")
    try:
        return pika.BlockingConnection(pika.ConnectionParameters(RABBITMQ_HOST, RABBITMQ_PORT))
    except pika.exceptions.AMQPConnectionError as error:
        raise Unavailable(f"RabbitMQ refused the connection ({error!r})") from None


class Peer:
    """One broker (or broker stand-in) as a test suite uses it."""

    name = ""
    slow = False  # takes milliseconds per message: measured on fewer messages

    def throughput(self, n: int) -> float:
        """Seconds to publish `n` 100-byte messages and have a consumer take and ack each one."""
        raise Unavailable("not applicable")

    def get_ack(self, n: int) -> float:
        """Seconds for `n` basic_get + ack round trips on a queue filled beforehand."""
        raise Unavailable("not applicable")

    def fresh(self, n: int) -> float:
        """Seconds to make `n` fresh brokers (or connections) with a channel, as a test's set-up does."""
        raise Unavailable("not applicable")


# --- memq, native API ------------------------------------------------------------------------------


class MemqNative(Peer):
    def __init__(self, trace: bool) -> None:
        self.trace = trace
        self.name = "memq (native API)" if trace else "memq (native API, trace=False)"

    def _channel(self) -> tuple[Any, Any]:
        import memq

        broker = memq.Broker(seed=0, start=0, trace=self.trace)
        channel = broker.connect().channel()
        channel.queue_declare("q")
        return broker, channel

    def throughput(self, n: int) -> float:
        broker, channel = self._channel()
        channel.basic_consume("q", lambda ch, deliver, properties, body: ch.basic_ack(deliver.delivery_tag))
        publish, body = channel.basic_publish, BODY
        start = perf_counter()
        for _ in range(n):
            publish("", "q", body)
        delivered = broker.run_until_idle()
        elapsed = perf_counter() - start
        assert delivered == n and not channel.unacked
        return elapsed

    def get_ack(self, n: int) -> float:
        broker, channel = self._channel()
        for _ in range(n):
            channel.basic_publish("", "q", BODY)
        get, ack = channel.basic_get, channel.basic_ack
        start = perf_counter()
        for _ in range(n):
            ack(get("q").delivery_tag)
        return perf_counter() - start

    def fresh(self, n: int) -> float:
        import memq

        Broker, trace = memq.Broker, self.trace
        start = perf_counter()
        for _ in range(n):
            Broker(seed=0, start=0, trace=trace).connect().channel()
        return perf_counter() - start


# --- pika: the real RabbitMQ, and memq through memq.pika --------------------------------------------


def _pika_throughput(connection: Any, n: int) -> float:
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    received = 0

    def on_message(ch: Any, method: Any, properties: Any, body: bytes) -> None:
        nonlocal received
        ch.basic_ack(method.delivery_tag)
        received += 1
        if received == n:
            ch.stop_consuming()

    start = perf_counter()
    for _ in range(n):
        channel.basic_publish("", queue, BODY)
    channel.basic_consume(queue, on_message)
    channel.start_consuming()
    elapsed = perf_counter() - start
    connection.close()
    return elapsed


def _pika_get_ack(connection: Any, n: int) -> float:
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    for _ in range(n):
        channel.basic_publish("", queue, BODY)
    while channel.queue_declare(queue, passive=True).method.message_count < n:
        connection.sleep(0.01)  # RabbitMQ: publishes without confirms are still on their way
    start = perf_counter()
    for _ in range(n):
        method, _properties, _body = channel.basic_get(queue)
        channel.basic_ack(method.delivery_tag)
    elapsed = perf_counter() - start
    connection.close()
    return elapsed


class RabbitMQ(Peer):
    name = "RabbitMQ 3.10 (pika)"

    def throughput(self, n: int) -> float:
        return _pika_throughput(rabbitmq_connect(), n)

    def get_ack(self, n: int) -> float:
        return _pika_get_ack(rabbitmq_connect(), n)

    def fresh(self, n: int) -> float:
        start = perf_counter()
        for _ in range(n):
            connection = rabbitmq_connect()
            connection.channel()
            connection.close()
        return perf_counter() - start


class MemqPika(Peer):
    name = "memq through pika (memq.pika)"

    def _run(self, body: Callable[[Any, Any], float]) -> float:
        memq_pika = _require("memq.pika", "not available yet: memq.pika does not exist")
        pika = _require("pika")
        import memq

        with memq_pika.patched(memq.Broker(seed=0, start=0)):
            return body(pika, pika.BlockingConnection(pika.ConnectionParameters("localhost")))

    def throughput(self, n: int) -> float:
        return self._run(lambda pika, connection: _pika_throughput(connection, n))

    def get_ack(self, n: int) -> float:
        return self._run(lambda pika, connection: _pika_get_ack(connection, n))

    def fresh(self, n: int) -> float:
        memq_pika = _require("memq.pika", "not available yet: memq.pika does not exist")
        pika = _require("pika")
        import memq

        params = pika.ConnectionParameters("localhost")
        start = perf_counter()
        for _ in range(n):
            with memq_pika.patched(memq.Broker(seed=0, start=0)):
                connection = pika.BlockingConnection(params)
                connection.channel()
                connection.close()
        return perf_counter() - start


# --- kombu memory:// ---------------------------------------------------------------------------------


class KombuMemory(Peer):
    name = "kombu memory://"

    def _queue(self, connection: Any) -> Any:
        kombu = _require("kombu")
        name = _unique("kombu")
        return kombu.Queue(name, kombu.Exchange(name, "direct"), routing_key=name)

    def throughput(self, n: int) -> float:
        kombu = _require("kombu")
        with kombu.Connection("memory://") as connection:
            queue = self._queue(connection)
            channel = connection.channel()
            bound = queue(channel)
            bound.declare()
            producer = kombu.Producer(channel, exchange=queue.exchange, routing_key=queue.routing_key)
            received = 0

            def on_message(body: Any, message: Any) -> None:
                nonlocal received
                message.ack()
                received += 1

            start = perf_counter()
            for _ in range(n):
                producer.publish(BODY)
            with kombu.Consumer(channel, [queue], callbacks=[on_message], accept=None):
                while received < n:
                    connection.drain_events(timeout=1)
            elapsed = perf_counter() - start
            bound.delete()
            return elapsed

    def get_ack(self, n: int) -> float:
        kombu = _require("kombu")
        with kombu.Connection("memory://") as connection:
            queue = self._queue(connection)
            channel = connection.channel()
            bound = queue(channel)
            bound.declare()
            producer = kombu.Producer(channel, exchange=queue.exchange, routing_key=queue.routing_key)
            for _ in range(n):
                producer.publish(BODY)
            get = bound.get
            start = perf_counter()
            for _ in range(n):
                get(no_ack=False, accept=None).ack()
            elapsed = perf_counter() - start
            bound.delete()
            return elapsed

    def fresh(self, n: int) -> float:
        kombu = _require("kombu")
        start = perf_counter()
        for _ in range(n):
            connection = kombu.Connection("memory://")
            connection.channel()
            connection.release()
        return perf_counter() - start


# --- Celery ------------------------------------------------------------------------------------------


def _celery_app(name: str) -> tuple[Any, Any, list[int]]:
    celery = _require("celery")
    app = celery.Celery(name, set_as_current=False)
    done = [0]

    @app.task(name=f"{name}.consume", ignore_result=True)
    def consume(text: str) -> None:
        done[0] += 1

    return app, consume, done


class CeleryEager(Peer):
    name = "Celery task_always_eager"

    def throughput(self, n: int) -> float:
        app, consume, done = _celery_app(_unique("eager"))
        app.conf.task_always_eager = True
        delay = consume.delay
        start = perf_counter()
        for _ in range(n):
            delay(TEXT)
        elapsed = perf_counter() - start
        assert done[0] == n
        return elapsed


class MemqCelery(Peer):
    name = "Celery on memq (memq.celery)"
    slow = True

    def throughput(self, n: int) -> float:
        driver_module = _require("memq.celery", "not available yet: memq.celery does not exist")
        import memq

        app, consume, done = _celery_app(_unique("memq"))
        driver = driver_module.attach(app, memq.Broker(seed=0, start=0))
        try:
            delay = consume.delay
            start = perf_counter()
            for _ in range(n):
                delay(TEXT)
            driver.run_until_idle()
            elapsed = perf_counter() - start
        finally:
            driver.detach()
        assert done[0] == n
        return elapsed

    def fresh(self, n: int) -> float:
        driver_module = _require("memq.celery", "not available yet: memq.celery does not exist")
        import memq

        app, _consume, _done = _celery_app(_unique("memq"))
        start = perf_counter()
        for _ in range(n):
            driver_module.attach(app, memq.Broker(seed=0, start=0)).detach()
        return perf_counter() - start


# --- dramatiq StubBroker -----------------------------------------------------------------------------


class DramatiqStub(Peer):
    name = "dramatiq StubBroker"

    def throughput(self, n: int) -> float:
        dramatiq = _require("dramatiq")
        stub = _require("dramatiq.brokers.stub")
        broker = stub.StubBroker()
        broker.emit_after("process_boot")
        done = [0]

        def consume(text: str) -> None:
            done[0] += 1

        actor = dramatiq.actor(consume, broker=broker, queue_name="bench", actor_name=_unique("dramatiq"))
        worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=1)
        worker.start()
        try:
            start = perf_counter()
            for _ in range(n):
                actor.send(TEXT)
            broker.join("bench")
            elapsed = perf_counter() - start
        finally:
            worker.stop()
            broker.close()
        assert done[0] == n
        return elapsed

    def fresh(self, n: int) -> float:
        stub = _require("dramatiq.brokers.stub")
        start = perf_counter()
        for _ in range(n):
            stub.StubBroker().close()
        return perf_counter() - start


# --- FastStream TestRabbitBroker ---------------------------------------------------------------------


class FastStreamTest(Peer):
    name = "FastStream TestRabbitBroker"
    slow = True

    def _broker(self) -> tuple[Any, Any, list[int]]:
        rabbit = _require("faststream.rabbit")
        broker = rabbit.RabbitBroker()
        done = [0]

        @broker.subscriber("bench")
        async def handle(body: bytes) -> None:
            done[0] += 1

        return rabbit, broker, done

    def throughput(self, n: int) -> float:
        rabbit, broker, done = self._broker()

        async def run() -> float:
            async with rabbit.TestRabbitBroker(broker) as test_broker:
                start = perf_counter()
                for _ in range(n):
                    await test_broker.publish(BODY, "bench")
                return perf_counter() - start

        elapsed = asyncio.run(run())
        assert done[0] == n
        return elapsed

    def fresh(self, n: int) -> float:
        async def run() -> float:
            elapsed = Timing(0.0, 0.0)
            for _ in range(n):
                start = perf_counter()
                rabbit, broker, _done = self._broker()
                async with rabbit.TestRabbitBroker(broker):
                    pass
                elapsed += perf_counter() - start
            return elapsed

        return asyncio.run(run())


def all_peers() -> list[Peer]:
    """Every peer, memq's first."""
    return [MemqNative(True), MemqNative(False), MemqPika(), MemqCelery(), RabbitMQ(), KombuMemory(),
            CeleryEager(), DramatiqStub(), FastStreamTest()]
