"""Fixtures for the pika adapter tests: a fresh broker with pika patched onto it."""

from __future__ import annotations

from typing import Iterator

import pika
import pytest

import memq
import memq.pika


@pytest.fixture
def broker() -> Iterator[memq.Broker]:
    """A fresh broker that every pika connection to localhost:5672 reaches, on virtual time."""
    with memq.pika.patched(memq.Broker(seed=0)) as broker:
        yield broker


@pytest.fixture
def connection(broker: memq.Broker) -> Iterator[pika.BlockingConnection]:
    """An open BlockingConnection to the broker, closed at teardown."""
    connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    yield connection
    if connection.is_open:
        connection.close()


@pytest.fixture
def channel(connection: pika.BlockingConnection):
    """A channel on `connection`."""
    return connection.channel()
