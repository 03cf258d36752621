"""The tour: the course notes' examples on the embedded broker, printing what happened.

Each scene runs unchanged pika or Celery code against a fresh, seeded `memq.Broker` and prints what
the code printed, then what the broker saw: each message published, where it was routed, to whom it
was delivered and whether it was acknowledged, at its virtual time.
"""

from __future__ import annotations

import io
import sys
import time as wallclock
import uuid
from contextlib import redirect_stdout
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, TextIO

from . import _events as ev
from ._broker import Broker

__all__ = ["main", "SCENES", "describe_trace"]

START = datetime(2031, 3, 3, 9, 0, tzinfo=timezone.utc)  # a Monday; round numbers keep times readable


# --- pika scenes (the course notes' code, written for pika 1.x) -----------------------------------

def hello_world() -> None:
    """Hello world: a producer and a consumer on the queue 'hello'."""
    import pika

    import memq.pika

    connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    channel = connection.channel()
    channel.queue_declare(queue="hello")
    channel.basic_publish(exchange="", routing_key="hello", body="Hello World!")
    print(" [x] Sent 'Hello World!'")

    def callback(ch, method, properties, body):  # type: ignore[no-untyped-def]
        print(f" [x] Received {body!r}")

    channel.basic_consume(queue="hello", on_message_callback=callback, auto_ack=True)
    memq.pika.run_until_idle(connection)
    connection.close()


def work_queues() -> None:
    """Work queues: two workers with prefetch 1 and manual acks share durable tasks."""
    import pika

    import memq.pika

    producer = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    channel = producer.channel()
    channel.queue_declare(queue="task_queue", durable=True)
    for dots in ("First.", "Second..", "Third...", "Fourth....", "Fifth....."):
        channel.basic_publish(exchange="", routing_key="task_queue", body=dots,
                              properties=pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent))
        print(f" [x] Sent {dots!r}")
    workers = []
    for name in ("A", "B"):
        connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
        ch = connection.channel()
        ch.basic_qos(prefetch_count=1)

        def callback(ch, method, properties, body, name=name):  # type: ignore[no-untyped-def]
            print(f" [{name}] Received {body.decode()!r}, working {body.count(b'.')} s")
            connection_sleep = ch.connection.sleep
            connection_sleep(body.count(b"."))
            print(f" [{name}] Done")
            ch.basic_ack(delivery_tag=method.delivery_tag)

        ch.basic_consume(queue="task_queue", on_message_callback=callback)
        workers.append(connection)
    memq.pika.run_until_idle(*workers)


def publish_subscribe() -> None:
    """Publish/subscribe: a fanout exchange copies each log to every exclusive, server-named queue."""
    import pika

    import memq.pika

    receivers = []
    for name in ("screen", "file"):
        connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
        channel = connection.channel()
        channel.exchange_declare(exchange="logs", exchange_type="fanout")
        result = channel.queue_declare(queue="", exclusive=True)
        queue_name = result.method.queue
        channel.queue_bind(exchange="logs", queue=queue_name)
        channel.basic_consume(queue=queue_name, auto_ack=True,
                              on_message_callback=lambda ch, m, p, body, name=name: print(f" [{name}] {body!r}"))
        receivers.append(connection)
    connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    channel = connection.channel()
    channel.exchange_declare(exchange="logs", exchange_type="fanout")
    channel.basic_publish(exchange="logs", routing_key="", body="info: Hello World!")
    print(" [x] Sent 'info: Hello World!'")
    memq.pika.run_until_idle(*receivers)


