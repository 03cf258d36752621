"""`python -m memq report TRACE` renders a saved trace; `memq tour --save=DIR` saves each scene's trace and page."""

from __future__ import annotations

import io
from pathlib import Path

import memq
from memq.__main__ import main
from memq._tour import main as tour


def test_report_renders_a_saved_trace_as_html(tmp_path: Path) -> None:
    """A trace written with `Trace.dumps()` becomes a page with the sequence diagram and the events."""
    broker = memq.Broker(start=0)
    channel = broker.connect().channel()
    channel.queue_declare("q", arguments={"x-message-ttl": 1000})
    channel.basic_publish("", "q", b"soon gone")
    broker.clock.advance(2)
    trace = tmp_path / "run.jsonl"
    trace.write_text(broker.trace.dumps())
    assert main(["report", str(trace)]) == 0
    page = (tmp_path / "run.html").read_text()
    assert "<svg" in page and "Expired" in page and "publish #1" in page


def test_tour_save_writes_a_trace_and_a_page_per_scene(tmp_path: Path) -> None:
    """Each scene leaves NN-name.jsonl and NN-name.html; the pika scenes' traces are the same on every run."""
    assert tour([f"--save={tmp_path / 'a'}"], out=io.StringIO()) == 0
    assert tour([f"--save={tmp_path / 'b'}"], out=io.StringIO()) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert "02-work-queues.jsonl" in names and "02-work-queues.html" in names and len(names) == 14
    for scene in ("01-hello-world", "02-work-queues", "06-rpc"):
        first = (tmp_path / "a" / f"{scene}.jsonl").read_text()
        assert first == (tmp_path / "b" / f"{scene}.jsonl").read_text()


def test_report_without_a_trace_prints_usage() -> None:
    """`memq` with no command prints the usage and exits 2."""
    assert main([]) == 2
