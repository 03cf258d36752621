"""The benchmarks' smoke run completes and produces rows (timings are never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_smoke_run_completes_with_rows(tmp_path: Path) -> None:
    """`python -m benchmarks --smoke` runs every scenario, prints its tables and writes its report."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    for title in ("1. Throughput", "2. basic_get + ack", "3. Topic routing", "4. Per-test overhead",
                  "7. Memory", "8. Scaling", "Summary"):
        assert title in result.stdout
    assert "memq (native API)" in result.stdout
    rows = int(result.stdout.rsplit(" rows in ", 1)[0].rsplit("\n", 1)[-1])
    assert rows > 0
    report = (tmp_path / "performance.md").read_text()
    assert "BEGIN GENERATED" in report and "| memq (native API) |" in report


def test_serve_startup_script_prints_its_figure() -> None:
    """`python -m benchmarks.serve_startup --runs 1` starts `memq serve` once and prints the median."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.serve_startup", "--runs", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "memq serve: median " in result.stdout
    assert "rabbitmq-server: not measured" in result.stdout
