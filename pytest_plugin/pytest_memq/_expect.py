"""Assertion helpers on what pika clients published and consumed, with failure messages that show what happened.

They read a `Recorder`'s client-side notes, so a test asserts the same way on memq and on a real RabbitMQ.
Filters: `exchange`, `routing_key`, `queue` (consumed only) compare equal; `body` takes bytes or str;
`json` compares the decoded JSON body; `headers` must be a subset of the message's headers; `where` is
any predicate on the record. `count=None` means "at least one"; a number means exactly that many.
"""

from __future__ import annotations

import json as _json
from typing import Any, Callable, Sequence

from ._recorder import Delivery, Recorder, SentMessage

__all__ = ["matches", "assert_published", "assert_not_published", "assert_consumed", "assert_not_consumed",
           "describe_filters"]

_MISSING: Any = object()


def _body_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def matches(record: SentMessage | Delivery, *, exchange: str | None = None, routing_key: str | None = None,
            queue: str | None = None, body: bytes | str | None = None, json: Any = _MISSING,
            headers: dict | None = None, where: Callable[[Any], bool] | None = None) -> bool:
    """Whether a published or delivered message passes every given filter."""
    if exchange is not None and record.exchange != exchange:
        return False
    if routing_key is not None and record.routing_key != routing_key:
        return False
    if queue is not None and getattr(record, "queue", _MISSING) != queue:
        return False
    if body is not None and record.body != _body_bytes(body):
        return False
    if json is not _MISSING:
        try:
            if _json.loads(record.body) != json:
                return False
        except ValueError:
            return False
    if headers is not None and any(record.headers.get(k, _MISSING) != v for k, v in headers.items()):
        return False
    return where is None or bool(where(record))


def describe_filters(filters: dict[str, Any]) -> str:
    """`queue='orders' body=b'x'`: the filters that were given, for messages."""
    shown = []
    for key, value in filters.items():
        if value is None or value is _MISSING:
            continue
        if key == "where":
            value = getattr(value, "__name__", "<predicate>")
            shown.append(f"where={value}")
            continue
        if key == "body":
            value = _body_bytes(value)
        shown.append(f"{key}={value!r}")
    return " ".join(shown) or "(any)"


def _line(record: SentMessage | Delivery) -> str:
    body = record.body if len(record.body) <= 80 else record.body[:77] + b"..."
    if isinstance(record, SentMessage):
        return f"  +{record.time:.3f}s {record.connection} exchange={record.exchange!r} " \
               f"routing_key={record.routing_key!r} body={body!r}"
    state = record.outcome or ("auto-ack" if record.auto_ack else "not settled")
    if record.outcome in ("nack", "reject") and record.requeue:
        state += " requeue"
    via = f"consumer {record.consumer_tag}" if record.consumer_tag else "basic.get"
    return f"  +{record.time:.3f}s queue={record.queue!r} routing_key={record.routing_key!r} body={body!r} " \
           f"({via}, {state}{', redelivered' if record.redelivered else ''})"


def _listing(title: str, records: Sequence[Any], limit: int = 20) -> str:
    if not records:
        return f"{title}: none"
    lines = [f"{title} ({len(records)}):"] + [_line(r) for r in records[-limit:]]
    if len(records) > limit:
        lines.insert(1, f"  ... {len(records) - limit} earlier not shown")
    return "\n".join(lines)


def _check_count(found: list[Any], count: int | None) -> bool:
    return bool(found) if count is None else len(found) == count


def _expected(count: int | None) -> str:
    return "at least one message" if count is None else f"exactly {count} message{'s' * (count != 1)}"


def assert_published(recorder: Recorder, *, count: int | None = None, **filters: Any) -> list[SentMessage]:
    """Assert that matching messages were published; returns them.

    Raises:
        AssertionError: with every message published during the test.
    """
    __tracebackhide__ = True
    found = [m for m in recorder.sent if matches(m, **filters)]
    if not _check_count(found, count):
        raise AssertionError(
            f"expected {_expected(count)} published with {describe_filters(filters)}, found {len(found)}\n"
            + _listing("Published during the test", recorder.sent))
    return found


def assert_not_published(recorder: Recorder, **filters: Any) -> None:
    """Assert that no matching message was published."""
    __tracebackhide__ = True
    found = [m for m in recorder.sent if matches(m, **filters)]
    if found:
        raise AssertionError(f"expected no message published with {describe_filters(filters)}, found "
                             f"{len(found)}\n" + _listing("Matching", found))


def assert_consumed(recorder: Recorder, *, count: int | None = None, waiting: Callable[[], str] | None = None,
                    **filters: Any) -> list[Delivery]:
    """Assert that matching messages were consumed (delivered and acknowledged); returns the deliveries.

    Args:
        waiting: called on failure for an account of what still waits in the broker's queues.

    Raises:
        AssertionError: saying what was consumed, what was delivered but not acknowledged, and what
            was published.
    """
    __tracebackhide__ = True
    found = [d for d in recorder.consumed if matches(d, **filters)]
    if _check_count(found, count):
        return found
    unsettled = [d for d in recorder.deliveries if not d.consumed]
    published = [m for m in recorder.sent
                 if matches(m, **{k: v for k, v in filters.items() if k not in ("queue", "where")})]
    parts = [f"expected {_expected(count)} consumed with {describe_filters(filters)}, found {len(found)}",
             _listing("Consumed", recorder.consumed),
             _listing("Delivered but not acknowledged", unsettled),
             _listing("Published with the same exchange/routing key/body", published)]
    if waiting is not None:
        parts.append(waiting())
    raise AssertionError("\n".join(parts))


def assert_not_consumed(recorder: Recorder, **filters: Any) -> None:
    """Assert that no matching message was consumed."""
    __tracebackhide__ = True
    found = [d for d in recorder.consumed if matches(d, **filters)]
    if found:
        raise AssertionError(f"expected no message consumed with {describe_filters(filters)}, found "
                             f"{len(found)}\n" + _listing("Matching", found))
