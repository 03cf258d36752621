"""The task ledger: one record per task id published to the simulated broker, updated by Celery's signals."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator

import attrs
from kombu.serialization import loads

__all__ = ["TaskRecord", "TaskLedger"]


@attrs.define
class TaskRecord:
    """What happened to one task: times are virtual epoch seconds (None until it happens)."""

    id: str
    name: str
    state: str = "PENDING"
    published: float | None = None
    received: float | None = None
    started: float | None = None
    succeeded: float | None = None
    failed: float | None = None
    retried: float | None = None
    revoked: float | None = None
    worker: str | None = None
    retries: int = 0
    result: Any = None
    exception: BaseException | None = None
    eta: str | None = None
    expires: str | None = None
    queue: str | None = None
    _body: bytes = attrs.field(default=b"", repr=False)
    _content_type: str | None = attrs.field(default=None, repr=False)
    _content_encoding: str | None = attrs.field(default=None, repr=False)
    _decoded: Any = attrs.field(default=None, repr=False)

    def _payload(self) -> Any:
        if self._decoded is None:
            try:
                self._decoded = loads(self._body, self._content_type, self._content_encoding,
                                      accept=None)
            except Exception:  # noqa: BLE001 - a body we cannot read shows as empty
                self._decoded = ((), {}, {})
        return self._decoded

    @property
    def args(self) -> tuple:
        """The positional arguments, as the worker decoded them."""
        return tuple(self._payload()[0])

    @property
    def kwargs(self) -> dict:
        """The keyword arguments, as the worker decoded them."""
        return dict(self._payload()[1])

    @property
    def runtime(self) -> float | None:
        """Virtual seconds between start and finish (0.0 unless a task moves the clock)."""
        end = self.succeeded if self.succeeded is not None else self.failed
        if self.started is None or end is None:
            return None
        return end - self.started


def _stamp(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class TaskLedger:
    """The records, in publish order; index by position or look up by task id with `get()`."""

    def __init__(self) -> None:
        self._records: dict[str, TaskRecord] = {}

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[TaskRecord]:
        return iter(list(self._records.values()))

    def __getitem__(self, index: int) -> TaskRecord:
        return list(self._records.values())[index]

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._records

    def get(self, task_id: str) -> TaskRecord | None:
        """The record of `task_id`, or None."""
        return self._records.get(task_id)

    def named(self, name: str) -> list[TaskRecord]:
        """The records of one task name, in publish order."""
        return [r for r in self._records.values() if r.name == name]

    def in_state(self, state: str) -> list[TaskRecord]:
        """The records currently in `state` (e.g. "SUCCESS")."""
        return [r for r in self._records.values() if r.state == state]

    def published(self, task_id: str, name: str, now: float, headers: dict, body: bytes,
                  content_type: str | None, content_encoding: str | None, queue: str) -> None:
        """Record a publish; a retry republishes the same id."""
        record = self._records.get(task_id)
        if record is None:
            record = self._records[task_id] = TaskRecord(id=task_id, name=name, published=now)
        record.retries = int(headers.get("retries") or 0)
        record.eta = headers.get("eta")
        record.expires = headers.get("expires")
        record.queue = queue
        record._body, record._decoded = body, None
        record._content_type, record._content_encoding = content_type, content_encoding

    def update(self, task_id: str, **fields: Any) -> None:
        """Change fields of a known record (unknown ids are ignored)."""
        record = self._records.get(task_id)
        if record is not None:
            for key, value in fields.items():
                setattr(record, key, value)

    def table(self) -> str:
        """A printable table, one line per task."""
        header = ("name", "id", "state", "worker", "retries", "received", "started", "finished", "result")
        rows = [header]
        for r in self._records.values():
            finished = r.succeeded if r.succeeded is not None else r.failed
            outcome = repr(r.exception) if r.exception is not None else repr(r.result)
            rows.append((r.name, r.id[:8], r.state, r.worker or "-", str(r.retries), _stamp(r.received),
                         _stamp(r.started), _stamp(finished), outcome[:40]))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"<TaskLedger {len(self)} tasks>"
