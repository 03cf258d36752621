"""`memq://` result backend: a key/value store on virtual time whose waits drive the simulation.

Mirrors a key/value backend such as Redis: results are stored serialized, expire after
`result_expires` virtual seconds, and chords count their parts with `incr` (so no `chord_unlock`
polling). `AsyncResult.get()` and `GroupResult.get()` call `wait_for`/`get_many`, which run the
simulation (workers, timers, beat) until the results are ready, timing out on virtual time with
`celery.exceptions.TimeoutError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator

from celery import states
from celery.backends.base import KeyValueStoreBackend
from celery.exceptions import TimeoutError as CeleryTimeoutError
from kombu.utils.encoding import bytes_to_str

from .. import errors

if TYPE_CHECKING:
    from ._driver import Driver

__all__ = ["MemqBackend", "Store"]


class Store:
    """The key/value data of one simulation: values with optional virtual expiry times."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.data: dict[str, Any] = {}
        self.expiry: dict[str, float] = {}

    def get(self, key: str) -> Any:
        """The live value of `key`, or None."""
        deadline = self.expiry.get(key)
        if deadline is not None and deadline <= self.clock.now():
            self.delete(key)
        return self.data.get(key)

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store `value`, expiring after `ttl` virtual seconds when given."""
        self.data[key] = value
        if ttl:
            self.expiry[key] = self.clock.now() + ttl
        else:
            self.expiry.pop(key, None)

    def delete(self, key: str) -> None:
        """Forget `key`."""
        self.data.pop(key, None)
        self.expiry.pop(key, None)

    def incr(self, key: str) -> int:
        """Add one to the integer at `key` (0 when missing); returns the new value."""
        value = int(self.get(key) or 0) + 1
        self.data[key] = value
        return value

    def expire(self, key: str, seconds: float | None) -> None:
        """Let `key` expire `seconds` from now."""
        if key in self.data and seconds:
            self.expiry[key] = self.clock.now() + seconds


def _driver_for(app: Any) -> "Driver":
    from ._driver import driver_for_app

    return driver_for_app(app)


class MemqBackend(KeyValueStoreBackend):
    """Result backend for `result_backend = "memq://"`; needs an app attached with `memq.celery.attach`."""

    implements_incr = True
    supports_native_join = True
    supports_autoexpire = True
    persistent = False
    thread_safe = True

    def __init__(self, app: Any = None, url: str | None = None, driver: "Driver | None" = None,
                 **kwargs: Any) -> None:
        super().__init__(app=app, url=url, **kwargs)
        self.driver = driver if driver is not None else _driver_for(self.app)
        self.store = self.driver.store
        self.url = url or "memq://"

    def as_uri(self, include_password: bool = False) -> str:
        """The backend URL."""
        return "memq://"

    def get(self, key: Any) -> Any:
        """The stored value of `key`."""
        return self.store.get(bytes_to_str(key))

    def mget(self, keys: list[Any]) -> list[Any]:
        """The stored values of `keys`, in order."""
        get = self.store.get
        return [get(bytes_to_str(k)) for k in keys]

    def set(self, key: Any, value: Any) -> None:
        """Store a value; it expires after `result_expires` virtual seconds."""
        self.store.set(bytes_to_str(key), value, self.expires)

    def delete(self, key: Any) -> None:
        """Forget a key."""
        self.store.delete(bytes_to_str(key))

    def incr(self, key: Any) -> int:
        """Count a chord part."""
        return self.store.incr(bytes_to_str(key))

    def expire(self, key: Any, value: Any) -> None:
        """Let a key expire `value` seconds from now."""
        self.store.expire(bytes_to_str(key), value)

    def _wait(self, ready: Callable[[], bool], timeout: float | None, what: str) -> None:
        try:
            done = self.driver.run_until(ready, timeout, describe=lambda: what)
        except errors.Stalled as exc:
            raise errors.Stalled(f"{exc} {self.driver.describe_pending()}") from None
        if not done:
            raise CeleryTimeoutError("The operation timed out.")

    def wait_for(self, task_id: str, timeout: float | None = None, interval: float = 0.5,
                 no_ack: bool = True, on_interval: Callable[[], Any] | None = None) -> Any:
        """Run the simulation until `task_id` is ready; times out on virtual time."""
        self._ensure_not_eager()
        found: list[Any] = []

        def ready() -> bool:
            meta = self.get_task_meta(task_id)
            if meta["status"] in states.READY_STATES:
                found.append(meta)
                return True
            if on_interval is not None:
                on_interval()
            return False

        if not ready():
            self._wait(ready, timeout, f"Waiting for task {task_id}.")
        return found[-1]

    def get_many(self, task_ids: Any, timeout: float | None = None, interval: float = 0.5,
                 no_ack: bool = True, on_message: Callable[[Any], Any] | None = None,
                 on_interval: Callable[[], Any] | None = None, max_iterations: int | None = None,
                 READY_STATES: frozenset = states.READY_STATES) -> Iterator[tuple[str, Any]]:
        """Yield `(task_id, meta)` as results become ready, running the simulation in between."""
        ids = list(dict.fromkeys(bytes_to_str(t) for t in task_ids))
        deadline = None if timeout is None else self.driver.clock.now() + timeout
        while ids:
            values = self.mget([self.get_key_for_task(k) for k in ids])
            ready = self._mget_to_results(values, ids, READY_STATES)
            self._cache.update(ready)
            for task_id in [t for t in ids if t in ready]:
                ids.remove(task_id)
                if on_message is not None:
                    on_message(ready[task_id])
                yield task_id, ready[task_id]
            if not ids:
                return
            if on_interval is not None:
                on_interval()
            left = None if deadline is None else max(deadline - self.driver.clock.now(), 0)
            pending = list(ids)
            keys = [self.get_key_for_task(k) for k in pending]

            def any_ready() -> bool:
                return any(v is not None and self.decode_result(v)["status"] in READY_STATES
                           for v in self.mget(keys))

            self._wait(any_ready, left, f"Waiting for tasks {', '.join(pending)}.")
