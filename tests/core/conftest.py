"""Fixtures for the core tests: a fresh broker per test, a connection and a channel on it."""

from __future__ import annotations

from typing import Iterator

import pytest

import memq

from .support import Inbox


@pytest.fixture
def broker() -> Iterator[memq.Broker]:
    """A fresh broker with seed 0 and its virtual clock at epoch 0; its invariants are checked at teardown."""
    made = memq.Broker(seed=0, start=0)
    yield made
    made.check_invariants()


@pytest.fixture
def conn(broker: memq.Broker) -> memq.Connection:
    """A connection to vhost "/"."""
    return broker.connect()


@pytest.fixture
def ch(conn: memq.Connection) -> memq.Channel:
    """A channel on `conn`."""
    return conn.channel()


@pytest.fixture
def inbox() -> Inbox:
    """A fresh recording consumer callback."""
    return Inbox()
