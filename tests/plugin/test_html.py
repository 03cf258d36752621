"""The HTML page of a trace: lanes, arrows, escaping, a saved trace read back; a browser look when one exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import memq
from memq._report import MessageFlow, load_trace, render_html


def _dead_letter_story() -> memq.Broker:
    broker = memq.Broker(start=0)
    producer = broker.connect().channel()
    producer.exchange_declare("shop", "topic")
    producer.exchange_declare("dlx", "fanout")
    producer.queue_declare("orders", arguments={"x-message-ttl": 1000, "x-dead-letter-exchange": "dlx"})
    producer.queue_declare("dead")
    producer.queue_bind("orders", "shop", "order.*")
    producer.queue_bind("dead", "dlx")
    consumer = broker.connect().channel()
    producer.basic_publish("shop", "order.created", b"<1>")
    producer.basic_publish("shop", "nowhere", b"lost")
    got = consumer.basic_get("orders")
    consumer.basic_nack(got.delivery_tag, requeue=True)
    broker.clock.advance(2)
    consumer.basic_consume("dead", lambda ch, d, p, b: ch.basic_ack(d.delivery_tag), consumer_tag="audit")
    broker.run_until_idle()
    return broker


def test_lanes_are_producers_exchanges_queues_consumers_in_that_order() -> None:
    """Each participant gets one lane, grouped left to right by kind, in order of appearance."""
    flow = MessageFlow(list(_dead_letter_story().trace))
    assert [(lane.kind, lane.label) for lane in flow.ordered_lanes()] == [
        ("producer", "conn-1"),
        ("exchange", "shop"), ("exchange", "dlx"),
        ("queue", "orders"), ("queue", "dead"),
        ("consumer", "conn-2 ch1"), ("consumer", "conn-2 ch1"),
    ]


def test_steps_follow_the_message_through_route_nack_expiry_and_dead_letter() -> None:
    """The steps tell the story in trace order, each between the right lanes."""
    flow = MessageFlow(list(_dead_letter_story().trace))
    assert [(s.label, s.source[0], s.target[0]) for s in flow.steps] == [
        ("publish #1 order.created", "producer", "exchange"),
        ("route #1", "exchange", "queue"),
        ("publish #2 nowhere", "producer", "exchange"),
        ("unroutable #2 nowhere", "exchange", "exchange"),
        ("deliver #1 tag=1", "queue", "consumer"),
        ("nack requeue #1 tag=1", "consumer", "queue"),
        ("requeued #1", "queue", "queue"),
        ("dead-letter #1 (expired)", "queue", "exchange"),
        ("route #1", "exchange", "queue"),
        ("deliver #1 tag=2", "queue", "consumer"),
        ("ack #1 tag=2", "consumer", "queue"),
    ]
    assert flow.steps[-2].target == ("consumer", "conn-2", 1, "audit")
    assert flow.steps[7].time == 1.0


def test_page_is_self_contained_and_escapes_names() -> None:
    """The page needs nothing from elsewhere, and names with markup are shown as text."""
    broker = memq.Broker(start=0)
    ch = broker.connect().channel()
    ch.queue_declare("<script>alert(1)</script>")
    ch.basic_publish("", "<script>alert(1)</script>", b"x")
    page = render_html(broker, title="t <b>", meta=["seed 0"], error="boom & bust")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "t &lt;b&gt;" in page and "boom &amp; bust" in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    assert "<link" not in page and "@import" not in page
    assert "Queues" in page  # a broker's snapshot is included by default


def test_last_limits_the_drawn_steps() -> None:
    """Only the last `last` steps are drawn; the page says how many were left out."""
    broker = memq.Broker(start=0)
    ch = broker.connect().channel()
    ch.queue_declare("q")
    for _ in range(10):
        ch.basic_publish("", "q", b"m")
    page = render_html(broker, last=4)
    assert "16 earlier steps not shown" in page
    assert page.count('class="step ') == 4


def test_empty_trace_renders_a_page() -> None:
    """A broker where nothing was published gives a page that says so."""
    page = render_html(memq.Broker(start=0))
    assert "No message was published." in page


def test_saved_trace_renders_like_the_live_one(tmp_path: Path) -> None:
    """load_trace() reads Trace.dumps() back into the same events, from text or from a file."""
    broker = _dead_letter_story()
    path = tmp_path / "trace.jsonl"
    path.write_text(broker.trace.dumps())
    assert load_trace(broker.trace.dumps()) == list(broker.trace)
    assert load_trace(path) == list(broker.trace) == load_trace(str(path))
    assert render_html(path, title="x") == render_html(list(broker.trace), title="x")


def test_load_trace_refuses_unknown_events() -> None:
    """A line naming no trace event is an error, not silently skipped."""
    with pytest.raises(ValueError, match="unknown trace event 'Teleported'"):
        load_trace('{"event": "Teleported", "time": 0}\n')


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    """Headless Chromium renders the page to a non-trivial screenshot (skipped where there is no chromium)."""
    page = tmp_path / "report.html"
    page.write_text(render_html(_dead_letter_story(), title="tests/test_shop.py::test_dead_letter"))
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1300,900",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=False)
    assert shot.exists() and shot.stat().st_size > 10_000
