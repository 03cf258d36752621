"""The docs: every Python example in docs/ runs, and the site builds with `mkdocs build --strict`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)
TEST_FILE = re.compile(r"^# file: (test_\w+\.py)\n")


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if FENCE.search(p.read_text(encoding="utf-8")))


def _blocks(page: Path) -> list[str]:
    return FENCE.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_docs_examples_run(page: Path, tmp_path: Path) -> None:
    """Each page's Python blocks run in order in one namespace; `# file: test_*.py` blocks run under pytest."""
    module = "docs_" + "_".join(page.relative_to(DOCS).with_suffix("").parts).replace("-", "_")
    namespace: dict = {"__name__": module}
    test_files = {}
    for index, block in enumerate(_blocks(page)):
        named = TEST_FILE.match(block)
        if named:
            test_files[named.group(1)] = block
            continue
        code = compile(block, f"{page.relative_to(ROOT)}[block {index}]", "exec")
        exec(code, namespace)  # noqa: S102 - the docs' own examples
    if test_files:
        for name, source in test_files.items():
            (tmp_path / name).write_text(source, encoding="utf-8")
        # A subprocess, so that the examples' imports never leave or replace modules in this process.
        result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *test_files],
                                cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert re.search(r"\b\d+ passed", result.stdout), result.stdout


def test_docs_site_builds_strictly(tmp_path: Path) -> None:
    """`mkdocs build --strict` succeeds: no broken links, every page in the nav exists."""
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    assert mkdocs is not None, "mkdocs is a test dependency (pip install -e .[dev])"
    result = subprocess.run([mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
