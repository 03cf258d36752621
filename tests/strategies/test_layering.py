"""Layering: `import memq` and `import memq.testing` load no Hypothesis; `memq.strategies` does."""

from __future__ import annotations

import subprocess
import sys


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


def test_core_and_testing_do_not_import_hypothesis():
    """The core and memq.testing import no test framework (nor pytest)."""
    loaded = _loaded_after("import memq, memq.testing")
    assert not {"hypothesis", "pytest"} & loaded


def test_strategies_import_hypothesis():
    """memq.strategies is the Hypothesis integration: importing it imports Hypothesis."""
    assert "hypothesis" in _loaded_after("import memq.strategies")
