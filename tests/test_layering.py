"""Layering: the core imports only the standard library, attrs and sortedcontainers, and never reads the
wall clock, sleeps or starts threads."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

MEMQ = Path(__file__).resolve().parent.parent / "memq"

# Modules at the edges: each exists to talk to a library or to the real world, and says so.
EDGE_MODULES = {
    "pika": "the pika facade (imports pika)",
    "kombu": "the kombu transport (imports kombu)",
    "strategies": "Hypothesis strategies (imports hypothesis)",
    "_amqp_methods": "the AMQP server session's method table (pika's codec)",
    "_amqp_session": "the AMQP server session (pika's codec)",
    "_server": "`memq serve`: sockets and an asyncio loop in real time",
    "_tour": "the tour: runs pika and Celery example code, times itself",
    "__main__": "the command line",
}
FORBIDDEN = ("pika", "kombu", "celery", "pytest", "hypothesis", "_pytest")

CORE_MODULES = sorted(
    path.stem for path in MEMQ.glob("*.py") if path.stem not in EDGE_MODULES
)

# What the core must not do, and the one place each is allowed.
WALL_CLOCK = [
    r"\btime\.time\(", r"\bdatetime\.now\(", r"\butcnow\(", r"\bdatetime\.today\(", r"\bdate\.today\(",
    r"\bthreading\b", r"\btime\.sleep\(", r"\bmonotonic\(", r"\bperf_counter\(", r"\buuid4\(",
    r"\burandom\(", r"\brandom\.(random|randint|choice|shuffle|getrandbits)\(",
]
ALLOWED = {("_broker", r"\btime\.time\("): 1}  # Broker(start=None): the virtual origin, read once


_PROBE = """
import importlib, json, sys
forbidden = set(json.loads(sys.argv[1]))
blamed = {}
for statement in json.loads(sys.argv[2]):
    before = {m.split(".")[0] for m in sys.modules}
    importlib.import_module(statement)
    after = {m.split(".")[0] for m in sys.modules}
    blamed[statement] = sorted((after - before) & forbidden)
print(json.dumps(blamed))
"""


def _forbidden_loaded_by(modules: list[str]) -> dict[str, list[str]]:
    """Import `modules` one after another in a fresh interpreter; the forbidden packages each one pulled in."""
    result = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(FORBIDDEN), json.dumps(modules)],
                            capture_output=True, text=True, check=True, cwd=MEMQ.parent)
    return json.loads(result.stdout.splitlines()[-1])


def test_edge_modules_exist():
    """Every module named as an edge exists, so the list does not rot."""
    assert sorted(name for name in EDGE_MODULES if not (MEMQ / f"{name}.py").exists()) == []


def test_import_memq_loads_no_integration_or_test_library():
    """`import memq` in a fresh interpreter imports none of pika, kombu, celery, pytest, hypothesis."""
    assert _forbidden_loaded_by(["memq"]) == {"memq": []}


def test_core_modules_load_no_integration_or_test_library():
    """Importing every core module (in one fresh interpreter) imports none of pika, kombu, celery, pytest, hypothesis."""
    modules = ["memq"] + [f"memq.{name}" for name in CORE_MODULES if name != "__init__"]
    blamed = _forbidden_loaded_by(modules)
    assert {module: found for module, found in blamed.items() if found} == {}


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_reads_no_wall_clock(module):
    """No core module reads the wall clock, sleeps, starts threads or draws unseeded randomness."""
    source = (MEMQ / f"{module}.py").read_text(encoding="utf-8")
    found = {}
    for pattern in WALL_CLOCK:
        count = len(re.findall(pattern, source))
        if count != ALLOWED.get((module, pattern), 0):
            found[pattern] = count
    assert found == {}


def test_broker_reads_wall_clock_only_for_default_start():
    """The one wall-clock read is Broker(start=None): a given start never consults it."""
    import memq

    assert memq.Broker(start=0).clock.now() == 0.0
    source = (MEMQ / "_broker.py").read_text(encoding="utf-8")
    line = next(line for line in source.splitlines() if "time.time(" in line)
    assert "read once" in line
