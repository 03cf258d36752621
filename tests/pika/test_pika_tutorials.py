"""The RabbitMQ tutorials' pika programs (tutorials 1-6) run unchanged on memq."""

from __future__ import annotations

import types

import pika
import pytest

import memq
import memq.pika
from pika_tutorials import (emit_log, emit_log_direct, emit_log_topic, new_task, receive,
                            receive_logs, receive_logs_direct, receive_logs_topic, rpc_client,
                            rpc_server, send, worker)


def test_hello_world_send_then_receive(broker, capsys):
    """send.py's message reaches receive.py, whose start_consuming then stalls instead of hanging."""
    send.main()
    with pytest.raises(memq.errors.Stalled, match="hello"):
        receive.main()
    out = capsys.readouterr().out
    assert " [x] Sent 'Hello World!'" in out
    assert " [x] Received b'Hello World!'" in out


def test_work_queue_with_prefetch_one_dispatches_fairly(broker, capsys, monkeypatch):
    """With basic_qos(prefetch_count=1) and manual acks, a busy worker gets no second task.

    One thread runs both workers, so B's callbacks run after A's callback returns; each
    worker still holds at most one task at a time, and the virtual sleeps add up.
    """
    monkeypatch.setattr(worker, "time", types.SimpleNamespace(sleep=broker.clock.advance))
    start = broker.clock.now()
    first, _ = worker.setup("A")
    second, _ = worker.setup("B")
    for message in ["First message.....", "Second message.", "Third message.", "Fourth message."]:
        new_task.main(["new_task.py", *message.split()])
    memq.pika.run_until_idle(first, second)
    lines = [line for line in capsys.readouterr().out.splitlines() if "Received" in line]
    assert lines == [
        "A [x] Received First message.....",
        "B [x] Received Second message.",
        "A [x] Received Third message.",
        "B [x] Received Fourth message.",
    ], lines
    assert broker.clock.now() - start == pytest.approx(5 + 1 + 1 + 1)
    check = first.channel()
    assert check.queue_declare("task_queue", durable=True).method.message_count == 0


def test_work_queue_unacked_task_is_redelivered_when_worker_dies(broker, capsys):
    """A task a worker took but never acked goes to the next worker, marked redelivered."""
    new_task.main(["new_task.py", "Lost task"])
    dying = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    taken = []
    dying.channel().basic_consume("task_queue", lambda ch, m, p, b: taken.append(m.redelivered))
    dying.process_data_events(0)
    assert taken == [False]
    dying.close()
    peek = pika.BlockingConnection(pika.ConnectionParameters("localhost")).channel()
    method, _, body = peek.basic_get("task_queue")
    assert (method.redelivered, body) == (True, b"Lost task")
    peek.basic_reject(method.delivery_tag, requeue=True)
    survivor, _ = worker.setup("B")
    memq.pika.run_until_idle(survivor)
    assert "B [x] Received Lost task" in capsys.readouterr().out


def test_publish_subscribe_fanout_reaches_every_exclusive_queue(broker):
    """emit_log.py's fanout message reaches each receive_logs.py on its own server-named queue."""
    first, second = [], []
    c1, _, q1 = receive_logs.setup(first)
    c2, _, q2 = receive_logs.setup(second)
    assert q1.startswith("amq.gen-") and q1 != q2
    emit_log.main(["emit_log.py", "info:", "hello"])
    memq.pika.run_until_idle(c1, c2)
    assert first == second == [b"info: hello"]


def test_routing_direct_exchange_by_severity(broker):
    """emit_log_direct.py routes each severity only to the receivers bound to it."""
    errors_only, everything = [], []
    c1, _ = receive_logs_direct.setup(["error"], errors_only)
    c2, _ = receive_logs_direct.setup(["info", "warning", "error"], everything)
    emit_log_direct.main(["emit_log_direct.py", "error", "Run. Run. Or it will explode."])
    emit_log_direct.main(["emit_log_direct.py", "info", "All good"])
    emit_log_direct.main(["emit_log_direct.py", "debug", "Nobody listens"])
    memq.pika.run_until_idle(c1, c2)
    assert errors_only == [("error", b"Run. Run. Or it will explode.")]
    assert everything == [("error", b"Run. Run. Or it will explode."), ("info", b"All good")]


@pytest.mark.parametrize(
    "bindings, routing_key, delivered",
    [
        (["*.orange.*"], "quick.orange.rabbit", True),
        (["*.*.rabbit", "lazy.#"], "lazy.orange.elephant", True),
        (["*.orange.*"], "quick.brown.fox", False),
        (["lazy.#"], "lazy", True),
        (["*.*.rabbit"], "quick.orange.male.rabbit", False),
        (["#"], "anything.at.all", True),
    ],
)
def test_topics(broker, bindings, routing_key, delivered):
    """emit_log_topic.py's keys match receive_logs_topic.py's bindings as in the tutorial."""
    received = []
    consumer, _ = receive_logs_topic.setup(bindings, received)
    emit_log_topic.main(["emit_log_topic.py", routing_key, "msg"])
    memq.pika.run_until_idle(consumer)
    assert received == ([(routing_key, b"msg")] if delivered else [])


def test_rpc_with_reply_to_and_correlation_id(broker, capsys):
    """The RPC client's call() is answered by the RPC server running as a background connection."""
    server, _ = rpc_server.setup()
    memq.pika.background(server)
    client = rpc_client.FibonacciRpcClient()
    assert client.call(30) == 832040
    assert client.call(10) == 55
    assert " [.] fib(30)" in capsys.readouterr().out


def test_rpc_over_direct_reply_to(broker):
    """The same RPC works with the amq.rabbitmq.reply-to pseudo queue."""
    server, _ = rpc_server.setup()
    memq.pika.background(server)
    client = rpc_client.DirectReplyToClient()
    assert client.call(20) == 6765


def test_rpc_server_main_stalls_when_no_request_is_coming(broker):
    """rpc_server.py's start_consuming raises Stalled once no request can ever arrive."""
    with pytest.raises(memq.errors.Stalled, match="rpc_queue"):
        rpc_server.main()