def routing() -> None:
    """Routing: a direct exchange by severity; one queue takes errors, the other everything."""
    import pika

    import memq.pika

    receivers = []
    for name, severities in (("errors", ["error"]), ("all", ["info", "warning", "error"])):
        connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
        channel = connection.channel()
        channel.exchange_declare(exchange="direct_logs", exchange_type="direct")
        queue_name = channel.queue_declare(queue="", exclusive=True).method.queue
        for severity in severities:
            channel.queue_bind(exchange="direct_logs", queue=queue_name, routing_key=severity)
        channel.basic_consume(queue=queue_name, auto_ack=True, on_message_callback=(
            lambda ch, m, p, body, name=name: print(f" [{name}] {m.routing_key}:{body!r}")))
        receivers.append(connection)
    channel = pika.BlockingConnection(pika.ConnectionParameters("localhost")).channel()
    channel.exchange_declare(exchange="direct_logs", exchange_type="direct")
    for severity, message in (("info", "all is well"), ("warning", "disk 80%"), ("error", "disk full")):
        channel.basic_publish(exchange="direct_logs", routing_key=severity, body=message)
        print(f" [x] Sent {severity}:{message!r}")
    memq.pika.run_until_idle(*receivers)


def topics() -> None:
    """Topics: binding keys 'kern.*' and '*.critical' on a topic exchange."""
    import pika

    import memq.pika

    receivers = []
    for binding_keys in (["kern.*"], ["*.critical"]):
        connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
        channel = connection.channel()
        channel.exchange_declare(exchange="topic_logs", exchange_type="topic")
        queue_name = channel.queue_declare("", exclusive=True).method.queue
        for binding_key in binding_keys:
            channel.queue_bind(exchange="topic_logs", queue=queue_name, routing_key=binding_key)
        label = binding_keys[0]
        channel.basic_consume(queue=queue_name, auto_ack=True, on_message_callback=(
            lambda ch, m, p, body, label=label: print(f" [{label}] {m.routing_key}:{body!r}")))
        receivers.append(connection)
    channel = pika.BlockingConnection(pika.ConnectionParameters("localhost")).channel()
    channel.exchange_declare(exchange="topic_logs", exchange_type="topic")
    for key in ("kern.critical", "kern.info", "cron.critical", "cron.info"):
        channel.basic_publish(exchange="topic_logs", routing_key=key, body=f"A {key} message")
        print(f" [x] Sent {key}")
    memq.pika.run_until_idle(*receivers)


def rpc() -> None:
    """RPC: a Fibonacci server answers on the caller's reply_to queue, matched by correlation_id."""
    import pika

    import memq.pika

    server = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    server_channel = server.channel()
    server_channel.queue_declare(queue="rpc_queue")

    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    def on_request(ch, method, props, body):  # type: ignore[no-untyped-def]
        n = int(body)
        print(f" [.] fib({n})")
        ch.basic_publish(exchange="", routing_key=props.reply_to, body=str(fib(n)),
                         properties=pika.BasicProperties(correlation_id=props.correlation_id))
        ch.basic_ack(delivery_tag=method.delivery_tag)

    server_channel.basic_qos(prefetch_count=1)
    server_channel.basic_consume(queue="rpc_queue", on_message_callback=on_request)
    memq.pika.background(server)

    client = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    channel = client.channel()
    callback_queue = channel.queue_declare(queue="", exclusive=True).method.queue
    response: list[bytes] = []
    corr_id = str(uuid.UUID(int=7))
    channel.basic_consume(queue=callback_queue, auto_ack=True, on_message_callback=(
        lambda ch, m, props, body: response.append(body) if props.correlation_id == corr_id else None))
    print(" [x] Requesting fib(10)")
    channel.basic_publish(exchange="", routing_key="rpc_queue", body="10", properties=pika.BasicProperties(
        reply_to=callback_queue, correlation_id=corr_id))
    while not response:
        client.process_data_events(time_limit=None)
    print(f" [.] Got {int(response[0])}")


# --- Celery scenes ---------------------------------------------------------------------------------

