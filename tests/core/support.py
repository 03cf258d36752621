"""Helpers for the core tests: a recording consumer callback, drain and publish shortcuts."""

from __future__ import annotations

from typing import Any

import memq


class Inbox:
    """A consumer callback that records every delivery it is given, in order."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[Any, memq.Deliver, memq.Properties, bytes]] = []

    def __call__(self, channel: Any, deliver: memq.Deliver, properties: memq.Properties, body: bytes) -> None:
        self.deliveries.append((channel, deliver, properties, body))

    @property
    def bodies(self) -> list[bytes]:
        return [body for *_, body in self.deliveries]

    @property
    def tags(self) -> list[int]:
        return [deliver.delivery_tag for _, deliver, _, _ in self.deliveries]

    @property
    def delivers(self) -> list[memq.Deliver]:
        return [deliver for _, deliver, _, _ in self.deliveries]

    def __len__(self) -> int:
        return len(self.deliveries)


def drain(channel: memq.Channel, queue: str) -> list[bytes]:
    """Every ready message of `queue`, taken with auto-ack, as bodies."""
    bodies = []
    while (got := channel.basic_get(queue, auto_ack=True)) is not None:
        bodies.append(got.body)
    return bodies


def publish(channel: memq.Channel, exchange: str, routing_key: str, *bodies: str, **kwargs: Any) -> None:
    """Publish each body (a str) with the same exchange and routing key."""
    for body in bodies:
        channel.basic_publish(exchange, routing_key, body.encode(), **kwargs)
