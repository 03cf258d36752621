"""A `memq serve` subprocess for the socket tests, on free ports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from types import SimpleNamespace
from typing import Iterator

import pytest

from memq._server import control


@pytest.fixture(scope="module")
def served() -> Iterator[SimpleNamespace]:
    """A running `memq serve` (one per test module), with its URL and a `control(command)` helper."""
    process = subprocess.Popen(
        [sys.executable, "-m", "memq", "serve", "--port", "0", "--control-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    line = process.stdout.readline()  # type: ignore[union-attr]
    match = re.match(r"memq serving (amqp://\S+) control ([\d.]+):(\d+)", line)
    assert match, f"unexpected first line from memq serve: {line!r} {process.stderr.read() if process.poll() is not None else ''}"  # type: ignore[union-attr]
    url, host, port = match.group(1), match.group(2), int(match.group(3))
    amqp_port = int(url.rsplit(":", 1)[1].split("/")[0])
    try:
        yield SimpleNamespace(url=url, host=host, port=amqp_port,
                              control=lambda command: control(host, port, command), process=process)
    finally:
        process.terminate()
        process.wait(timeout=10)