def _celery_app():  # type: ignore[no-untyped-def]
    import celery

    app = celery.Celery("tasks", set_as_current=False)
    app.conf.update(timezone="Europe/Madrid", enable_utc=True)

    @app.task(shared=False, name="tasks.add")
    def add(a: int, b: int) -> int:
        return a + b

    @app.task(shared=False, name="tasks.mul")
    def mul(a: int, b: int) -> int:
        return a * b

    @app.task(shared=False, name="tasks.xsum")
    def xsum(numbers: list[int]) -> int:
        return sum(numbers)

    @app.task(bind=True, shared=False, name="tasks.flaky", max_retries=3)
    def flaky(self, n: int) -> str:  # type: ignore[no-untyped-def]
        if self.request.retries < 2:
            raise self.retry(countdown=2 ** (self.request.retries + 1))
        return f"ok after {self.request.retries} retries"

    @app.task(shared=False, name="tasks.report")
    def report() -> str:
        return "weekly report"

    @app.task(shared=False, name="tasks.ping")
    def ping() -> str:
        return "pong"

    return app, add, mul, xsum, flaky


def celery_scenes(broker: Broker) -> None:
    """Celery: add, countdown, chain, group, chord, retries, and a beat schedule over a simulated week."""
    from celery import chord, group
    from celery.schedules import crontab

    import memq.celery

    app, add, mul, xsum, flaky = _celery_app()
    app.conf.beat_schedule = {
        "ping-every-hour": {"task": "tasks.ping", "schedule": 3600.0},
        "monday-report": {"task": "tasks.report", "schedule": crontab(hour=7, minute=30, day_of_week=1)},
    }
    with memq.celery.attach(app, broker, beat=True) as driver:
        print(f" add.delay(5, 2).get(timeout=1) = {add.delay(5, 2).get(timeout=1)}")
        result = add.apply_async((2, 3), countdown=10)
        print(f" add.apply_async((2, 3), countdown=10): ready at once? {result.ready()}")
        print(f"   .get() = {result.get(timeout=20)}, after 10 virtual seconds")
        print(f" chain(add.s(4, 4) | mul.s(8)).get() = {(add.s(4, 4) | mul.s(8))().get(timeout=5)}")
        job = group(add.s(i, i) for i in range(5))()
        print(f" group(add.s(i, i) for i in range(5)).get() = {job.get(timeout=5)}")
        print(f" chord(add.s(i, i) for i in range(5))(xsum.s()).get() = "
              f"{chord(add.s(i, i) for i in range(5))(xsum.s()).get(timeout=5)}")
        print(f" flaky.delay(1).get() = {flaky.delay(1).get(timeout=60)!r} (retried at +2 s and +4 s)")
        driver.advance(timedelta(days=7))
        pings = len(driver.tasks.named("tasks.ping"))
        reports = [datetime.fromtimestamp(r.started, timezone.utc).astimezone(driver.now().tzinfo).isoformat()
                   for r in driver.tasks.named("tasks.report")]
        print(f" beat over a simulated week: {pings} hourly pings, Monday 7:30 Madrid report at {reports}")
        print()
        rows = driver.tasks.table().splitlines()
        shown = [rows[0]] + [row for row in rows[1:] if not row.startswith("tasks.ping ")]
        print(_indent("\n".join(shown)))
        print(f"  (and {pings} tasks.ping rows)")


# --- printing ---------------------------------------------------------------------------------------

