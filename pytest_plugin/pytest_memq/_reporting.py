"""What a failing test's report shows about its broker: seed, trace, snapshot, Celery tasks, and the HTML page."""

from __future__ import annotations

import os
from typing import Any

import pytest

from ._settings import TestContext, mask_url, report_file_name

__all__ = ["sections_for", "write_html"]


def _events(context: TestContext) -> list[Any]:
    if context.broker is not None:
        return list(context.broker.trace)
    if context.pika is not None:
        return list(context.pika.trace)
    return []


def _snapshot(context: TestContext) -> str | None:
    try:
        if context.broker is not None:
            return str(context.broker.snapshot())
        if context.pika is not None:
            return context.pika.snapshot()
    except Exception as error:  # noqa: BLE001 - a broken broker must not hide the test's failure
        return f"(no snapshot: {error!r})"
    return None


def _tasks(context: TestContext) -> str | None:
    tables = [driver.tasks.table() for driver in context.drivers if len(driver.tasks)]
    return "\n\n".join(tables) if tables else None


def summary(context: TestContext) -> list[str]:
    """The lines that say which broker the test ran on and how to run it again."""
    if context.settings.simulated:
        origin = " (from @pytest.mark.memq)" if context.seed_from_marker else ""
        broker = f"simulated broker, seed {context.seed}{origin}"
        if context.broker is not None:
            broker += f", virtual time +{context.broker.clock.elapsed():.3f}s"
    else:
        broker = f"real broker {mask_url(context.settings.url or '')}"
    return [f"memq: {broker}", f"reproduce: {context.reproduce()}"]


def sections_for(context: TestContext, html_path: str | None = None) -> list[tuple[str, str]]:
    """The (title, text) report sections of a failing test."""
    from memq._report import format_events

    events = _events(context)
    last = context.settings.report_events
    shown = events[-last:] if last else events
    lines = summary(context)
    if html_path:
        lines.append(f"sequence diagram: {html_path}")
    if context.settings.simulated or context.pika is not None:
        head = "trace" if context.settings.simulated else "what the clients did"
        count = f"{len(events)} event{'s' * (len(events) != 1)}"
        lines.append("")
        lines.append(f"{head} (last {len(shown)} of {count}):" if len(shown) < len(events) else f"{head} ({count}):")
        lines.append(format_events(shown) if shown else "(no events)")
    sections = [("memq", "\n".join(lines))]
    snapshot = _snapshot(context)
    if snapshot:
        sections.append(("memq snapshot", snapshot))
    tasks = _tasks(context)
    if tasks:
        sections.append(("memq celery tasks", tasks))
    return sections


def write_html(context: TestContext, report: pytest.TestReport) -> str:
    """Write the test's HTML page into the `--memq-report` folder; returns its path."""
    from memq._report import render_html

    folder = context.settings.report_dir or "."
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, report_file_name(context.item.nodeid))
    sections = []
    snapshot = _snapshot(context)
    if snapshot:
        sections.append(("Queues, bindings and consumers", snapshot))
    tasks = _tasks(context)
    if tasks:
        sections.append(("Celery tasks", tasks))
    page = render_html(_events(context), title=context.item.nodeid, error=report.longreprtext,
                       meta=summary(context), sections=sections)
    with open(path, "w", encoding="utf-8") as file:
        file.write(page)
    return path
