"""Tests of the pytest plugin, run through `pytester` on small test files and on a sample project."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

# Imported once here, so that the in-process runs below find them in sys.modules instead of importing
# (and assertion-rewriting) them again on every run.
import celery  # noqa: F401
import hypothesis  # noqa: F401
import memq  # noqa: F401
import memq._report  # noqa: F401
import memq.celery  # noqa: F401
import memq.pika  # noqa: F401
import pytest_memq._celery  # noqa: F401
import pytest_memq._pika  # noqa: F401
import pytest_memq._reporting  # noqa: F401

collect_ignore = ["sample"]

SAMPLE = Path(__file__).parent / "sample"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def pytest_configure(config: pytest.Config) -> None:
    # `pytest_plugins` is only honoured in the root conftest; register pytester for these tests here.
    if not config.pluginmanager.hasplugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@pytest.fixture
def sample(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester folder holding the sample project: a shop's pika and Celery code and its tests."""
    for path in sorted(SAMPLE.glob("*.py")):
        (pytester.path / path.name).write_text(path.read_text())
    pytester.syspathinsert()
    return pytester


def rabbitmq_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
    except OSError:
        return False
    return True


needs_rabbitmq = pytest.mark.skipif(not rabbitmq_reachable(), reason="no RabbitMQ on 127.0.0.1:5672")