def describe_trace(broker: Broker, limit: int = 40) -> str:
    """The message events of a broker's trace as readable lines: publish, route, deliver, ack, ..."""
    lines = []
    for event in broker.trace:
        line = _describe(event)
        if line is not None:
            lines.append(f"  {event.time:9.3f}s  {line}")
    if len(lines) > limit:
        hidden = len(lines) - limit
        lines = lines[: limit // 2] + [f"  ... {hidden} more events ..."] + lines[-limit // 2:]
    return "\n".join(lines)


def _describe(event: ev.Event) -> str | None:
    if isinstance(event, ev.Published):
        return f"publish  #{event.message:<3} to {event.exchange or '(default)'!s} key {event.routing_key!r}"
    if isinstance(event, ev.Routed):
        return f"route    #{event.message:<3} -> {', '.join(_short(q) for q in event.queues)}"
    if isinstance(event, ev.Unroutable):
        return f"drop     #{event.message:<3} unroutable at {event.exchange or '(default)'}"
    if isinstance(event, ev.Delivered):
        to = _short(event.consumer_tag) if event.consumer_tag else "basic_get"
        again = " (redelivered)" if event.redelivered else ""
        return f"deliver  #{event.message:<3} {_short(event.queue)} -> {to} tag {event.delivery_tag}{again}"
    if isinstance(event, (ev.Acked, ev.Nacked, ev.Rejected)):
        verb = _SETTLE_VERBS[type(event)]
        return f"{verb:<8} #{event.message:<3} on {_short(event.queue)}"
    if isinstance(event, (ev.Expired, ev.DeadLettered, ev.Dropped)):
        return f"{type(event).__name__.lower():<8} #{event.message:<3} from {_short(event.queue)}"
    return None


_SETTLE_VERBS = {ev.Acked: "ack", ev.Nacked: "nack", ev.Rejected: "reject"}


def _short(name: str) -> str:
    return name if len(name) <= 24 else name[:21] + "..."


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


SCENES: list[tuple[str, Callable[..., None]]] = [
    ("hello world", hello_world),
    ("work queues", work_queues),
    ("publish/subscribe", publish_subscribe),
    ("routing", routing),
    ("topics", topics),
    ("RPC", rpc),
    ("Celery", celery_scenes),
]


def _run_scene(index: int, title: str, scene: Callable[..., None], out: TextIO, seed: int,
               save: Path | None = None) -> None:
    import memq.pika

    broker = Broker(seed=seed, start=START)
    out.write(f"\n[{index}/{len(SCENES)}] {title}: {scene.__doc__}\n")
    out.flush()
    captured = io.StringIO()
    with redirect_stdout(captured), memq.pika.patched(broker):
        if scene is celery_scenes:
            scene(broker)
        else:
            scene()
    out.write(captured.getvalue())
    if scene is not celery_scenes:
        out.write("  what the broker saw:\n" + describe_trace(broker) + "\n")
    broker.check_invariants()
    if save is not None:
        _save(save, f"{index:02d}-{title.replace('/', '-').replace(' ', '-').lower()}", title, broker, captured.getvalue())


def _save(directory: Path, stem: str, title: str, broker: Broker, printed: str) -> None:
    from ._report import render_html

    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{stem}.jsonl").write_text(broker.trace.dumps(), encoding="utf-8")
    page = render_html(broker, title=f"memq tour: {title}", last=None,
                       sections=(("What the code printed", printed), ("Queues, bindings and consumers", broker.snapshot())))
    (directory / f"{stem}.html").write_text(page, encoding="utf-8")


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Run every scene; returns the process exit code."""
    seed, save = 0, None
    for arg in argv or []:
        if arg.startswith("--seed="):
            seed = int(arg.split("=", 1)[1])
        elif arg.startswith("--save="):
            save = Path(arg.split("=", 1)[1])
        else:
            out.write(f"memq tour: unknown option {arg!r} (options: --seed=N, --save=DIR)\n")
            return 2
    try:
        import celery  # noqa: F401
        import pika  # noqa: F401
    except ImportError as missing:
        out.write(f"The tour needs pika and celery: pip install 'memq[pika,celery]' ({missing})\n")
        return 2
    began = wallclock.perf_counter()
    out.write("memq tour: the course notes' examples on a simulated RabbitMQ (no server, virtual time)\n")
    for index, (title, scene) in enumerate(SCENES, 1):
        _run_scene(index, title, scene, out, seed, save)
    out.write(f"\nDone: {len(SCENES)} scenes in {wallclock.perf_counter() - began:.2f} s of real time.\n")
    return 0
