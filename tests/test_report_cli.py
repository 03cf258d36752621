"""`python -m memq report TRACE` renders a saved trace; `memq tour --save=DIR` saves each scene's trace and page."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

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


@pytest.fixture(scope="module")
def saved_twice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tour run twice with --save, into two folders."""
    folders = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    for folder in folders:
        assert tour([f"--save={folder}"], out=io.StringIO()) == 0
    return folders


def test_tour_save_writes_a_trace_and_a_page_per_scene(saved_twice: tuple[Path, Path]) -> None:
    """Each scene leaves NN-name.jsonl and NN-name.html; the pika scenes' traces are the same on every run."""
    first, second = saved_twice
    names = sorted(p.name for p in first.iterdir())
    assert "02-work-queues.jsonl" in names and "02-work-queues.html" in names and len(names) == 14
    for scene in ("01-hello-world", "02-work-queues", "06-rpc"):
        assert (first / f"{scene}.jsonl").read_text() == (second / f"{scene}.jsonl").read_text()


def test_report_without_a_trace_prints_usage() -> None:
    """`memq` with no command prints the usage and exits 2."""
    assert main([]) == 2


def test_docs_example_page_is_what_the_tour_writes(saved_twice: tuple[Path, Path]) -> None:
    """docs/examples/02-work-queues.html is the tour's own output (regenerate: `memq tour --save=DIR`, copy scene 02)."""
    docs = Path(__file__).resolve().parent.parent / "docs" / "examples"
    for name in ("02-work-queues.html", "02-work-queues.jsonl"):
        assert (docs / name).read_text() == (saved_twice[0] / name).read_text(), f"{name} is stale"
