"""Reports of a trace: readable text lines and a self-contained HTML page with a message sequence diagram.

The diagram has one lane per participant, in four groups from left to right: producers (the connections
that publish), exchanges, queues and consumers (a connection's channel and consumer tag, or `basic.get`).
Virtual time runs downwards; each message-flow event (publish, route, deliver, ack, nack, expire,
dead-letter, ...) is one row with an arrow between two lanes or a mark on one lane. The page needs no
script, style sheet or font from anywhere else.

Used by the pytest plugin for failing tests; `load_trace()` reads `Trace.dumps()` output back, so a
saved trace can be rendered later.

Example:
    >>> import memq
    >>> from memq._report import render_html
    >>> broker = memq.Broker(start=0)
    >>> ch = broker.connect().channel()
    >>> _ = ch.queue_declare("q")
    >>> ch.basic_publish("", "q", b"hi")
    >>> "<svg" in render_html(broker)
    True
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Iterable, Sequence

import attrs

from . import _events as ev

__all__ = ["events_of", "format_events", "load_trace", "render_html", "MessageFlow"]

DEFAULT_LAST = 400
_ROW = 24
_LANE = 160
_TOP = 78
_LEFT = 96


def load_trace(source: str | Path) -> list[ev.Event]:
    """Events from JSON lines (`Trace.dumps()`), given as text or as a path to a file.

    Raises:
        ValueError: a line names no known event type.
    """
    text = source.read_text() if isinstance(source, Path) else source
    if isinstance(source, str) and "\n" not in source and not source.lstrip().startswith("{"):
        text = Path(source).read_text()
    events = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = json.loads(line)
        name = fields.pop("event")
        cls = getattr(ev, name, None)
        if not (isinstance(cls, type) and issubclass(cls, ev.Event)):
            raise ValueError(f"unknown trace event {name!r}")
        for field in attrs.fields(cls):
            if isinstance(fields.get(field.name), list):
                fields[field.name] = tuple(fields[field.name])
        events.append(cls(**fields))
    return events


def events_of(source: Any) -> list[ev.Event]:
    """The events of a `Broker`, a `Trace`, a sequence of events, or JSON lines (text or path)."""
    trace = getattr(source, "trace", source)
    if isinstance(trace, (str, Path)):
        return load_trace(trace)
    return list(trace)


def format_events(events: Iterable[ev.Event]) -> str:
    """Events as readable lines, as `Trace.format()` writes them (`+     1.500s Delivered message=3 ...`)."""
    lines = []
    for event in events:
        fields = attrs.asdict(event, recurse=False)
        time = fields.pop("time")
        body = " ".join(f"{k}={v!r}" for k, v in fields.items())
        lines.append(f"+{time:10.3f}s {type(event).__name__} {body}")
    return "\n".join(lines)


@attrs.frozen
class Lane:
    """One participant of the diagram."""

    key: tuple
    kind: str  # "producer", "exchange", "queue" or "consumer"
    label: str
    detail: str = ""


@attrs.frozen
class Step:
    """One row of the diagram: an arrow from lane `source` to lane `target` (equal for a mark)."""

    time: float
    source: tuple
    target: tuple
    label: str
    style: str  # css class: publish, route, deliver, ack, nack, expire, dead, drop, return, unroutable


_GROUPS = ("producer", "exchange", "queue", "consumer")


def _exchange_key(vhost_exchange: str) -> tuple:
    return ("exchange", vhost_exchange)


def _exchange_label(name: str) -> str:
    return name if name else "(default)"


def _short(text: str, width: int = 22) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


class MessageFlow:
    """The lanes and steps of a message sequence diagram, built from trace events.

    Args:
        events: the trace events, in order.
    """

    def __init__(self, events: Sequence[ev.Event]) -> None:
        self.lanes: dict[tuple, Lane] = {}
        self.steps: list[Step] = []
        self._last_exchange: dict[int, str] = {}
        self._holder: dict[tuple, tuple] = {}
        for event in events:
            handler = getattr(self, "_on_" + type(event).__name__, None)
            if handler is not None:
                handler(event)

    def ordered_lanes(self) -> list[Lane]:
        """The lanes grouped producer, exchange, queue, consumer; in order of appearance within a group."""
        return [lane for group in _GROUPS for lane in self.lanes.values() if lane.kind == group]

    def _lane(self, key: tuple, kind: str, label: str, detail: str = "") -> tuple:
        if key not in self.lanes:
            self.lanes[key] = Lane(key, kind, label, detail)
        return key

    def _producer(self, connection: str) -> tuple:
        return self._lane(("producer", connection), "producer", connection, "publisher")

    def _exchange(self, name: str) -> tuple:
        return self._lane(_exchange_key(name), "exchange", _exchange_label(name), "exchange")

    def _queue(self, name: str) -> tuple:
        return self._lane(("queue", name), "queue", name, "queue")

    def _consumer(self, connection: str, channel: int, tag: str | None) -> tuple:
        label = f"{connection} ch{channel}"
        return self._lane(("consumer", connection, channel, tag), "consumer", label,
                          _short(tag, 20) if tag else "basic.get")

    def _step(self, time: float, source: tuple, target: tuple, label: str, style: str) -> None:
        self.steps.append(Step(time, source, target, label, style))

    # one handler per message-flow event type

    def _on_Published(self, e: ev.Published) -> None:
        self._last_exchange[e.message] = e.exchange
        label = f"publish #{e.message} {_short(e.routing_key)!s}"
        self._step(e.time, self._producer(e.connection), self._exchange(e.exchange), label, "publish")

    def _on_Routed(self, e: ev.Routed) -> None:
        source = self._exchange(self._last_exchange.get(e.message, ""))
        for queue in e.queues:
            self._step(e.time, source, self._queue(queue), f"route #{e.message}", "route")

    def _on_Unroutable(self, e: ev.Unroutable) -> None:
        x = self._exchange(e.exchange)
        self._step(e.time, x, x, f"unroutable #{e.message} {_short(e.routing_key)}", "unroutable")

    def _on_Returned(self, e: ev.Returned) -> None:
        x = self._exchange(self._last_exchange.get(e.message, ""))
        producers = [k for k in self.lanes if k[0] == "producer"]
        target = producers[-1] if producers else x
        self._step(e.time, x, target, f"return #{e.message} {e.reply_code}", "return")

    def _on_Delivered(self, e: ev.Delivered) -> None:
        consumer = self._consumer(e.connection, e.channel, e.consumer_tag)
        self._holder[(e.connection, e.channel, e.delivery_tag)] = consumer
        label = f"{'redeliver' if e.redelivered else 'deliver'} #{e.message} tag={e.delivery_tag}"
        self._step(e.time, self._queue(e.queue), consumer, label, "deliver")

    def _settled(self, e: Any, verb: str, style: str) -> None:
        consumer = self._holder.get((e.connection, e.channel, e.delivery_tag))
        if consumer is None:
            consumer = self._consumer(e.connection, e.channel, None)
        self._step(e.time, consumer, self._queue(e.queue), f"{verb} #{e.message} tag={e.delivery_tag}", style)

    def _on_Acked(self, e: ev.Acked) -> None:
        self._settled(e, "ack", "ack")

    def _on_Nacked(self, e: ev.Nacked) -> None:
        self._settled(e, "nack" + (" requeue" if e.requeue else ""), "nack")

    def _on_Rejected(self, e: ev.Rejected) -> None:
        self._settled(e, "reject" + (" requeue" if e.requeue else ""), "nack")

    def _on_Requeued(self, e: ev.Requeued) -> None:
        q = self._queue(e.queue)
        self._step(e.time, q, q, f"requeued #{e.message}", "nack")

    def _on_Expired(self, e: ev.Expired) -> None:
        q = self._queue(e.queue)
        self._step(e.time, q, q, f"expired #{e.message}", "expire")

    def _on_Dropped(self, e: ev.Dropped) -> None:
        q = self._queue(e.queue)
        self._step(e.time, q, q, f"dropped #{e.message} ({e.reason})", "drop")

    def _on_DeadLettered(self, e: ev.DeadLettered) -> None:
        self._last_exchange[e.message] = e.exchange
        self._step(e.time, self._queue(e.queue), self._exchange(e.exchange),
                   f"dead-letter #{e.message} ({e.reason})", "dead")


_CSS = """
body { font: 13px/1.4 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 16px; color: #1d232b; }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 22px 0 6px; border-bottom: 1px solid #d5dae0; }
.meta { color: #58606b; margin-bottom: 10px; }
pre { background: #f5f7f9; border: 1px solid #e1e5ea; padding: 8px; overflow-x: auto; font-size: 12px; }
pre.error { background: #fdf0f0; border-color: #f0c8c8; }
.diagram { overflow-x: auto; border: 1px solid #e1e5ea; }
svg text { font-family: Menlo, Consolas, monospace; font-size: 11px; }
.lifeline { stroke: #c3cad3; stroke-dasharray: 3 3; }
.tick { stroke: #eceff2; }
.time { fill: #6b7480; }
.head rect { stroke-width: 1.2; rx: 4; }
.producer rect { fill: #e8f0fc; stroke: #5b8bd6; }
.exchange rect { fill: #fff4e0; stroke: #d69a35; }
.queue rect { fill: #e9f6ec; stroke: #4f9f63; }
.consumer rect { fill: #f2ebfa; stroke: #8a63c2; }
.head .kind { fill: #6b7480; font-size: 10px; }
.step line, .step path { stroke-width: 1.5; fill: none; }
.step text { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
.publish line { stroke: #2f6fd0; } .publish text { fill: #1f4f99; }
.route line { stroke: #8a939e; } .route text { fill: #58606b; }
.deliver line { stroke: #2e8b4a; } .deliver text { fill: #226b39; }
.ack line { stroke: #2e8b4a; stroke-dasharray: 5 3; } .ack text { fill: #226b39; }
.nack line, .nack path { stroke: #d9822b; stroke-dasharray: 5 3; } .nack text { fill: #a85d12; }
.expire path, .dead line, .unroutable path, .drop path { stroke: #c83a3a; } .expire text, .dead text,
.unroutable text, .drop text { fill: #a52a2a; }
.return line { stroke: #c83a3a; stroke-dasharray: 2 2; } .return text { fill: #a52a2a; }
.legend span { display: inline-block; margin-right: 14px; }
"""

_COLOURS = {"publish": "#2f6fd0", "route": "#8a939e", "deliver": "#2e8b4a", "ack": "#2e8b4a",
            "nack": "#d9822b", "expire": "#c83a3a", "dead": "#c83a3a", "unroutable": "#c83a3a",
            "drop": "#c83a3a", "return": "#c83a3a"}


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _svg(flow: MessageFlow, hidden: int) -> str:
    lanes = flow.ordered_lanes()
    x_of = {lane.key: _LEFT + _LANE // 2 + i * _LANE for i, lane in enumerate(lanes)}
    width = _LEFT + max(len(lanes), 1) * _LANE + 20
    height = _TOP + (len(flow.steps) + 1) * _ROW + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="message sequence diagram">',
           "<defs>"]
    for style, colour in _COLOURS.items():
        out.append(f'<marker id="arrow-{style}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                   f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
                   f'fill="{colour}"/></marker>')
    out.append("</defs>")
    if hidden:
        out.append(f'<text x="8" y="14" class="time">{hidden} earlier steps not shown</text>')
    for lane in lanes:
        x = x_of[lane.key]
        out.append(f'<line class="lifeline" x1="{x}" y1="{_TOP - 20}" x2="{x}" y2="{height - 6}"/>')
        out.append(f'<g class="head {lane.kind}"><title>{_esc(lane.kind)}: {_esc(lane.key[1:])}</title>'
                   f'<rect x="{x - _LANE // 2 + 8}" y="22" width="{_LANE - 16}" height="38"/>'
                   f'<text x="{x}" y="38" text-anchor="middle">{_esc(_short(lane.label, 20))}</text>'
                   f'<text class="kind" x="{x}" y="53" text-anchor="middle">{_esc(lane.detail)}</text></g>')
    previous: float | None = None
    for row, step in enumerate(flow.steps):
        y = _TOP + row * _ROW + _ROW // 2
        if step.time != previous:
            out.append(f'<line class="tick" x1="4" y1="{y - _ROW // 2}" x2="{width - 4}" y2="{y - _ROW // 2}"/>')
            out.append(f'<text class="time" x="6" y="{y + 4}">+{step.time:.3f}s</text>')
            previous = step.time
        out.append(_step_svg(step, x_of, y))
    out.append("</svg>")
    return "\n".join(out)


def _step_svg(step: Step, x_of: dict[tuple, int], y: int) -> str:
    x1, x2 = x_of[step.source], x_of[step.target]
    marker = f'marker-end="url(#arrow-{step.style})"'
    label = _esc(step.label)
    if x1 == x2:
        # A mark on one lane: a small loop (requeue) or a cross (expired, dropped, unroutable).
        if step.style == "nack":
            shape = f'<path d="M{x1},{y - 6} h14 v10 h-12" {marker}/>'
        else:
            shape = f'<path d="M{x1 - 5},{y - 5} l10,10 M{x1 + 5},{y - 5} l-10,10"/>'
        return (f'<g class="step {step.style}">{shape}'
                f'<text x="{x1 + 18}" y="{y + 4}">{label}</text></g>')
    direction = 1 if x2 > x1 else -1
    start, end = x1 + 3 * direction, x2 - 3 * direction
    mid = (x1 + x2) // 2
    return (f'<g class="step {step.style}"><line x1="{start}" y1="{y + 3}" x2="{end}" y2="{y + 3}" {marker}/>'
            f'<text x="{mid}" y="{y - 1}" text-anchor="middle">{label}</text></g>')


def render_html(source: Any, *, title: str = "memq trace", last: int | None = DEFAULT_LAST,
                error: str | None = None, meta: Sequence[str] = (), sections: Sequence[tuple[str, str]] = ()
                ) -> str:
    """A self-contained HTML page: the message sequence diagram, then the given text sections and the events.

    Args:
        source: a `memq.Broker`, a `Trace`, a sequence of events, or JSON lines (text or a path).
        title: the page heading (a failing test's node id, for instance).
        last: draw only the last `last` message-flow steps (None: all of them).
        error: a failure text, shown first.
        meta: short lines under the heading (seed, broker, how to reproduce).
        sections: (heading, preformatted text) pairs, such as a snapshot of queues or a task table.

    Cost: O(events); the page grows by one SVG row per message-flow step.
    """
    events = events_of(source)
    if sections == () and hasattr(source, "snapshot") and callable(source.snapshot):
        sections = (("Queues, bindings and consumers", source.snapshot()),)
    flow = MessageFlow(events)
    hidden = 0
    if last is not None and len(flow.steps) > last:
        hidden = len(flow.steps) - last
        flow.steps = flow.steps[-last:]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{_esc(title)}</h1>"]
    if meta:
        parts.append('<div class="meta">' + "<br>".join(_esc(line) for line in meta) + "</div>")
    if error:
        parts.append(f'<h2>Failure</h2><pre class="error">{_esc(error)}</pre>')
    parts.append("<h2>Message sequence</h2>")
    parts.append('<div class="legend">' + "".join(
        f'<span style="color:{colour}">&#9472;&#9654; {name}</span>'
        for name, colour in (("publish", _COLOURS["publish"]), ("route", _COLOURS["route"]),
                             ("deliver / ack", _COLOURS["deliver"]), ("nack / requeue", _COLOURS["nack"]),
                             ("expire / dead-letter / drop", _COLOURS["dead"]))) + "</div>")
    if flow.steps:
        parts.append(f'<div class="diagram">{_svg(flow, hidden)}</div>')
    else:
        parts.append("<p>No message was published.</p>")
    for heading, text in sections:
        parts.append(f"<h2>{_esc(heading)}</h2><pre>{_esc(text)}</pre>")
    parts.append(f"<h2>Events ({len(events)})</h2><pre>{_esc(format_events(events))}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
